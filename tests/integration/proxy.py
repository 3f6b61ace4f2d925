"""A small TCP proxy for the tests: counts bytes, can rate-limit.

    p = Proxy(target_port).start()       # listens on 127.0.0.1:p.port
    ... point imapfs at 127.0.0.1:p.port (TLS passes through untouched:
        the server certificate has IP:127.0.0.1 in its SAN) ...
    p.down          bytes server -> client, all connections so far
    p.up            bytes client -> server
    p.reset()       zero the counters
    p.rate = 1e6    limit server -> client to ~1 MB/s per connection
                    (None: unlimited); may be changed while running
    p.stop()

The proxy never looks into the bytes; with imaps it only sees TLS records,
so the counts include TLS overhead (a few percent).
"""

import socket
import threading
import time


class Proxy:
    def __init__(self, target_port, target_host="127.0.0.1", rate=None):
        self.target = (target_host, target_port)
        self.rate = rate
        self.down = 0
        self.up = 0
        self.connections = 0
        self._lock = threading.Lock()
        self._sock = None
        self._stopping = False
        self._conns = []
        self.port = None

    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        self._sock = s
        self.port = s.getsockname()[1]
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def reset(self):
        with self._lock:
            self.down = 0
            self.up = 0

    def counts(self):
        with self._lock:
            return self.down, self.up

    def settle(self, quiet=0.5, timeout=15):
        """Wait until no bytes flow for QUIET seconds (the client's
        background work is done), at most TIMEOUT seconds."""
        deadline = time.monotonic() + timeout
        last, since = self.counts(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.counts()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return

    def _accept_loop(self):
        while not self._stopping:
            try:
                c, _ = self._sock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(self.target, timeout=10)
                u.settimeout(None)
            except OSError:
                c.close()
                continue
            with self._lock:
                self.connections += 1
                self._conns.append((c, u))
            threading.Thread(target=self._pump, args=(u, c, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(c, u, False),
                             daemon=True).start()

    def _pump(self, src, dst, downstream):
        start = time.monotonic()
        sent = 0
        try:
            while True:
                # Small reads when rate-limited so the pacing is smooth.
                rate = self.rate if downstream else None
                data = src.recv(4096 if rate else 65536)
                if not data:
                    break
                if rate:
                    sent += len(data)
                    due = start + sent / float(rate)
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    else:
                        # Do not bank credit from idle periods.
                        start = time.monotonic() - sent / float(rate)
                dst.sendall(data)
                with self._lock:
                    if downstream:
                        self.down += len(data)
                    else:
                        self.up += len(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def drop_all(self):
        """Close every proxied connection (both sides)."""
        with self._lock:
            conns = list(self._conns)
            self._conns = []
        for c, u in conns:
            for s in (c, u):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def stop(self):
        self._stopping = True
        if self._sock:
            try:
                self._sock.close()
            except OSError:
                pass
        self.drop_all()

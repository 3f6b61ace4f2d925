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

import threading
import time

from listener import shut
from tcpproxy import TcpProxy


class Proxy(TcpProxy):
    def __init__(self, target_port, target_host="127.0.0.1", rate=None):
        super().__init__(target_port, target_host)
        self.rate = rate
        self.down = 0
        self.up = 0

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

    def _serve(self, c, u):
        self._register((c, u))
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
            shut(src)
            shut(dst)

"""A TCP fault proxy for the tests: forwards bytes untouched (TLS passes
through: the server certificate has IP:127.0.0.1 in its SAN), and can

    p = FaultProxy(server.imaps_port).start()   # listens on 127.0.0.1:p.port
    p.stall()       stop forwarding in both directions; sockets stay open,
                    new connections are accepted but get no byte (not even
                    the greeting): a server that hangs
    p.resume()      forward again (bytes held meanwhile are delivered)
    p.drop_all()    close every proxied connection, both sides, now
    p.refuse = True accept and immediately close new connections (a server
                    that is gone); False to serve again
    p.trickle(bps)  forward server -> client bytes at BPS bytes a second on
                    every connection (a server that trickles: no single
                    wait ever runs out); resume() forwards at full speed
    p.reset_all(then_handshakes=1)
                    reset (RST) every proxied connection now, and then the
                    next THEN_HANDSHAKES new connections once the server
                    has sent its first bytes (the TLS ServerHello): half of
                    them are passed on, then both sides are reset, so the
                    reconnect's TLS handshake is cut too
    p.cut_next_handshakes(n)
                    only the second half of reset_all: reset the next N new
                    connections after the server's first bytes
    p.resets        connections reset so far (both kinds)
    p.connections   connections accepted so far
    p.down, p.up    bytes forwarded server -> client, client -> server
    p.stop()

The proxy never looks into the bytes.
"""

import socket
import struct
import threading
import time

from listener import shut
from tcpproxy import TcpProxy


class FaultProxy(TcpProxy):
    def __init__(self, target_port, target_host="127.0.0.1"):
        super().__init__(target_port, target_host)
        self.refuse = False
        self.down = 0
        self.up = 0
        self._running = threading.Event()   # set: forwarding
        self._running.set()
        self._trickle = 0           # bytes a second downstream; 0: off
        self._reset_next = 0        # new connections to reset after hello
        self.resets = 0

    # ---- control ----
    def stall(self):
        self._running.clear()

    def resume(self):
        self._trickle = 0
        self._running.set()

    def trickle(self, bps=1):
        self._trickle = bps

    @staticmethod
    def _rst(s):
        # linger 0: close sends RST; SHUT_RD first wakes the other pump
        # blocked in recv() on it, which would keep the socket alive
        for f in (lambda: s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0)),
                  lambda: s.shutdown(socket.SHUT_RD), s.close):
            try:
                f()
            except OSError:
                pass

    def cut_next_handshakes(self, n=1):
        with self._lock:
            self._reset_next = n

    def reset_all(self, then_handshakes=1):
        with self._lock:
            conns = list(self._conns)
            self._conns = []
            self._reset_next = then_handshakes
            self.resets += len(conns)
        for c, u in conns:
            self._rst(c)
            self._rst(u)
        return len(conns)

    @property
    def stalled(self):
        return not self._running.is_set()

    def counts(self):
        with self._lock:
            return self.down, self.up

    def open_connections(self):
        with self._lock:
            return len(self._conns)

    def stop(self):
        self._stopping = True       # before resuming: held pumps end
        self._running.set()
        super().stop()

    # ---- internals ----
    def _accepted(self, c):
        if self.refuse:
            try:
                c.close()
            except OSError:
                pass
            return
        threading.Thread(target=self._connect, args=(c,),
                         daemon=True).start()

    def _connect(self, c):
        # a stalled server: the client's connect() succeeds (the kernel
        # accepted), but nothing comes back until resume()
        while not self._running.wait(0.2):
            if self._stopping:
                c.close()
                return
        u = self._dial(c)
        if u is None:
            return
        with self._lock:
            self.connections += 1
            self._conns.append((c, u))
            cut_hello = self._reset_next > 0
            if cut_hello:
                self._reset_next -= 1
        threading.Thread(target=self._pump, args=(u, c, True, cut_hello),
                         daemon=True).start()
        threading.Thread(target=self._pump, args=(c, u, False),
                         daemon=True).start()

    def _hold(self):
        while not self._running.wait(0.2):
            if self._stopping:
                return False
        return True

    def _send_slowly(self, dst, data):
        """Send DATA at the trickle rate while trickling is on."""
        while data and self._trickle and not self._stopping:
            dst.sendall(data[:1])
            data = data[1:]
            with self._lock:
                self.down += 1
            time.sleep(1.0 / max(self._trickle, 1))
        return data

    def _pump(self, src, dst, downstream, cut_hello=False):
        try:
            while True:
                if not self._hold():
                    break
                data = src.recv(65536)
                if not data:
                    break
                # bytes read just before a stall are held, not forwarded
                if not self._hold():
                    break
                if cut_hello:
                    # the server has started its TLS handshake: pass on
                    # half of its first bytes, then cut it
                    dst.sendall(data[:max(1, len(data) // 2)])
                    with self._lock:
                        self.resets += 1
                        self._conns = [p for p in self._conns
                                       if src not in p and dst not in p]
                    time.sleep(0.05)
                    self._rst(dst)
                    self._rst(src)
                    return
                if downstream and self._trickle:
                    data = self._send_slowly(dst, data)
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
            with self._lock:
                self._conns = [p for p in self._conns
                               if src not in p and dst not in p]

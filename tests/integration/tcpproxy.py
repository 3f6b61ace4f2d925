"""What the tests' three TCP proxies share: listen on 127.0.0.1
(listener.py), connect each client to the target, keep the open
connections, close them, stop.

    class MyProxy(TcpProxy):
        def _serve(self, c, u):      # client socket, upstream socket
            self._register((c, u))   # counted, closed by drop_all/stop
            ... start the pumps ...

proxy.py (counts and paces bytes), faultproxy.py (stalls, refuses, resets)
and cutproxy.py (breaks one APPEND) extend it. A subclass says what a new
client connection gets (_accepted: by default the upstream connection is
opened at once and handed to _serve) and how a kept connection is closed
(_close_conn: by default both sockets of a (client, upstream) pair).
"""

import socket

from listener import Listener, close_all


class TcpProxy(Listener):
    def __init__(self, target_port, target_host="127.0.0.1"):
        super().__init__(backlog=64)
        self.target = (target_host, target_port)
        self.connections = 0        # accepted and connected so far

    def drop_all(self):
        """Close every proxied connection (both sides) now; -> how many."""
        with self._lock:
            conns = list(self._conns)
            self._conns = []
        for conn in conns:
            self._close_conn(conn)
        return len(conns)

    def stop(self):
        self._stop_listening()
        self.drop_all()

    # ---- for subclasses ----
    def _accepted(self, c):
        """A new client connection C (called on the accept thread)."""
        u = self._dial(c)
        if u is not None:
            self._serve(c, u)

    def _serve(self, c, u):
        raise NotImplementedError

    def _dial(self, c):
        """-> a blocking connection to the target, or None (C closed)."""
        try:
            u = socket.create_connection(self.target, timeout=10)
            u.settimeout(None)
        except OSError:
            c.close()
            return None
        return u

    def _register(self, conn):
        with self._lock:
            self.connections += 1
            self._conns.append(conn)

    def _close_conn(self, conn):
        close_all(conn)

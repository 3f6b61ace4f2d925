"""The listen side every test server and proxy here shares: a TCP socket
on 127.0.0.1 (a free port, in .port), a thread accepting on it, and a
stop that closes it.

    class MyServer(Listener):
        def _accepted(self, c):      # on the accept thread, per client
            ...

fakeserver.py (and through it lieserver.py and gmailserver.py) and
tcpproxy.py (proxy.py, faultproxy.py, cutproxy.py) extend it. _lock guards
_conns, the open connections a subclass keeps (what they are is the
subclass's business; closing them is too).
"""

import socket
import threading


class Listener:
    def __init__(self, backlog=64):
        self.port = None
        self._backlog = backlog
        self._lock = threading.Lock()
        self._sock = None
        self._stopping = False
        self._conns = []

    def start(self, port=0):
        """PORT: a given one (a server back where a stopped one was)."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(self._backlog)
        self._sock = s
        self.port = s.getsockname()[1]
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def _stop_listening(self):
        """No new connection from now on (the accept thread ends)."""
        self._stopping = True
        if self._sock:
            # (close alone leaves a blocked accept() holding the socket:
            # the next connection would still be taken)
            shut(self._sock)
            try:
                self._sock.close()
            except OSError:
                pass

    def _accepted(self, c):
        raise NotImplementedError

    def _accept_loop(self):
        while not self._stopping:
            try:
                c, _ = self._sock.accept()
            except OSError:
                return
            self._accepted(c)


def shut(s):
    """shutdown(SHUT_RDWR), whatever state S is in: wakes a thread blocked
    in recv() on it."""
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def close_all(socks):
    """Shut down and close every socket in SOCKS."""
    for s in socks:
        shut(s)
        try:
            s.close()
        except OSError:
            pass

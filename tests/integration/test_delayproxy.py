"""The delay proxy itself (delayproxy.py): it counts flights as a client
makes them and delays each direction, so that the round-trip tests and the
benchmark's delayed link measure what they say."""

import socket
import threading
import time

from delayproxy import DelayProxy
from listener import Listener


class Echo(Listener):
    """Answers every chunk with "ok\\n", once per line received."""
    def _accepted(self, c):
        def serve():
            buf = b""
            while True:
                data = c.recv(4096)
                if not data:
                    break
                buf += data
                while b"\n" in buf:
                    _, buf = buf.split(b"\n", 1)
                    c.sendall(b"ok\n")
            c.close()
        threading.Thread(target=serve, daemon=True).start()


def _answers(s, n):
    got = b""
    while got.count(b"ok\n") < n:
        got += s.recv(4096)


def test_flights_and_delay():
    e = Echo().start()
    p = DelayProxy(e.port, delay=0.05).start()
    try:
        s = socket.create_connection(("127.0.0.1", p.port))
        snap = p.mark()
        t0 = time.monotonic()
        s.sendall(b"a\n")
        _answers(s, 1)
        rtt = time.monotonic() - t0
        s.sendall(b"b\n")
        _answers(s, 1)
        assert p.settle(quiet=0.1, timeout=5)
        assert p.total_flights(snap) == 2
        assert rtt >= 0.1, "a round trip took %.3f s through 2 x 50 ms" % rtt
        snap = p.mark()
        s.sendall(b"c\nd\n")    # two commands in one flight
        _answers(s, 2)
        assert p.settle(quiet=0.1, timeout=5)
        assert p.total_flights(snap) == 1
        p.delay = 0
        snap = p.mark()
        for _ in range(3):
            s.sendall(b"e\n")
            _answers(s, 1)
        assert p.settle(quiet=0.1, timeout=5)
        assert p.flights(snap) == {1: 3}
        s.close()
    finally:
        p.stop()
        e._stop_listening()

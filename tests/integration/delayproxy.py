"""A TCP proxy that behaves like a long link, and counts round trips.

    p = DelayProxy(target_port, delay=0.04).start()   # 127.0.0.1:p.port
    ... point imapfs at 127.0.0.1:p.port (TLS passes through untouched) ...
    snap = p.mark()
    ... one file operation ...
    p.settle()                  # the client's background work is done
    p.flights(snap)             # {connection number: flights} since SNAP
    p.stop()

Each direction of each connection is delayed by DELAY seconds (so a round
trip costs 2 * DELAY, as on a link 2 * DELAY away), in order, without
changing the bytes; DELAY may be changed while running (0: no delay).

A *flight* is what a client sends before it waits for the server: a run
of client-to-server chunks with no server-to-client chunk between them.
A client that sends UID STORE, waits for its OK and then sends UID
EXPUNGE makes two flights; one that sends both at once makes one. The
proxy sees only TLS records, which is enough: the count depends only on
who spoke when. Chunks are stamped when the proxy reads them, before the
delay, so the order is the order in which each side spoke.

The count is exact for a client that waits for the answer before it
speaks again. An unprompted server byte between two chunks of one client
write (an IDLE notification, say) would split that write into two
flights; tests count in a steady state, after settle().
"""

import queue
import threading
import time

from listener import shut
from tcpproxy import TcpProxy


class DelayProxy(TcpProxy):
    def __init__(self, target_port, delay=0.04, target_host="127.0.0.1"):
        super().__init__(target_port, target_host)
        self.delay = delay
        self._events = {}       # connection number -> ["c" | "s", ...]
        self._last = time.monotonic()

    # ---- what tests and the benchmark read ----
    def mark(self):
        """A snapshot of every connection's traffic, for flights()."""
        with self._lock:
            return {k: len(v) for k, v in self._events.items()}

    def flights(self, snap=None):
        """-> {connection number: flights since SNAP} for every connection
        that carried traffic since SNAP (all along without one)."""
        snap = snap or {}
        out = {}
        with self._lock:
            for k, ev in self._events.items():
                new = ev[snap.get(k, 0):]
                if not new:
                    continue
                prev = ev[snap[k] - 1] if snap.get(k) else None
                n = 0
                for e in new:
                    if e == "c" and prev != "c":
                        n += 1
                    prev = e
                out[k] = n
        return out

    def op_flights(self, snap):
        """Flights since SNAP on the connections an operation of the client
        used: those on which the client spoke first (after settle() nobody
        speaks; a watcher in IDLE speaks only once the server told it of
        the change). Taken right after the operation returns."""
        with self._lock:
            first = {k: ev[snap.get(k, 0)] for k, ev in self._events.items()
                     if len(ev) > snap.get(k, 0)}
        f = self.flights(snap)
        return {k: f[k] for k, e in first.items() if e == "c"}

    def total_flights(self, snap=None):
        return sum(self.flights(snap).values())

    def settle(self, quiet=0.5, timeout=15):
        """Wait until nothing has moved for QUIET seconds (plus the delay
        still in flight), at most TIMEOUT seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                idle = time.monotonic() - self._last
            if idle >= quiet + 2 * self.delay:
                return True
            time.sleep(0.05)
        return False

    # ---- the pumps ----
    def _serve(self, c, u):
        self._register((c, u))
        with self._lock:
            k = self.connections
            self._events[k] = []
        for src, dst, tag in ((c, u, "c"), (u, c, "s")):
            q = queue.Queue()
            threading.Thread(target=self._read, args=(src, dst, q, k, tag),
                             daemon=True).start()
            threading.Thread(target=self._write, args=(src, dst, q),
                             daemon=True).start()

    def _read(self, src, dst, q, k, tag):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                now = time.monotonic()
                with self._lock:
                    self._events[k].append(tag)
                    self._last = now
                q.put((now + self.delay, data))
        except OSError:
            pass
        q.put((None, None))

    def _write(self, src, dst, q):
        try:
            while True:
                due, data = q.get()
                if data is None:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                dst.sendall(data)
                with self._lock:
                    self._last = time.monotonic()
        except OSError:
            pass
        finally:
            shut(src)
            shut(dst)

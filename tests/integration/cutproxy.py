"""A plaintext, IMAP-line-aware TCP proxy that breaks one APPEND.

    p = CutProxy(server.imap_port).start()    # listens on 127.0.0.1:p.port
    p.arm("after")   # or "before"; one shot: only the next APPEND is cut
    ... imapfs on imap://USER@127.0.0.1:<p.port>/ with -o insecure_plaintext
    p.fired.wait(30)        # set once the cut happened
    p.cut                   # {"mode", "tag", "line", "withheld"}
    p.commands              # every client command line seen, all connections
    p.appends()             # the APPEND command lines among them
    p.stop()

Modes (the first client line containing " APPEND " after arm()):

  "after"   the APPEND line, the server's "+ " continuation and the literal
            all pass; when the server's tagged reply to that tag arrives it
            is NOT forwarded: both sockets are closed instead. The message
            is stored, but the client cannot know.
  "before"  the connection is closed as soon as the APPEND command line is
            seen; nothing of it reaches the server. The message is not
            stored.

Both directions are split into lines with IMAP literals ({N} / {N+} at the
end of a line announce N raw bytes) tracked, so bytes inside a literal
(the message itself, a FETCHed body) are never taken for a command or a
tagged reply. Only plaintext IMAP can be watched: use the server's imap
port (not imaps) and imapfs's insecure_plaintext option (loopback only).
"""

import re
import threading

from listener import close_all
from mountutil import local_url
from tcpproxy import TcpProxy

_LIT = re.compile(rb"\{(\d+)\+?\}\r?\n$")


class _Splitter:
    """Feeds raw bytes, yields ("line", bytes, starts_command) for each
    line (with its line end) and ("lit", bytes) for literal data.
    starts_command is False for the part of a command that follows a
    literal."""

    def __init__(self):
        self.buf = b""
        self.lit_left = 0
        self.continued = False

    def feed(self, data):
        self.buf += data
        out = []
        while self.buf:
            if self.lit_left:
                n = min(self.lit_left, len(self.buf))
                out.append(("lit", self.buf[:n]))
                self.buf = self.buf[n:]
                self.lit_left -= n
                continue
            i = self.buf.find(b"\n")
            if i < 0:
                break
            line = self.buf[:i + 1]
            self.buf = self.buf[i + 1:]
            out.append(("line", line, not self.continued))
            m = _LIT.search(line)
            if m:
                self.lit_left = int(m.group(1))
                self.continued = True
            else:
                self.continued = False
        return out


class _Conn:
    def __init__(self, proxy, client, upstream):
        self.proxy = proxy
        self.c = client
        self.u = upstream
        self.cut_tag = None     # "after" mode: the tag whose reply we eat
        self.closed = False
        self.lock = threading.Lock()

    def close(self):
        with self.lock:
            if self.closed:
                return
            self.closed = True
        close_all((self.c, self.u))

    def pump_up(self):
        """client -> server"""
        sp = _Splitter()
        try:
            while True:
                data = self.c.recv(65536)
                if not data:
                    break
                for item in sp.feed(data):
                    if item[0] == "line" and item[2]:
                        if not self.proxy._on_command(self, item[1]):
                            self.close()
                            return
                    self.u.sendall(item[1])
        except OSError:
            pass
        finally:
            self.close()

    def pump_down(self):
        """server -> client"""
        sp = _Splitter()
        try:
            while True:
                data = self.u.recv(65536)
                if not data:
                    break
                for item in sp.feed(data):
                    tag = self.cut_tag
                    if tag is not None and item[0] == "line" and item[2] \
                            and item[1].startswith(tag + b" "):
                        self.proxy._withheld(item[1])
                        self.close()
                        return
                    self.c.sendall(item[1])
        except OSError:
            pass
        finally:
            self.close()


class CutProxy(TcpProxy):
    def __init__(self, target_port, target_host="127.0.0.1"):
        super().__init__(target_port, target_host)
        self.mode = None
        self.cut = None
        self.fired = threading.Event()
        self.commands = []

    # ---- control ----

    def arm(self, mode):
        if mode not in ("after", "before"):
            raise ValueError("mode must be 'after' or 'before'")
        with self._lock:
            self.mode = mode
            self.cut = None
            self.fired.clear()

    def appends(self):
        with self._lock:
            return [c for c in self.commands if _is_append(c)]

    def commands_since(self, n):
        with self._lock:
            return list(self.commands[n:])

    def url(self, user):
        return local_url(user, self.port, scheme="imap")

    # ---- internals ----
    def _serve(self, c, u):
        conn = _Conn(self, c, u)
        self._register(conn)
        threading.Thread(target=conn.pump_down, daemon=True).start()
        threading.Thread(target=conn.pump_up, daemon=True).start()

    def _close_conn(self, conn):
        conn.close()

    def _on_command(self, conn, line):
        """A client command line. -> False to drop the connection now."""
        with self._lock:
            # never keep a LOGIN line (the password) around
            low = line.split(b" ", 2)[1:2]
            self.commands.append(
                line.split(b" ", 2)[0] + b" LOGIN <redacted>\r\n"
                if low and low[0].upper() == b"LOGIN" else line)
            if self.mode is None or not _is_append(line):
                return True
            mode, self.mode = self.mode, None
            tag = line.split(b" ", 1)[0]
            self.cut = {"mode": mode, "tag": tag, "line": line,
                        "withheld": None}
            if mode == "before":
                self.fired.set()
                return False
            conn.cut_tag = tag
            return True

    def _withheld(self, line):
        with self._lock:
            self.cut["withheld"] = line
        self.fired.set()


def _is_append(line):
    parts = line.split(b" ", 2)
    return len(parts) >= 2 and parts[1].upper() == b"APPEND"

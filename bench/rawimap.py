"""The baseline client of the imapfs benchmarks (bench/run.py,
bench/manymbox.py): a bare IMAP client on one TLS socket that times a
command from sending it to its tagged line without parsing the answer,
and raw_fetch, the timed UID FETCH of one mailbox on a Dovecot of the
integration tests. What imapfs is compared with, so kept apart from the
mounts it is compared to. The caller puts tests/integration on sys.path
(for imaputil).
"""

import socket
import ssl
import time

import imaputil


class RawImap:
    """A bare IMAP client on one TLS socket: sends a command, reads the
    answer in 256 KiB recv()s, counting bytes and looking only at the last
    line for the tagged status. Nothing is parsed or kept (but the tail)."""

    RECV = 256 * 1024

    def __init__(self, port, cafile):
        ctx = ssl.create_default_context(cafile=cafile)
        raw = socket.create_connection(("127.0.0.1", port), timeout=600)
        self.sock = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        self.n = 0
        self._read_until(None)        # greeting: one untagged line

    def _read_until(self, tag):
        """Read until the line starting with TAG (None: any first line);
        -> (bytes read, that line)."""
        total = 0
        tail = b""
        while True:
            data = self.sock.recv(self.RECV)
            if not data:
                raise ConnectionError("server closed the connection")
            total += len(data)
            tail = (tail + data)[-8192:]
            if not tail.endswith(b"\r\n"):
                continue
            start = tail.rfind(b"\r\n", 0, len(tail) - 2)
            line = tail[start + 2 if start >= 0 else 0:-2]
            if tag is None or line.startswith(tag + b" "):
                return total, line

    def command(self, cmd):
        """Send CMD (str); -> (seconds from send to tagged line, bytes)."""
        self.n += 1
        tag = b"BENCH%d" % self.n
        self.sock.sendall(tag + b" " + cmd.encode("utf-8") + b"\r\n")
        t0 = time.monotonic()
        total, line = self._read_until(tag)
        dt = time.monotonic() - t0
        status = line[len(tag) + 1:]
        if not status.startswith(b"OK"):
            raise RuntimeError("%s: %s" % (cmd.split()[0], status[:200]))
        return dt, total

    def close(self):
        try:
            self.command("LOGOUT")
        except Exception:
            pass
        self.sock.close()


def raw_fetch(server, mailbox, items, port=None):
    """LOGIN, SELECT MAILBOX, time UID FETCH 1:* ITEMS -> (seconds, bytes,
    seconds the SELECT took). PORT: connect there instead of the server's
    own port (a proxy in front of it, with the same certificate)."""
    c = RawImap(port or server.imaps_port, server.cafile)
    try:
        c.command("LOGIN %s %s" % (imaputil.quote(server.user),
                                   imaputil.quote(server.password)))
        sel, _ = c.command("SELECT %s" % imaputil.quote(mailbox))
        dt, n = c.command("UID FETCH 1:* %s" % items)
        return dt, n, sel
    finally:
        c.close()

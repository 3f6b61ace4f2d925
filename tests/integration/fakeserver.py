"""A small scripted IMAP server for hostile-server tests.

    fs = FakeServer(mode="imaps", cert=(crt, key)).start()
    ... mount imaps://user@127.0.0.1:fs.port/ ...
    fs.saw("LOGIN")        did any connection send a LOGIN command?
    fs.commands            [(conn_no, tag, COMMAND, raw line bytes), ...]
    fs.mailboxes           {name bytes: {"attrs": [...], "messages": [...],
                           "unsubscribed": True (left out of LSUB)}}; the
                           test may add and remove entries while serving
    fs.garbage = {"meta"}  answer the metadata UID FETCH with garbage
    fs.garbage = {"body"}  answer body fetches with garbage
                           ("body-quote": an unterminated quoted string;
                           "body-endless": valid untagged lines, 20 a
                           second, for ever; "body-half-bye": half the
                           literal, then "* BYE", the connection left open)
    fs.append_refusal = b"NO Message contains invalid header"
                           answer every APPEND with this (after its
                           literal); fs.refused lists (mailbox, bytes)
    fs.stop()

Profiles (PROFILES below): FakeServer(profile="old-acl") or a list of
names, e.g. profile=("old-acl", "refuse-selected"), starts from the
"dovecotlike" capabilities and applies each named entry. An entry only
sets flags on the server object, so a new server quirk is one table entry
(plus, for a new kind of behaviour, one flag read by its command):
    fs.caps_auth           capabilities after login (entries drop some)
    fs.myrights            MYRIGHTS answer (ACL in the caps)
    fs.refuse_selected     DELETE/RENAME/APPEND of the mailbox this
                           connection has selected answer NO (texts seen
                           on a real server)
    fs.delim               hierarchy delimiter; None = flat (NIL)
    fs.examine_rw          a lie: EXAMINE is read-write, [READ-WRITE]
Every profile server also speaks the write path: CREATE, DELETE, RENAME
(children too), SUBSCRIBE/UNSUBSCRIBE, EXPUNGE, UID EXPUNGE, UID COPY /
UID MOVE (COPYUID), UID STORE on sets, MYRIGHTS, GETACL, UNSELECT, CLOSE
(after a read-write SELECT it expunges \\Deleted messages, as RFC 3501
says; fs.events gets ("close-expunged", conn, mailbox, uids)), APPEND with
flags and date, UID SEARCH (ALL, UID, HEADER, DELETED, UNDELETED). These
commands work without a profile too; with one, LIST computes
\\HasChildren/\\HasNoChildren. State helpers for "another client":
fs.add(mailbox, body, flags) -> uid, fs.uids(mailbox), fs.message(mailbox,
uid), fs.expunge(mailbox, uid), fs.rename(old, new). A mailbox's next
UID is kept in its "uidnext" entry, so UIDs are never reused.

Modes: "imaps" (TLS from the first byte), "starttls" (plaintext greeting,
STARTTLS upgrades), "plain" (no TLS at all). Enough of IMAP4rev1 is spoken
(CAPABILITY, STARTTLS, LOGIN, AUTHENTICATE PLAIN, XOAUTH2 and
OAUTHBEARER (fs.oauth_tokens, fs.sasl), NAMESPACE, LIST/LSUB with
wildcards, STATUS, SELECT/EXAMINE, UID FETCH/FETCH of metadata and partial
bodies, APPEND, NOOP, IDLE, ENABLE, ID, LOGOUT...) for a mount to work against it,
so that a positive control proves the server can observe what the refusal
tests assert never happens.

Tags are whatever the client sends (libetpan uses "1", "2", ...): the
command is the word after the tag (for "UID FETCH", "UID FETCH").
"""

import base64
import re
import socket
import ssl
import threading
import time

CRLF = b"\r\n"


def _imap_quote(b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    if any(c >= 0x80 or c in (0, 10, 13) for c in b):
        return b"{%d}\r\n" % len(b) + b
    return b'"' + b.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def _wild_rx(pattern, delim):
    """IMAP LIST wildcard pattern as a compiled regular expression: '*'
    anything, '%' anything but DELIM."""
    rx = b""
    for ch in pattern:
        c = bytes([ch])
        if c == b"*":
            rx += b".*"
        elif c == b"%":
            rx += b"[^" + re.escape(delim) + b"]*" if delim else b".*"
        else:
            rx += re.escape(c)
    return re.compile(rx, re.S)


def _wild_match(pattern, name, delim):
    return _wild_rx(pattern, delim).fullmatch(name) is not None


def _parse_set(s, maxval):
    """'1:3,5,7:*' -> set of ints (bounded by MAXVAL for '*')."""
    out = set()
    for part in s.split(","):
        if ":" in part:
            a, b = part.split(":", 1)
            a = maxval if a == "*" else int(a)
            b = maxval if b == "*" else int(b)
            lo, hi = min(a, b), max(a, b)
            out.update(range(lo, hi + 1))
        elif part == "*":
            out.add(maxval)
        else:
            out.add(int(part))
    return out


def _tokens(rest):
    """Split the arguments of a command line into astrings and
    parenthesised groups (good enough for the commands we serve)."""
    toks = []
    i = 0
    n = len(rest)
    while i < n:
        c = rest[i:i + 1]
        if c == b" ":
            i += 1
        elif c == b'"':
            j = i + 1
            out = bytearray()
            while j < n and rest[j:j + 1] != b'"':
                if rest[j:j + 1] == b"\\":
                    j += 1
                out += rest[j:j + 1]
                j += 1
            toks.append(bytes(out))
            i = j + 1
        elif c == b"(":
            depth = 0
            j = i
            while j < n:
                if rest[j:j + 1] == b"(":
                    depth += 1
                elif rest[j:j + 1] == b")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            toks.append(rest[i:j + 1])
            i = j + 1
        else:
            j = i
            while j < n and rest[j:j + 1] != b" ":
                # keep [..] sections (BODY.PEEK[HEADER.FIELDS (A B)])
                if rest[j:j + 1] == b"[":
                    k = rest.find(b"]", j)
                    j = k if k > 0 else j
                j += 1
            toks.append(rest[i:j])
            i = j
    return toks


# capabilities after login of every profile server, before its entry
# drops some: a Dovecot-like server with CONDSTORE (RFC 7162: MODSEQ per
# message, HIGHESTMODSEQ, CHANGEDSINCE) but without QRESYNC (VANISHED is
# tested against Dovecot)
PROFILE_CAPS = ["IMAP4rev1", "NAMESPACE", "UIDPLUS", "ID", "ENABLE",
                "LITERAL+", "CHILDREN", "UNSELECT", "MOVE", "IDLE",
                "SPECIAL-USE", "ACL", "CONDSTORE"]

# name -> server attributes to set ("drop_caps": capabilities removed
# from PROFILE_CAPS). One entry per kind of server imapfs must work with.
PROFILES = {
    "dovecotlike": {},
    # RFC 2086 rights: no t, e, x, k (RFC 4314 2.1.1 says how to read them)
    "old-acl": {"myrights": "acdilrsw"},
    # no UNSELECT; NO for DELETE/RENAME/APPEND of the selected mailbox
    "refuse-selected": {"drop_caps": ("UNSELECT",), "refuse_selected": True},
    # flags changed by others are then found by refetching them
    "no-condstore": {"drop_caps": ("CONDSTORE", "QRESYNC")},
    "no-uidplus": {"drop_caps": ("UIDPLUS",)},
    "no-move": {"drop_caps": ("MOVE",)},
    "no-uidplus-no-move": {"drop_caps": ("UIDPLUS", "MOVE")},
    # NIL delimiter, INBOX \NoInferiors
    "flat": {"delim": None},
}

# RFC 4314 rights of a mailbox owner on Dovecot
FULL_RIGHTS = "lrwstipekxacd"


def _b(x):
    return x.encode() if isinstance(x, str) else x


def _uidnext(mb):
    """The mailbox's next UID: never below what its messages use, never
    lowered by an expunge (UIDs are not reused)."""
    n = max([m.uid for m in mb["messages"]] + [0]) + 1
    if mb.get("uidnext", 0) < n:
        mb["uidnext"] = n
    return mb["uidnext"]


def _take_uid(mb):
    uid = _uidnext(mb)
    mb["uidnext"] = uid + 1
    return uid


def _children(srv, name):
    """Names strictly under NAME (nothing in a flat namespace)."""
    d = srv.delim
    if not d:
        return []
    return [n for n in srv.mailboxes if n.startswith(name + d)]


def _rename_boxes(srv, old, new):
    for n in [old] + _children(srv, old):
        srv.mailboxes[new + n[len(old):]] = srv.mailboxes.pop(n)


class Message:
    def __init__(self, uid, body, flags=(), internaldate="01-Jan-2024 "
                 "10:00:00 +0000"):
        self.uid = uid
        self.body = body
        self.flags = list(flags)
        self.internaldate = internaldate
        self.modseq = 1   # CONDSTORE: bumped by _touch on every change


def _highestmodseq(mb):
    return max([mb.get("modseq", 1)] + [m.modseq for m in mb["messages"]])


def _touch(mb, msg):
    """MSG (new, or its flags changed) gets the mailbox's next MODSEQ."""
    mb["modseq"] = _highestmodseq(mb) + 1
    msg.modseq = mb["modseq"]


class FakeServer:
    def __init__(self, mode="imaps", cert=None, user="alice",
                 password="secret", greeting=None, caps=None,
                 caps_tls=None, caps_auth=None, starttls_extra=b"",
                 preauth=False, advertise_starttls=True, delim=b"/",
                 mailboxes=None, log=None, profile=None):
        assert mode in ("imaps", "starttls", "plain")
        self.mode = mode
        self.cert = cert
        self.user = user
        self.password = password
        self.preauth = preauth
        self.advertise_starttls = advertise_starttls
        self.starttls_extra = starttls_extra
        self.delim = delim
        self.greeting = greeting
        # capabilities before TLS (starttls mode), after TLS / imaps
        # (before login), and after login
        self.caps = caps
        self.caps_tls = caps_tls or ["IMAP4rev1", "AUTH=PLAIN", "SASL-IR",
                                     "ID", "ENABLE", "LITERAL+"]
        self.caps_auth = caps_auth or ["IMAP4rev1", "NAMESPACE", "UIDPLUS",
                                       "ID", "ENABLE", "LITERAL+",
                                       "CHILDREN", "UNSELECT"]
        if mailboxes is None:
            mailboxes = {
                b"INBOX": {"attrs": [r"\HasNoChildren"], "messages": [
                    Message(1, b"From: a@b.example\r\nSubject: one\r\n\r\n"
                            b"first message body\r\n", [r"\Seen"]),
                    Message(2, b"From: a@b.example\r\nSubject: two\r\n\r\n"
                            b"second message body\r\n" + b"x" * 5000 +
                            b"\r\n", []),
                ]},
            }
        self.mailboxes = mailboxes
        self.garbage = set()
        self.commands = []
        self.events = []
        self.port = None
        self._lock = threading.Lock()
        self._sock = None
        self._stopping = False
        self._conn_no = 0
        self._conns = []
        self._log = log
        self._uidvalidity = 1234567
        # OAuth2 (AUTH=XOAUTH2 / AUTH=OAUTHBEARER in the caps): accepted
        # access tokens, the host the client must name, what it sent
        self.oauth_tokens = []
        self.oauth_host = "127.0.0.1"
        self.sasl = []
        # (mailbox, bytes) of every APPEND stored
        self.appended = []
        # the tagged reply to every APPEND instead of storing it, and
        # (mailbox, bytes) of each APPEND so refused
        self.append_refusal = None
        self.refused = []
        self.myrights = FULL_RIGHTS
        self.refuse_selected = False
        # a lie: EXAMINE answers [READ-WRITE] and is read-write (a CLOSE
        # after it expunges)
        self.examine_rw = False
        self.profile = None
        if profile is not None:
            self._apply_profile(profile, caps_auth is None)

    def _apply_profile(self, profile, set_caps):
        names = [profile] if isinstance(profile, str) else list(profile)
        caps = list(PROFILE_CAPS)
        for name in names:
            for key, val in PROFILES[name].items():
                if key == "drop_caps":
                    caps = [c for c in caps if c not in val]
                else:
                    setattr(self, key, val)
        if set_caps:
            self.caps_auth = caps
        self.profile = "+".join(names)
        inbox = self.mailboxes.get(b"INBOX")
        if self.delim is None and inbox is not None and \
                "\\NoInferiors" not in inbox["attrs"]:
            inbox["attrs"].append("\\NoInferiors")

    # ------------------------------------------------------------- state
    # what "another client" does, straight on the server's state

    def _box(self, name):
        return self.mailboxes[name.encode() if isinstance(name, str)
                              else name]

    def add(self, mailbox, body, flags=(), internaldate=None):
        """Store a message as another client's APPEND would: -> UID."""
        mb = self._box(mailbox)
        uid = _take_uid(mb)
        m = Message(uid, body, flags)
        if internaldate:
            m.internaldate = internaldate
        _touch(mb, m)
        mb["messages"].append(m)
        return uid

    def set_flags(self, mailbox, uid, flags):
        """Another client's STORE FLAGS (flags): MODSEQ moves."""
        mb = self._box(mailbox)
        m = self.message(mailbox, uid)
        m.flags = list(flags)
        _touch(mb, m)

    def uids(self, mailbox):
        return sorted(m.uid for m in self._box(mailbox)["messages"])

    def message(self, mailbox, uid):
        for m in self._box(mailbox)["messages"]:
            if m.uid == uid:
                return m
        return None

    def expunge(self, mailbox, uid):
        mb = self._box(mailbox)
        mb["messages"] = [m for m in mb["messages"] if m.uid != uid]

    def rename(self, old, new):
        """RENAME as another client: OLD and its children."""
        _rename_boxes(self, _b(old), _b(new))

    # ---------------------------------------------------------------- api
    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(32)
        self._sock = s
        self.port = s.getsockname()[1]
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def stop(self):
        self._stopping = True
        try:
            self._sock.close()
        except OSError:
            pass
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                c.close()
            except OSError:
                pass

    def drop_connections(self):
        """Cut every open connection (the listener stays): the client
        must reconnect for its next command. -> the number of the last
        connection accepted before the cut: those numbered above it are
        new."""
        with self._lock:
            # under the lock: _serve_then_forget closes them under it
            for c in self._conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._conns = []
            return self._conn_no

    def saw(self, *cmds):
        want = {c.upper() for c in cmds}
        with self._lock:
            return any(c[2] in want for c in self.commands)

    def command_names(self):
        with self._lock:
            return [c[2] for c in self.commands]

    def transcript(self):
        with self._lock:
            return "\n".join("#%d %s" % (c[0], c[3][:200].decode(
                "latin-1", "replace")) for c in self.commands) + \
                "\nevents: %r" % (self.events,)

    def _event(self, e):
        with self._lock:
            self.events.append(e)

    # ---------------------------------------------------------- transport
    def _session(self, conn, no):
        """The protocol side of one connection (a subclass may serve its
        own _Session subclass over the same transport)."""
        return _Session(self, conn, no)

    def _server_ctx(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert[0], self.cert[1])
        return ctx

    def _accept_loop(self):
        while not self._stopping:
            try:
                c, _ = self._sock.accept()
            except OSError:
                return
            # wrapping C in TLS detaches it (its fileno becomes -1, a
            # shutdown on it fails EBADF): stop() and drop_connections()
            # cut the connection through a descriptor of its own
            cut = c.dup()
            with self._lock:
                self._conn_no += 1
                no = self._conn_no
                self._conns.append(cut)
            threading.Thread(target=self._serve_then_forget,
                             args=(c, no, cut), daemon=True).start()

    def _serve_then_forget(self, raw, no, cut):
        try:
            self._serve(raw, no)
        finally:
            with self._lock:
                if cut in self._conns:
                    self._conns.remove(cut)
                cut.close()

    def _serve(self, raw, no):
        conn = _Conn(raw)
        try:
            raw.settimeout(120)
            if self.mode == "imaps":
                try:
                    conn.start_tls(self._server_ctx())
                except (ssl.SSLError, OSError) as e:
                    self._event(("tls-handshake-failed", no, str(e)))
                    return
                self._event(("tls", no))
            self._session(conn, no).run()
        except (OSError, ssl.SSLError, ValueError, EOFError) as e:
            self._event(("error", no, repr(e)))
        finally:
            try:
                raw.close()
            except OSError:
                pass


class _Conn:
    """A socket with a line reader that can be upgraded to TLS."""

    def __init__(self, raw):
        self.raw = raw
        self.sock = raw
        self.buf = b""
        self.tls = False

    def start_tls(self, ctx):
        self.buf = b""  # anything the client pipelined before TLS is dropped
        self.sock = ctx.wrap_socket(self.raw, server_side=True)
        self.tls = True

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise EOFError
        self.buf += d

    def readline(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise ValueError("line too long")
            self._fill()
        i = self.buf.index(b"\r\n")
        line, self.buf = self.buf[:i], self.buf[i + 2:]
        return line

    def read(self, n):
        while len(self.buf) < n:
            self._fill()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d


class _Session:
    def __init__(self, srv, conn, no):
        self.srv = srv
        self.c = conn
        self.no = no
        self.state = "preauth" if srv.preauth else "nonauth"
        self.selected = None
        self.selected_ro = False

    def send(self, s):
        if isinstance(s, str):
            s = s.encode("utf-8")
        self.c.send(s)

    def caps(self):
        srv = self.srv
        if self.state == "auth" or self.state == "selected":
            return srv.caps_auth
        if srv.mode == "starttls" and not self.c.tls:
            if srv.caps is not None:
                return srv.caps
            caps = ["IMAP4rev1", "AUTH=PLAIN"]
            if srv.advertise_starttls:
                caps.append("STARTTLS")
            return caps
        if srv.mode == "plain" and srv.caps is not None:
            return srv.caps
        return srv.caps_tls

    def read_command(self):
        """A full command line with literals inlined (as quoted-ish raw)."""
        line = self.c.readline()
        parts = [line]
        while True:
            m = re.search(rb"\{(\d+)(\+?)\}$", line)
            if not m:
                break
            n = int(m.group(1))
            if not m.group(2):
                self.send("+ go ahead\r\n")
            lit = self.c.read(n)
            parts[-1] = parts[-1][:m.start()] + b'"' + lit.replace(
                b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
            line = self.c.readline()
            parts.append(line)
        return b"".join(parts)

    def run(self):
        srv = self.srv
        if srv.greeting is not None:
            self.send(srv.greeting + "\r\n")
        elif srv.preauth:
            self.send("* PREAUTH [CAPABILITY %s] fake server, logged in\r\n"
                      % " ".join(srv.caps_auth))
            self.state = "auth"
        else:
            self.send("* OK [CAPABILITY %s] fake IMAP server ready\r\n"
                      % " ".join(self.caps()))
        while True:
            try:
                line = self.read_command()
            except EOFError:
                return
            m = re.match(rb"(\S+) (UID \S+|\S+) ?(.*)$", line, re.S)
            if not m:
                self.send(b"* BAD unparsable command\r\n")
                continue
            tag = m.group(1).decode("latin-1")
            cmd = m.group(2).decode("latin-1").upper()
            rest = m.group(3)
            with srv._lock:
                shown = line
                if cmd in ("LOGIN", "AUTHENTICATE"):
                    shown = m.group(1) + b" " + m.group(2) + b" <...>"
                srv.commands.append((self.no, tag, cmd, shown))
            handler = getattr(self, "do_" + cmd.replace(" ", "_"), None)
            if handler is None:
                self.send("%s BAD unknown command %s\r\n" % (tag, cmd))
                continue
            if handler(tag, rest) == "close":
                return

    # ------------------------------------------------------------ commands
    def do_CAPABILITY(self, tag, rest):
        self.send("* CAPABILITY %s\r\n%s OK done\r\n"
                  % (" ".join(self.caps()), tag))

    def do_NOOP(self, tag, rest):
        self.send("%s OK noop\r\n" % tag)

    def do_CHECK(self, tag, rest):
        self.send("%s OK check\r\n" % tag)

    def do_LOGOUT(self, tag, rest):
        self.send("* BYE bye\r\n%s OK logout\r\n" % tag)
        return "close"

    def do_ID(self, tag, rest):
        self.send('* ID ("name" "fakeserver")\r\n%s OK id\r\n' % tag)

    def do_ENABLE(self, tag, rest):
        self.send("* ENABLED\r\n%s OK enabled\r\n" % tag)

    def do_STARTTLS(self, tag, rest):
        srv = self.srv
        if srv.mode != "starttls" or self.c.tls or \
                "STARTTLS" not in self.caps():
            self.send("%s BAD no STARTTLS here\r\n" % tag)
            return
        self.send(("%s OK Begin TLS negotiation now\r\n" % tag).encode() +
                  srv.starttls_extra)
        try:
            self.c.start_tls(srv._server_ctx())
        except (ssl.SSLError, OSError) as e:
            srv._event(("tls-handshake-failed", self.no, str(e)))
            return "close"
        srv._event(("tls", self.no))

    def _login_ok(self, tag, user, password):
        srv = self.srv
        if user == srv.user.encode() and password == srv.password.encode():
            self.state = "auth"
            self.send("%s OK [CAPABILITY %s] Logged in\r\n"
                      % (tag, " ".join(srv.caps_auth)))
        else:
            srv._event(("bad-login", self.no, user))
            self.send("%s NO [AUTHENTICATIONFAILED] Authentication failed."
                      "\r\n" % tag)

    def do_LOGIN(self, tag, rest):
        if "LOGINDISABLED" in self.caps():
            self.send("%s NO LOGIN is disabled\r\n" % tag)
            return
        toks = _tokens(rest)
        if len(toks) != 2:
            self.send("%s BAD LOGIN needs two arguments\r\n" % tag)
            return
        self._login_ok(tag, toks[0], toks[1])

    def do_AUTHENTICATE(self, tag, rest):
        toks = _tokens(rest)
        if toks and toks[0].upper() in (b"XOAUTH2", b"OAUTHBEARER"):
            return self._oauth(tag, toks[0].upper().decode(), toks[1:])
        if not toks or toks[0].upper() != b"PLAIN" or \
                "AUTH=PLAIN" not in self.caps():
            self.send("%s NO unsupported mechanism\r\n" % tag)
            return
        if len(toks) > 1:
            resp = toks[1]
        else:
            self.send("+ \r\n")
            resp = self.c.readline()
        try:
            dec = base64.b64decode(resp)
            _authz, user, password = dec.split(b"\0")
        except ValueError:
            self.send("%s BAD bad PLAIN response\r\n" % tag)
            return
        self._login_ok(tag, user, password)

    def _oauth(self, tag, mech, rest):
        """XOAUTH2 / OAUTHBEARER: the client response must be exactly the
        expected SASL string with one of srv.oauth_tokens. Every exchange
        is recorded in srv.sasl as (mech, decoded response, inline,
        the client's answer to the error challenge or None, the
        connection's number)."""
        srv = self.srv
        if "AUTH=" + mech not in self.caps():
            self.send("%s NO unsupported mechanism\r\n" % tag)
            return
        inline = bool(rest)
        if inline:
            resp = rest[0]
        else:
            self.send("+ \r\n")
            resp = self.c.readline()
        try:
            dec = base64.b64decode(resp, validate=True)
        except ValueError:
            dec = None
        user = srv.user.encode()
        ok = False
        for tok in srv.oauth_tokens:
            tok = tok.encode()
            if mech == "XOAUTH2":
                want = b"user=" + user + b"\x01auth=Bearer " + tok + b"\x01\x01"
            else:
                want = (b"n,a=" + user.replace(b"=", b"=3D").replace(
                    b",", b"=2C") + b",\x01host=" + srv.oauth_host.encode() +
                    b"\x01port=%d\x01auth=Bearer " % self.srv.port + tok +
                    b"\x01\x01")
            if dec == want:
                ok = True
        answer = None
        if not ok:
            # RFC 7628 3.2.2 / Google's XOAUTH2: an error challenge first
            err = base64.b64encode(b'{"status":"invalid_token",'
                                   b'"schemes":"bearer","scope":"mail"}')
            self.send(b"+ " + err + b"\r\n")
            answer = self.c.readline()
        with srv._lock:
            srv.sasl.append((mech, dec, inline, answer, self.no))
        if ok:
            self.state = "auth"
            self.send("%s OK [CAPABILITY %s] Logged in\r\n"
                      % (tag, " ".join(srv.caps_auth)))
        else:
            self.send("%s NO [AUTHENTICATIONFAILED] Invalid credentials "
                      "(Failure)\r\n" % tag)

    def _need_auth(self, tag):
        if self.state not in ("auth", "selected"):
            self.send("%s BAD not authenticated\r\n" % tag)
            return False
        return True

    def do_NAMESPACE(self, tag, rest):
        if not self._need_auth(tag):
            return
        self.send(b'* NAMESPACE (("" ' + self._delim_word() + b')) NIL NIL'
                  b'\r\n' + tag.encode() + b" OK namespace\r\n")

    def _delim_word(self):
        d = self.srv.delim
        return b'"' + d + b'"' if d else b"NIL"

    def _attrs(self, name, mb):
        """MB's LIST attributes; a profile server computes the CHILDREN
        ones from what exists now."""
        attrs = mb["attrs"]
        if self.srv.profile is None:
            return attrs
        attrs = [a for a in attrs
                 if a not in ("\\HasChildren", "\\HasNoChildren")]
        if "\\NoInferiors" not in attrs:
            attrs.append("\\HasChildren" if _children(self.srv, name)
                         else "\\HasNoChildren")
        return attrs

    def _list(self, tag, rest, cmd):
        if not self._need_auth(tag):
            return
        toks = _tokens(rest)
        if toks and toks[0].startswith(b"("):
            toks = toks[1:]  # LIST-EXTENDED selection options: ignored
        if len(toks) < 2:
            self.send("%s BAD LIST needs two arguments\r\n" % tag)
            return
        ref, pat = toks[0], toks[1]
        d = self.srv.delim
        dw = self._delim_word()
        out = []
        if pat == b"":
            out.append(b'* %s (\\Noselect) %s ""\r\n' % (cmd.encode(), dw))
        else:
            # one compiled pattern and one join: a LIST of 200,000
            # mailboxes (bench/manymbox.py) must not be quadratic here
            rx = _wild_rx(ref + pat, d)
            for name, mb in list(self.srv.mailboxes.items()):
                if cmd == "LSUB" and mb.get("unsubscribed"):
                    continue
                if rx.fullmatch(name) is not None:
                    out.append(b"* %s (%s) %s %s\r\n" % (
                        cmd.encode(), " ".join(self._attrs(name, mb)).encode(),
                        dw, _imap_quote(name)))
        self.send(b"".join(out) + tag.encode() + b" OK list done\r\n")

    def do_LIST(self, tag, rest):
        self._list(tag, rest, "LIST")

    def do_LSUB(self, tag, rest):
        self._list(tag, rest, "LSUB")

    def _mailbox(self, name):
        return self.srv.mailboxes.get(name)

    def do_STATUS(self, tag, rest):
        if not self._need_auth(tag):
            return
        toks = _tokens(rest)
        mb = self._mailbox(toks[0]) if toks else None
        if mb is None or "\\Noselect" in mb["attrs"]:
            self.send("%s NO no such mailbox\r\n" % tag)
            return
        msgs = mb["messages"]
        vals = {"MESSAGES": len(msgs),
                "UNSEEN": sum(1 for m in msgs if "\\Seen" not in m.flags),
                "UIDNEXT": _uidnext(mb),
                "UIDVALIDITY": self.srv._uidvalidity, "RECENT": 0}
        if "CONDSTORE" in self.caps():
            vals["HIGHESTMODSEQ"] = _highestmodseq(mb)
        items = re.findall(rb"[A-Z]+", toks[1].upper()) if len(toks) > 1 \
            else []
        body = " ".join("%s %d" % (i.decode(), vals[i.decode()])
                        for i in items if i.decode() in vals)
        self.send(b"* STATUS " + _imap_quote(toks[0]) +
                  (" (%s)\r\n%s OK status\r\n" % (body, tag)).encode())

    def _select(self, tag, rest, ro):
        if not self._need_auth(tag):
            return
        toks = _tokens(rest)
        mb = self._mailbox(toks[0]) if toks else None
        if mb is None or "\\Noselect" in mb["attrs"]:
            self.selected = None
            self.state = "auth"
            self.send("%s NO no such mailbox\r\n" % tag)
            return
        # switching the selection expunges nothing (RFC 3501 6.3.1)
        self.selected = toks[0]
        if self.srv.examine_rw:
            ro = False   # the lie: EXAMINE opens it read-write
        self.selected_ro = ro
        self.state = "selected"
        msgs = mb["messages"]
        uidnext = _uidnext(mb)
        self.send("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
                  "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted "
                  "\\Seen \\Draft \\*)] ok\r\n"
                  "* %d EXISTS\r\n* 0 RECENT\r\n"
                  "* OK [UIDVALIDITY %d] ok\r\n* OK [UIDNEXT %d] ok\r\n"
                  "%s%s OK [%s] selected\r\n"
                  % (len(msgs), self.srv._uidvalidity, uidnext,
                     "* OK [HIGHESTMODSEQ %d] ok\r\n" % _highestmodseq(mb)
                     if "CONDSTORE" in self.caps() else "", tag,
                     "READ-ONLY" if ro else "READ-WRITE"))

    def do_SELECT(self, tag, rest):
        self._select(tag, rest, False)

    def do_EXAMINE(self, tag, rest):
        self._select(tag, rest, True)

    def do_CLOSE(self, tag, rest):
        """RFC 3501 6.4.2: after a read-write SELECT, CLOSE expunges
        every \\Deleted message, silently. Recorded in fs.events."""
        if self.state != "selected":
            self.send("%s BAD no mailbox selected\r\n" % tag)
            return
        mb = self._mailbox(self.selected)
        if not self.selected_ro and mb is not None:
            gone = [m.uid for m in mb["messages"] if "\\Deleted" in m.flags]
            mb["messages"] = [m for m in mb["messages"]
                              if "\\Deleted" not in m.flags]
            self.srv._event(("close-expunged", self.no, self.selected, gone))
        self.selected = None
        self.state = "auth"
        self.send("%s OK closed\r\n" % tag)

    def do_UNSELECT(self, tag, rest):
        if "UNSELECT" not in self.caps():
            self.send("%s BAD unknown command UNSELECT\r\n" % tag)
            return
        if self.state != "selected":
            self.send("%s BAD no mailbox selected\r\n" % tag)
            return
        self.selected = None
        self.state = "auth"
        self.send("%s OK unselected\r\n" % tag)

    def do_IDLE(self, tag, rest):
        self.send("+ idling\r\n")
        while True:
            line = self.c.readline()
            if line.upper() == b"DONE":
                break
        self.send("%s OK idle done\r\n" % tag)

    def do_UID_SEARCH(self, tag, rest):
        mb = self._mailbox(self.selected) if self.selected else None
        uids = [m.uid for m in mb["messages"]
                if _search_match(m, _tokens(rest), mb)] if mb else []
        self.send("* SEARCH %s\r\n%s OK search\r\n"
                  % (" ".join(map(str, uids)), tag))

    def do_SEARCH(self, tag, rest):
        mb = self._mailbox(self.selected) if self.selected else None
        n = len(mb["messages"]) if mb else 0
        self.send("* SEARCH %s\r\n%s OK search\r\n"
                  % (" ".join(str(i) for i in range(1, n + 1)), tag))

    def do_APPEND(self, tag, rest):
        """APPEND MAILBOX [(FLAGS)] ["DATE"] LITERAL (the literal arrives
        inlined by read_command): stored, answered with APPENDUID."""
        if not self._need_auth(tag):
            return
        toks = _tokens(rest)
        if self.srv.append_refusal is not None and len(toks) >= 2:
            with self.srv._lock:
                self.srv.refused.append((toks[0], toks[-1]))
            self.send(tag.encode() + b" " + self.srv.append_refusal + CRLF)
            return
        mb = self._mailbox(toks[0]) if toks else None
        if mb is None or len(toks) < 2:
            self.send("%s NO [TRYCREATE] no such mailbox\r\n" % tag)
            return
        if self._refused_selected(tag, toks[0], "APPEND"):
            return
        flags = []
        if len(toks) > 2 and toks[1].startswith(b"("):
            flags = toks[1][1:-1].decode("latin-1").split()
        msg = Message(_take_uid(mb), toks[-1], flags)
        if len(toks) > 2 and re.fullmatch(rb" ?\d{1,2}-[A-Za-z]{3}-\d{4} "
                                          rb"\d\d:\d\d:\d\d [+-]\d{4}",
                                          toks[-2]):
            msg.internaldate = toks[-2].strip().decode()
        _touch(mb, msg)
        mb["messages"].append(msg)
        with self.srv._lock:
            self.srv.appended.append((toks[0], toks[-1]))
        if "UIDPLUS" in self.caps():
            self.send("%s OK [APPENDUID %d %d] appended\r\n"
                      % (tag, self.srv._uidvalidity, msg.uid))
        else:
            self.send("%s OK appended\r\n" % tag)

    def do_UID_FETCH(self, tag, rest):
        self._fetch(tag, rest, True)

    def do_UID_STORE(self, tag, rest):
        """UID STORE set [+|-]FLAGS[.SILENT] (flags): flags as a list of
        strings, spelled as the client sent them; FETCH FLAGS answers
        unless .SILENT."""
        m = re.match(rb"([\d:,*]+) ([+-]?)FLAGS(\.SILENT)? \((.*)\)\s*$",
                     rest, re.I | re.S)
        if self.state != "selected" or not m:
            self.send("%s BAD bad STORE\r\n" % tag)
            return
        if self.selected_ro:
            self.send("%s NO mailbox is read-only\r\n" % tag)
            return
        box = self._mailbox(self.selected)
        msgs = box["messages"]
        want = _parse_set(m.group(1).decode(),
                          max([x.uid for x in msgs] + [0]))
        op = m.group(2)
        flags = m.group(4).decode("latin-1").split()
        out = ""
        for seq, msg in enumerate(msgs, 1):
            if msg.uid not in want:
                continue
            if op == b"+":
                msg.flags += [f for f in flags if f not in msg.flags]
            elif op == b"-":
                msg.flags = [f for f in msg.flags if f not in flags]
            else:
                msg.flags = flags
            _touch(box, msg)
            if not m.group(3):
                out += "* %d FETCH (UID %d FLAGS (%s))\r\n" % (
                    seq, msg.uid, " ".join(msg.flags))
        self.send("%s%s OK store done\r\n" % (out, tag))

    def do_FETCH(self, tag, rest):
        self._fetch(tag, rest, False)

    @staticmethod
    def _meta_parts(m, items, size=None):
        """The UID, FLAGS, INTERNALDATE and RFC822.SIZE items of message M
        that ITEMS asks for (SIZE: what to claim, default the truth)."""
        parts = [b"UID %d" % m.uid]
        if "FLAGS" in items:
            parts.append(b"FLAGS (" + " ".join(m.flags).encode() + b")")
        if "INTERNALDATE" in items:
            parts.append(b'INTERNALDATE "' + m.internaldate.encode() + b'"')
        if "RFC822.SIZE" in items:
            parts.append(b"RFC822.SIZE %d"
                         % (len(m.body) if size is None else size))
        return parts

    def _fetch(self, tag, rest, by_uid):
        if self.state != "selected":
            self.send("%s BAD no mailbox selected\r\n" % tag)
            return
        msgs = self._mailbox(self.selected)["messages"]
        toks = _tokens(rest)
        if len(toks) < 2:
            self.send("%s BAD FETCH needs arguments\r\n" % tag)
            return
        setspec = toks[0].decode()
        items = toks[1].decode("latin-1").upper()
        # CONDSTORE: FETCH ... (CHANGEDSINCE n) and the MODSEQ item
        since = re.search(rb"CHANGEDSINCE (\d+)", b" ".join(toks[2:]), re.I)
        since = int(since.group(1)) if since else None
        if since is not None or "MODSEQ" in items:
            if "CONDSTORE" not in self.caps():
                self.send("%s BAD no CONDSTORE here\r\n" % tag)
                return
        if by_uid:
            want = _parse_set(setspec, max([m.uid for m in msgs] + [0]))
        else:
            want = _parse_set(setspec, len(msgs))
        is_body = "BODY" in items or "RFC822" in re.sub(
            r"RFC822\.SIZE", "", items)
        garbage = self.srv.garbage
        out = b""
        failed = False
        for seq, m in enumerate(msgs, 1):
            if (m.uid if by_uid else seq) not in want:
                continue
            if since is not None and m.modseq <= since:
                continue
            if is_body and "body" in garbage:
                # complete lines, but not IMAP: BODY[] must be an nstring
                out += (b"* %d FETCH (UID %d BODY[]<0> ]]garbage(( 1 2 3)\r\n"
                        % (seq, m.uid))
                continue
            if is_body and garbage & {"body-nil-no", "body-empty-no"}:
                # a message the server cannot read: NIL (or nothing) and
                # then NO for the command (Dovecot's imap_fetch_failure)
                nil = b"NIL" if "body-nil-no" in garbage else b"{0}\r\n"
                out += b"* %d FETCH (UID %d BODY[] %s)\r\n" % (seq, m.uid, nil)
                failed = True
                continue
            if is_body and "body-endless" in garbage:
                # every line is valid IMAP, but the reply never ends
                self.send(out)
                while not self.srv._stopping:
                    self.send(b"* OK still working on it\r\n")
                    time.sleep(0.05)
                return
            if is_body and "body-half-bye" in garbage:
                self.send(out + b"* %d FETCH (UID %d BODY[] {%d}\r\n"
                          % (seq, m.uid, len(m.body)) +
                          m.body[:len(m.body) // 2] + b"\r\n* BYE going away\r\n")
                while not self.srv._stopping:
                    time.sleep(0.2)   # the connection stays open, silent
                return
            if is_body and "body-quote" in garbage:
                # a quoted string cut by CRLF: a parser may wait for more
                out += (b"* %d FETCH (UID %d BODY[]<0> \"unterminated "
                        b"}{)(\x01\r\n" % (seq, m.uid))
                continue
            if not is_body and "meta" in garbage:
                out += (b"* %d FETCH (UID %d RFC822.SIZE 12x3 INTERNALDATE "
                        b"\"99-Foo-20x4\" FLAGS (\\Seen \r\n" % (seq, m.uid))
                continue
            parts = self._meta_parts(m, items)
            if since is not None or "MODSEQ" in items:
                parts.append(b"MODSEQ (%d)" % m.modseq)
            for bm in re.finditer(r"BODY(?:\.PEEK)?\[([^\]]*)\](?:<(\d+)"
                                  r"\.(\d+)>)?", items):
                section = bm.group(1)
                data = m.body
                if section == "HEADER":
                    i = data.find(b"\r\n\r\n")
                    data = data[:i + 4] if i >= 0 else data
                elif section == "TEXT":
                    i = data.find(b"\r\n\r\n")
                    data = data[i + 4:] if i >= 0 else b""
                elif section != "":
                    data = b""
                name = b"BODY[" + section.encode() + b"]"
                if bm.group(2) is not None:
                    off, ln = int(bm.group(2)), int(bm.group(3))
                    data = data[off:off + ln]
                    name += b"<%d>" % off
                parts.append(name + b" {%d}\r\n" % len(data) + data)
            if re.search(r"(^|[ (])RFC822([ )]|$)", items):
                parts.append(b"RFC822 {%d}\r\n" % len(m.body) + m.body)
            out += b"* %d FETCH (" % seq + b" ".join(parts) + b")\r\n"
        if failed:
            self.send(out + tag.encode() + b" NO cannot read the message\r\n")
            return
        self.send(out + tag.encode() + b" OK fetch done\r\n")

    # ---------------------------------------------------- write path
    def _refused_selected(self, tag, name, cmd):
        """fs.refuse_selected: NO for DELETE/RENAME of the mailbox this
        connection has selected (or one under it), and for APPEND to it,
        read-only or not, with the texts a real server sends."""
        sel = self.selected
        if not self.srv.refuse_selected or self.state != "selected":
            return False
        under = cmd != "APPEND" and sel in _children(self.srv, name)
        if sel != name and not under:
            return False
        text = {"DELETE": "Cannot delete currently-open folder.",
                "RENAME": "Can't RENAME the currently-open folder",
                "APPEND": "Current box is selected READ-ONLY."}[cmd]
        self.srv._event(("refused-selected", self.no, cmd, name))
        self.send("%s NO %s\r\n" % (tag, text))
        return True

    def do_CREATE(self, tag, rest):
        if not self._need_auth(tag):
            return
        toks = _tokens(rest)
        srv = self.srv
        name = toks[0].rstrip(srv.delim) if toks and srv.delim else \
            (toks[0] if toks else b"")
        if not name or name in srv.mailboxes:
            self.send("%s NO [ALREADYEXISTS] mailbox exists\r\n" % tag)
            return
        d = srv.delim
        if d and d in name:
            parent = name[:name.rindex(d)]
            pmb = srv.mailboxes.get(parent)
            if pmb is not None and "\\NoInferiors" in pmb["attrs"]:
                self.send("%s NO mailbox cannot have children\r\n" % tag)
                return
            if pmb is None:   # like Dovecot: parents are made too
                srv.mailboxes[parent] = {"attrs": ["\\HasChildren"],
                                         "messages": []}
        srv.mailboxes[name] = {"attrs": ["\\HasNoChildren"], "messages": []}
        self.send("%s OK created\r\n" % tag)

    def do_DELETE(self, tag, rest):
        if not self._need_auth(tag):
            return
        toks = _tokens(rest)
        name = toks[0] if toks else b""
        if name not in self.srv.mailboxes or name.upper() == b"INBOX":
            self.send("%s NO no such mailbox\r\n" % tag)
            return
        if self._refused_selected(tag, name, "DELETE"):
            return
        del self.srv.mailboxes[name]
        self.send("%s OK deleted\r\n" % tag)

    def do_RENAME(self, tag, rest):
        if not self._need_auth(tag):
            return
        toks = _tokens(rest)
        if len(toks) != 2 or toks[0] not in self.srv.mailboxes:
            self.send("%s NO no such mailbox\r\n" % tag)
            return
        if toks[1] in self.srv.mailboxes:
            self.send("%s NO [ALREADYEXISTS] target exists\r\n" % tag)
            return
        if self._refused_selected(tag, toks[0], "RENAME"):
            return
        _rename_boxes(self.srv, toks[0], toks[1])
        self.send("%s OK renamed\r\n" % tag)

    def _named_box(self, tag, rest):
        """-> (arguments, mailbox named by the first), or None after
        answering BAD (not logged in) or NO (no such mailbox)."""
        if not self._need_auth(tag):
            return None
        toks = _tokens(rest)
        mb = self._mailbox(toks[0]) if toks else None
        if mb is None:
            self.send("%s NO no such mailbox\r\n" % tag)
            return None
        return toks, mb

    def _subscribe(self, tag, rest, on):
        named = self._named_box(tag, rest)
        if named is None:
            return
        mb = named[1]
        mb.pop("unsubscribed", None)
        if not on:
            mb["unsubscribed"] = True
        self.send("%s OK done\r\n" % tag)

    def do_SUBSCRIBE(self, tag, rest):
        self._subscribe(tag, rest, True)

    def do_UNSUBSCRIBE(self, tag, rest):
        self._subscribe(tag, rest, False)

    def _writable(self, tag):
        if self.state != "selected":
            self.send("%s BAD no mailbox selected\r\n" % tag)
            return None
        if self.selected_ro:
            self.send("%s NO mailbox is read-only\r\n" % tag)
            return None
        return self._mailbox(self.selected)

    def _expunge(self, tag, mb, uids):
        """Remove the \\Deleted messages among UIDS (None: all), with one
        untagged EXPUNGE each, highest sequence number first."""
        out = ""
        msgs = mb["messages"]
        for seq in range(len(msgs), 0, -1):
            m = msgs[seq - 1]
            if "\\Deleted" in m.flags and (uids is None or m.uid in uids):
                del msgs[seq - 1]
                out += "* %d EXPUNGE\r\n" % seq
        self.send("%s%s OK expunged\r\n" % (out, tag))

    def do_EXPUNGE(self, tag, rest):
        mb = self._writable(tag)
        if mb is not None:
            self._expunge(tag, mb, None)

    def do_UID_EXPUNGE(self, tag, rest):
        if "UIDPLUS" not in self.caps():
            self.send("%s BAD unknown command UID EXPUNGE\r\n" % tag)
            return
        mb = self._writable(tag)
        if mb is not None:
            self._expunge(tag, mb, _parse_set(rest.decode().strip(),
                                              _uidnext(mb) - 1))

    def _copy(self, tag, rest, move):
        """UID COPY / UID MOVE set mailbox: COPYUID where UIDPLUS is
        offered (tagged for COPY, untagged before the EXPUNGEs for MOVE,
        as Dovecot does)."""
        mb = self._writable(tag) if move else (
            self._mailbox(self.selected) if self.state == "selected" else None)
        if mb is None:
            if not move:
                self.send("%s BAD no mailbox selected\r\n" % tag)
            return
        toks = _tokens(rest)
        dest = self._mailbox(toks[1]) if len(toks) == 2 else None
        if dest is None:
            self.send("%s NO [TRYCREATE] no such mailbox\r\n" % tag)
            return
        want = _parse_set(toks[0].decode(), _uidnext(mb) - 1)
        src, dst = [], []
        for m in list(mb["messages"]):
            if m.uid in want:
                n = Message(_take_uid(dest), m.body,
                            [f for f in m.flags if f != "\\Recent"],
                            m.internaldate)
                _touch(dest, n)
                dest["messages"].append(n)
                src.append(m.uid)
                dst.append(n.uid)
        code = ""
        if src and "UIDPLUS" in self.caps():
            code = "[COPYUID %d %s %s] " % (
                self.srv._uidvalidity, ",".join(map(str, src)),
                ",".join(map(str, dst)))
        if not move:
            self.send("%s OK %scopied\r\n" % (tag, code))
            return
        out = "* OK %smoved\r\n" % code if code else ""
        msgs = mb["messages"]
        for seq in range(len(msgs), 0, -1):
            if msgs[seq - 1].uid in src:
                del msgs[seq - 1]
                out += "* %d EXPUNGE\r\n" % seq
        self.send("%s%s OK move done\r\n" % (out, tag))

    def do_UID_COPY(self, tag, rest):
        self._copy(tag, rest, False)

    def do_UID_MOVE(self, tag, rest):
        if "MOVE" not in self.caps():
            self.send("%s BAD unknown command UID MOVE\r\n" % tag)
            return
        self._copy(tag, rest, True)

    def _acl(self, tag, rest, what):
        if "ACL" not in self.caps():
            self.send("%s BAD unknown command %s\r\n" % (tag, what))
            return
        named = self._named_box(tag, rest)
        if named is None:
            return
        toks, mb = named
        rights = mb.get("rights", self.srv.myrights)
        if what == "MYRIGHTS":
            line = b"* MYRIGHTS " + _imap_quote(toks[0]) + b" " + \
                rights.encode()
        else:
            line = b"* ACL " + _imap_quote(toks[0]) + b" " + \
                self.srv.user.encode() + b" " + rights.encode()
        self.send(line + b"\r\n" + tag.encode() + b" OK done\r\n")

    def do_MYRIGHTS(self, tag, rest):
        self._acl(tag, rest, "MYRIGHTS")

    def do_GETACL(self, tag, rest):
        self._acl(tag, rest, "GETACL")


def _search_match(m, toks, mb):
    """UID SEARCH criteria, ANDed: ALL, UID set, HEADER name value,
    DELETED, UNDELETED (enough for what imapfs asks)."""
    i = 0
    while i < len(toks):
        k = toks[i].upper()
        if k == b"UID" and i + 1 < len(toks):
            if m.uid not in _parse_set(toks[i + 1].decode(),
                                       _uidnext(mb) - 1):
                return False
            i += 2
        elif k == b"HEADER" and i + 2 < len(toks):
            rx = rb"(?im)^" + re.escape(toks[i + 1]) + rb":[^\r\n]*" + \
                re.escape(toks[i + 2])
            head = m.body.split(b"\r\n\r\n", 1)[0]
            if not re.search(rx, head):
                return False
            i += 3
        elif k == b"DELETED":
            if "\\Deleted" not in m.flags:
                return False
            i += 1
        elif k == b"UNDELETED":
            if "\\Deleted" in m.flags:
                return False
            i += 1
        else:
            i += 1   # ALL, CHARSET ..., anything else: no filter
    return True

"""A small scripted IMAP server for hostile-server tests.

    fs = FakeServer(mode="imaps", cert=(crt, key)).start()
    ... mount imaps://user@127.0.0.1:fs.port/ ...
    fs.saw("LOGIN")        did any connection send a LOGIN command?
    fs.commands            [(conn_no, tag, COMMAND, raw line bytes), ...]
    fs.mailboxes           {name bytes: {"attrs": [...], "messages": [...],
                           "unsubscribed": True (left out of LSUB),
                           "select_refusal": b"NO ..." (SELECT and EXAMINE
                           answer that)}}; the
                           test may add and remove entries while serving
    fs.garbage = {"meta"}  answer the metadata UID FETCH with garbage
    fs.garbage = {"body"}  answer body fetches with garbage
                           ("body-quote": an unterminated quoted string;
                           "body-endless": valid untagged lines, 20 a
                           second, for ever; "body-half-bye": half the
                           literal, then "* BYE", the connection left open)
    fs.structures = {7: (b'("TEXT" "PLAIN" ...)', {"1": b"..."})}
                           UID 7's BODYSTRUCTURE answer as given (garbage
                           too) and the bytes of its BODY[section]s
    fs.append_refusal = b"NO Message contains invalid header"
                           answer every APPEND with this (after its
                           literal); fs.refused lists (mailbox, bytes)
    fs.refusals = {"UID STORE": "NO [CANNOT] not now"}
                           answer every such command with this, doing
                           nothing (the command word as in fs.commands)
    fs.drop_at = {"UID EXPUNGE": "after"}
                           when such a command arrives, close the
                           connection without an answer: "before" doing
                           it, or "after" (done, the answer never sent)
    fs.before_cmd = {"UID STORE": lambda: fs.expunge("INBOX", 2)}
                           run the function once, when such a command
                           next arrives, before doing it (another
                           client's change landing at that moment)
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
    fs.search_weak         SEARCH knows no CHARSET ([BADCHARSET]) and no key
                           but ALL, UID, HEADER, DELETED, UNDELETED (BAD)
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

Files, one job each: this one holds the server object (FakeServer: knobs,
profiles, state helpers, transport), the connection (_Conn) and the
session (_Session: command loop, capabilities, the small commands,
NAMESPACE, LIST/LSUB, STATUS, SELECT/EXAMINE, CLOSE/UNSELECT, IDLE).
_Session inherits the other commands: fakeauth.py (STARTTLS, LOGIN,
AUTHENTICATE), fakefetch.py (FETCH, UID FETCH), fakewrite.py (APPEND, UID
STORE, CREATE/DELETE/RENAME, SUBSCRIBE, EXPUNGE, COPY/MOVE, ACL, SEARCH).
fakeimap.py holds what they share: Message, IMAP quoting and tokenising,
UID sets, mailbox UIDNEXT/MODSEQ bookkeeping. lieserver.py and
gmailserver.py subclass FakeServer and override its _session to serve a
_Session subclass. Import everything from here (fakeserver re-exports
Message, _imap_quote, _parse_set and _tokens).
"""

import re
import ssl
import threading

from fakeauth import _AuthCommands
from fakefetch import _FetchCommands
# lieserver.py, gmailserver.py and the tests import Message,
# _imap_quote, _parse_set and _tokens from here: keep them importable
from fakeimap import Message, _b, _children, _highestmodseq, \
    _imap_quote, _parse_set, _rename_boxes, _take_uid, _tokens, _touch, \
    _uidnext, _wild_rx  # noqa: F401
from fakewrite import _WriteCommands
from listener import Listener, close_all, shut


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


class FakeServer(Listener):
    def __init__(self, mode="imaps", cert=None, user="alice",
                 password="secret", greeting=None, caps=None,
                 caps_tls=None, caps_auth=None, starttls_extra=b"",
                 preauth=False, advertise_starttls=True, delim=b"/",
                 mailboxes=None, log=None, profile=None):
        assert mode in ("imaps", "starttls", "plain")
        super().__init__(backlog=32)
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
        # UID -> (BODYSTRUCTURE text, {section: bytes}): what a FETCH of
        # BODYSTRUCTURE and of BODY[section] answers (the parts view)
        self.structures = {}
        self.commands = []
        self.events = []
        self._conn_no = 0
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
        # this many SELECT/EXAMINEs are answered NO [ALREADYEXISTS], as
        # Dovecot now and then answers the SELECT that creates INBOX
        # while another client's session creates it too
        self.select_alreadyexists = 0
        # this many CREATEs create the mailbox and answer NO
        # [ALREADYEXISTS] (seen from Dovecot, on a name no one else made)
        self.create_alreadyexists = 0
        # this many STATUS answers carry UIDVALIDITY 0, as Dovecot answers
        # for a mailbox just created while another client opens it
        self.status_uidvalidity0 = 0
        # this many DELETEs answer OK but keep the mailbox, \Noselect, as
        # Dovecot does when another session opens it at that moment
        self.delete_keeps = 0
        # and then refuse to delete that leftover ("Mailbox has children")
        self.leftover_stuck = False
        # a weak server's SEARCH: any CHARSET is NO [BADCHARSET (US-ASCII)]
        # (RFC 3501 requires only US-ASCII), and a key beyond ALL, UID,
        # HEADER, DELETED and UNDELETED is BAD
        self.search_weak = False
        # command -> tagged reply instead of doing it; command ->
        # "before" / "after": close the connection when it arrives
        self.refusals = {}
        self.drop_at = {}
        # command -> a function run once when it next arrives, before it
        # is done: another client's change that lands right then
        self.before_cmd = {}
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
    def stop(self):
        self._stop_listening()
        with self._lock:
            conns = list(self._conns)
        close_all(conns)

    def drop_connections(self):
        """Cut every open connection (the listener stays): the client
        must reconnect for its next command. -> the number of the last
        connection accepted before the cut: those numbered above it are
        new."""
        with self._lock:
            # under the lock: _serve_then_forget closes them under it
            for c in self._conns:
                shut(c)
            self._conns = []
            return self._conn_no

    def take_lie(self, counter):
        """Count down the lie counter named COUNTER (e.g.
        "select_alreadyexists"): True when this command is to get it."""
        with self._lock:
            n = getattr(self, counter)
            if n > 0:
                setattr(self, counter, n - 1)
            return n > 0

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

    def _accepted(self, c):
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


class _Session(_AuthCommands, _FetchCommands, _WriteCommands):
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
            with srv._lock:
                hook = srv.before_cmd.pop(cmd, None)
            if hook is not None:
                hook()
            if cmd in srv.refusals:
                self.send("%s %s\r\n" % (tag, srv.refusals[cmd]))
                continue
            drop = srv.drop_at.get(cmd)
            if drop is not None:
                srv._event(("dropped", self.no, cmd, drop))
                if drop == "after":
                    self.send = lambda s: None
                    handler(tag, rest)
                return
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
        if b"UIDVALIDITY" in items and \
                self.srv.take_lie("status_uidvalidity0"):
            vals["UIDVALIDITY"] = 0
        body = " ".join("%s %d" % (i.decode(), vals[i.decode()])
                        for i in items if i.decode() in vals)
        self.send(b"* STATUS " + _imap_quote(toks[0]) +
                  (" (%s)\r\n%s OK status\r\n" % (body, tag)).encode())

    def _select(self, tag, rest, ro):
        if not self._need_auth(tag):
            return
        toks = _tokens(rest)
        if self.srv.take_lie("select_alreadyexists"):
            self.selected = None
            self.state = "auth"
            self.send("%s NO [ALREADYEXISTS] Mailbox already exists\r\n" % tag)
            return
        mb = self._mailbox(toks[0]) if toks else None
        if mb is None or "\\Noselect" in mb["attrs"]:
            self.selected = None
            self.state = "auth"
            self.send("%s NO no such mailbox\r\n" % tag)
            return
        if mb.get("select_refusal"):
            # a mailbox LIST shows selectable that SELECT refuses (a
            # shared one without the read right)
            self.selected = None
            self.state = "auth"
            self.send(tag.encode() + b" " + mb["select_refusal"] + b"\r\n")
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

"""A FakeServer (fakeserver.py) that lies and misbehaves on request, for
tests/integration/test_lies.py. fakeserver.py itself is not changed: this
module subclasses its server and session.

    ls = LieServer("imaps", cert=..., password=..., mailboxes=...).start()

Knobs (attributes, may be changed while running; all off by default):

    ls.size_lie = {uid: claimed}   RFC822.SIZE claimed for UID
    ls.dup_uids = {uid}            the metadata FETCH lists UID twice
    ls.uid_zero = True             the metadata FETCH has a line with UID 0
    ls.alert = b"text"             an untagged OK [ALERT] text before the
                                   tagged reply to SELECT/EXAMINE
    ls.chatter = True              unsolicited untagged EXISTS / RECENT /
                                   FLAGS / OK lines between FETCH lines
    ls.body_fault = {uid: mode}    what a body FETCH of UID gets:
        "bye"          * BYE instead of any data, then the connection closes
        "bye-after"    the whole FETCH data, then * BYE instead of the
                       tagged OK, connection closed
        "bye-mid"      the start of the FETCH (literal announced, half of it
                       sent), then the connection closes
        "huge"         a literal of 999999999 bytes announced, a few bytes
                       sent, then the connection closes
        "garbage-lit"  a correct literal followed by garbage instead of ")"
    ls.fault_once = True           each body_fault fires once, then the
                                   UID is served normally
    ls.body_fetches                number of body FETCH commands seen
"""

import re

import fakeserver
from fakeserver import _parse_set, _tokens


class LieServer(fakeserver.FakeServer):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.size_lie = {}
        self.dup_uids = set()
        self.uid_zero = False
        self.alert = None
        self.chatter = False
        self.body_fault = {}
        self.fault_once = False
        self.body_fetches = 0
        self.faults_fired = []

    def _serve(self, raw, no):
        # FakeServer._serve with our session class
        conn = fakeserver._Conn(raw)
        try:
            raw.settimeout(120)
            if self.mode == "imaps":
                try:
                    conn.start_tls(self._server_ctx())
                except (fakeserver.ssl.SSLError, OSError) as e:
                    self._event(("tls-handshake-failed", no, str(e)))
                    return
            _LieSession(self, conn, no).run()
        except (OSError, fakeserver.ssl.SSLError, ValueError) as e:
            self._event(("error", no, repr(e)))
        finally:
            try:
                raw.close()
            except OSError:
                pass


CHATTER = (b"* 7 EXISTS\r\n* 1 RECENT\r\n"
           b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $X)\r\n"
           b"* OK [UNSEEN 1] chatter\r\n")


class _LieSession(fakeserver._Session):
    def _select(self, tag, rest, ro):
        alert = self.srv.alert
        if alert is not None and self._need_auth(tag):
            self.send(b"* OK [ALERT] " + alert + b"\r\n")
        return super()._select(tag, rest, ro)

    def _fetch(self, tag, rest, by_uid):
        srv = self.srv
        if self.state != "selected":
            self.send("%s BAD no mailbox selected\r\n" % tag)
            return
        msgs = self._mailbox(self.selected)["messages"]
        toks = _tokens(rest)
        setspec = toks[0].decode()
        items = toks[1].decode("latin-1").upper()
        maxv = max([m.uid for m in msgs] + [0]) if by_uid else len(msgs)
        want = _parse_set(setspec, maxv)
        is_body = "BODY[" in items or "BODY.PEEK[" in items
        if is_body:
            with srv._lock:
                srv.body_fetches += 1
        out = b""
        if srv.chatter:
            out += CHATTER
        if not is_body and srv.uid_zero:
            out += (b"* 1 FETCH (UID 0 FLAGS () INTERNALDATE \"01-Jan-2024 "
                    b"10:00:00 +0000\" RFC822.SIZE 10)\r\n")
        for seq, m in enumerate(msgs, 1):
            if (m.uid if by_uid else seq) not in want:
                continue
            parts = self._meta_parts(m, items,
                                     srv.size_lie.get(m.uid, len(m.body)))
            fault = srv.body_fault.get(m.uid) if is_body else None
            if fault and srv.fault_once:
                del srv.body_fault[m.uid]
            if fault:
                srv.faults_fired.append((m.uid, fault))
            for bm in re.finditer(r"BODY(?:\.PEEK)?\[\](?:<(\d+)\.(\d+)>)?",
                                  items):
                data = m.body
                name = b"BODY[]"
                if bm.group(1) is not None:
                    off, ln = int(bm.group(1)), int(bm.group(2))
                    data = data[off:off + ln]
                    name += b"<%d>" % off
                if fault == "bye":
                    self.send(out + b"* BYE going away now\r\n")
                    return "close"
                if fault == "bye-mid":
                    self.send(out + b"* %d FETCH (UID %d %s {%d}\r\n"
                              % (seq, m.uid, name, len(data)) +
                              data[:len(data) // 2])
                    return "close"
                if fault == "huge":
                    self.send(out + b"* %d FETCH (UID %d %s {999999999}\r\n"
                              % (seq, m.uid, name) + data[:100])
                    return "close"
                if fault == "garbage-lit":
                    self.send(out + b"* %d FETCH (UID %d %s {%d}\r\n"
                              % (seq, m.uid, name, len(data)) + data +
                              b" ]]((garbage \x01\x02\r\n" + tag.encode() +
                              b" OK fetch done\r\n")
                    return
                parts.append(name + b" {%d}\r\n" % len(data) + data)
            line = b"* %d FETCH (" % seq + b" ".join(parts) + b")\r\n"
            out += line
            if not is_body and m.uid in srv.dup_uids:
                out += line
            if srv.chatter:
                out += CHATTER
            if fault == "bye-after":
                self.send(out + b"* BYE going away after the data\r\n")
                return "close"
        self.send(out + tag.encode() + b" OK fetch done\r\n")

    # FakeServer's handlers drop _fetch's "close"
    def do_UID_FETCH(self, tag, rest):
        return self._fetch(tag, rest, True)

    def do_FETCH(self, tag, rest):
        return self._fetch(tag, rest, False)

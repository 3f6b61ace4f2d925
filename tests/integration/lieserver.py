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
        "text-literal-alert"  "* OK text {100}" then "* OK [ALERT]" with no
                       text (libetpan: strdup(NULL)), then the real reply
        "literal-2p32" a literal of 2^32 + 3 bytes with 3 bytes sent (libetpan
                       wraps the size to 3), then an empty [ALERT]
        "flood"        a literal of ls.flood_literal bytes (default
                       99999999999, which libetpan wraps to 1.2 GB), then
                       FLOOD_BYTES of filler as fast as the client takes
                       them, then the connection closes
    ls.uid_huge = True             the metadata FETCH also lists UIDs
                                   4294967298 and 18446744073709551623
                                   (libetpan wraps them onto 2 and 7)
    ls.fault_once = True           each body_fault fires once, then the
                                   UID is served normally
    ls.body_fetches                number of body FETCH commands seen
"""

import re

import fakeserver
from fakeserver import _parse_set, _tokens


FLOOD_BYTES = 256 << 20


class LieServer(fakeserver.FakeServer):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.uid_huge = False
        self.flood_literal = b"99999999999"
        self.size_lie = {}
        self.dup_uids = set()
        self.uid_zero = False
        self.alert = None
        self.chatter = False
        self.body_fault = {}
        self.fault_once = False
        self.body_fetches = 0
        self.faults_fired = []

    def _session(self, conn, no):
        return _LieSession(self, conn, no)


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
        if not is_body and srv.uid_huge:
            for n, big in ((1, 4294967298), (2, 18446744073709551623)):
                out += (b"* %d FETCH (UID %d FLAGS () INTERNALDATE \"01-Jan-2024 "
                        b"10:00:00 +0000\" RFC822.SIZE 777)\r\n" % (n, big))
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
                if fault == "text-literal-alert":
                    self.send(out + b"* OK text {100}\r\n* OK [ALERT]\r\n"
                              b"* %d FETCH (UID %d %s {%d}\r\n"
                              % (seq, m.uid, name, len(data)) + data +
                              b")\r\n" + tag.encode() + b" OK fetch done\r\n")
                    return
                if fault == "literal-2p32":
                    self.send(out + b"* %d FETCH (UID %d %s {4294967299}\r\n"
                              b"abc)\r\n* OK [ALERT]\r\n" % (seq, m.uid, name)
                              + tag.encode() + b" OK fetch done\r\n")
                    return
                if fault == "flood":
                    self.send(out + b"* %d FETCH (UID %d %s {%s}\r\n"
                              % (seq, m.uid, name, srv.flood_literal))
                    chunk = b"x" * (1 << 20)
                    try:
                        for _ in range(FLOOD_BYTES // len(chunk)):
                            self.send(chunk)
                    except (OSError, fakeserver.ssl.SSLError):
                        pass
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

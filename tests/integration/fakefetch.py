"""FETCH and UID FETCH for the scripted server's session (fakeserver.py
_Session inherits _FetchCommands): metadata items, BODY[] sections and
partial bodies, CONDSTORE's CHANGEDSINCE and MODSEQ, the broken answers
fs.garbage asks for, and the scripted MIME shapes of fs.structures
(BODYSTRUCTURE and numbered sections). Runs on the session's thread; uses the
session's send, caps, _mailbox and state.
"""

import re
import time

from fakeimap import _parse_set, _tokens


class _FetchCommands:
    def do_UID_FETCH(self, tag, rest):
        self._fetch(tag, rest, True)

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
            shape = self.srv.structures.get(m.uid)
            if "BODYSTRUCTURE" in items and shape is not None:
                parts.append(b"BODYSTRUCTURE " + shape[0])
            for bm in re.finditer(r"BODY(?:\.PEEK)?\[([^\]]*)\](?:<(\d+)"
                                  r"\.(\d+)>)?", items):
                section = bm.group(1)
                data = m.body
                if shape is not None and section in shape[1]:
                    data = shape[1][section]
                elif section == "HEADER":
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

"""The write path of the scripted server's session (fakeserver.py
_Session inherits _WriteCommands): APPEND, UID STORE, CREATE, DELETE,
RENAME, SUBSCRIBE/UNSUBSCRIBE, EXPUNGE, UID EXPUNGE, UID COPY / UID MOVE,
MYRIGHTS/GETACL, and SEARCH/UID SEARCH. Runs on the session's thread;
uses the session's send, caps, _need_auth, _mailbox and state, and the
server's knobs (append_refusal, refuse_selected, myrights).
"""

import re

from fakeimap import CRLF, Message, _children, _imap_quote, _parse_set, \
    _rename_boxes, _search_match, _take_uid, _tokens, _touch, _uidnext


def _search_keys(toks):
    """The key words of ANDed search criteria (their arguments skipped)."""
    args = {b"UID": 1, b"HEADER": 2}
    i, out = 0, []
    while i < len(toks):
        k = toks[i].upper()
        out.append(k)
        i += 1 + args.get(k, 0)
    return out


class _WriteCommands:
    def do_UID_SEARCH(self, tag, rest):
        toks = _tokens(rest)
        if self.srv.search_weak and toks and toks[0].upper() == b"CHARSET":
            self.send("%s NO [BADCHARSET (US-ASCII)] charset not supported\r\n" % tag)
            return
        known = (b"ALL", b"UID", b"HEADER", b"DELETED", b"UNDELETED")
        if self.srv.search_weak and any(
                t.upper() not in known for t in _search_keys(toks)):
            self.send("%s BAD Unknown search key\r\n" % tag)
            return
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

    def do_UID_STORE(self, tag, rest):
        """UID STORE set [+|-]FLAGS[.SILENT] (flags): flags as a list of
        strings, spelled as the client sent them; FETCH FLAGS answers
        unless .SILENT, with MODSEQ where CONDSTORE is offered (RFC 7162
        3.1.4: a client that selected with CONDSTORE gets it, as from
        Dovecot)."""
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
                modseq = " MODSEQ (%d)" % msg.modseq \
                    if "CONDSTORE" in self.caps() else ""
                out += "* %d FETCH (UID %d FLAGS (%s)%s)\r\n" % (
                    seq, msg.uid, " ".join(msg.flags), modseq)
        self.send("%s%s OK store done\r\n" % (out, tag))

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
        if srv.take_lie("create_alreadyexists"):
            # Dovecot, now and then: created, and answered so
            self.send("%s NO [ALREADYEXISTS] Mailbox already exists\r\n"
                      % tag)
            return
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
        if self.srv.leftover_stuck and \
                self.srv.mailboxes[name].get("leftover"):
            # Dovecot, for the index files another session left in it
            self.send("%s NO Mailbox has children, delete them first\r\n"
                      % tag)
            return
        if self.srv.take_lie("delete_keeps"):
            # what Dovecot does when another session opens the mailbox
            # as it deletes it: OK, and the name stays, \Noselect
            self.srv.mailboxes[name]["attrs"] = ["\\Noselect"]
            self.srv.mailboxes[name]["leftover"] = True
        else:
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

"""IMAP syntax and mailbox state for the scripted server (fakeserver.py)
and its subclasses (lieserver.py, gmailserver.py): quoting and tokenising
command arguments, UID sets, LIST wildcards, the Message class, the
UIDNEXT/MODSEQ bookkeeping of a mailbox dict, and the UID SEARCH criteria.
Plain functions on plain data: no sockets, no locks (the calling session
decides).
"""

import re

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

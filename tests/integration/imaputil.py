"""The independent IMAP client side of the tests (stdlib imaplib only).

- modified UTF-7 (RFC 3501 5.1.3) encode/decode, strict like src/mutf7.h
- the file-name escape of src/names.h, re-implemented from its comment so a
  test states the expected name independently of the C code
- a small parser for IMAP response data (atoms, quoted strings, literals,
  parenthesised lists) good enough for LIST, NAMESPACE, STATUS and FETCH
- helpers: connect, quote, list_all, status, fetch_meta, fetch_body
"""

import base64
import calendar
import imaplib
import re
import ssl
import time

# ---------------------------------------------------------------- mUTF-7


def mutf7_encode(s):
    """UTF-8 str -> modified UTF-7 str."""
    out = []
    buf = []

    def flush():
        if buf:
            b = "".join(buf).encode("utf-16-be")
            enc = base64.b64encode(b).decode("ascii").rstrip("=")
            out.append("&" + enc.replace("/", ",") + "-")
            del buf[:]

    for ch in s:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)


class Mutf7Error(ValueError):
    pass


def mutf7_decode(b):
    """bytes or str (modified UTF-7) -> str; raises Mutf7Error when invalid
    (same strictness as src/mutf7.h)."""
    if isinstance(b, str):
        b = b.encode("latin-1")
    out = []
    i = 0
    n = len(b)
    while i < n:
        c = b[i]
        if c < 0x20 or c > 0x7E:
            raise Mutf7Error("byte 0x%02x" % c)
        if c != 0x26:  # '&'
            out.append(chr(c))
            i += 1
            continue
        j = b.find(b"-", i + 1)
        if j < 0:
            raise Mutf7Error("unterminated &")
        run = b[i + 1:j]
        i = j + 1
        if not run:
            out.append("&")
            continue
        if not re.fullmatch(rb"[A-Za-z0-9+,]+", run):
            raise Mutf7Error("bad base64")
        bits = len(run) * 6
        if (bits % 16) >= 6:
            raise Mutf7Error("bad length")
        std = run.replace(b",", b"/")
        raw = base64.b64decode(std + b"=" * (-len(std) % 4))
        # non-zero padding bits
        reenc = base64.b64encode(raw).rstrip(b"=")
        if reenc != std:
            raise Mutf7Error("non-zero padding")
        if len(raw) % 2:
            raise Mutf7Error("odd byte count")
        try:
            text = raw.decode("utf-16-be")
        except UnicodeDecodeError:
            raise Mutf7Error("bad surrogates")
        for ch in text:
            if 0x20 <= ord(ch) <= 0x7E:
                raise Mutf7Error("encoded printable ASCII")
            if ord(ch) == 0:
                raise Mutf7Error("encoded NUL")
        out.append(text)
    return "".join(out)


# ---------------------------------------------------------------- names.h


# a '%' names.h writes as %25: before two upper-case hex digits or '~'
_PCT_ESCAPED = re.compile(rb"%(?:[0-9A-F]{2}|~)")


def names_to_fs(component):
    """One server name component (bytes, as the server sent it) -> the file
    name imapfs must show (str), per src/names.h."""
    if isinstance(component, str):
        component = component.encode("latin-1")
    try:
        s = mutf7_decode(component)
    except Mutf7Error:
        out = []
        for i, c in enumerate(component):
            if c == 0x25 and not _PCT_ESCAPED.match(component, i):
                out.append("%")
            elif 0x20 <= c <= 0x7E and chr(c) not in "%/&":
                out.append(chr(c))
            else:
                out.append("%%%02X" % c)
        return "".join(out)
    if s == "":
        return "%00"
    if s == ".":
        return "%2E"
    if s == "..":
        return "%2E%2E"
    # a '%' is itself unless it would read as an escape or a %~ tag
    s = re.sub("%(?=[0-9A-F]{2}|~)", "%25", s).replace("/", "%2F")
    # names the mount makes itself (N.eml, .search): the '.' is escaped
    if re.fullmatch(r"[0-9]+\.eml|\.search", s):
        s = s.replace(".", "%2E")
    return s


def fs_path(name, delim):
    """Full server mailbox name (bytes) -> path relative to the mount root
    (str, '/'-separated)."""
    if isinstance(name, str):
        name = name.encode("latin-1")
    if delim is None:
        parts = [name]
    else:
        parts = name.split(delim.encode("latin-1"))
    return "/".join(names_to_fs(p) for p in parts)


# ---------------------------------------------------------------- parser


class Atom(str):
    """An IMAP atom (unquoted)."""


def parse(data):
    """Parse one imaplib response item into a list of tokens. DATA is bytes
    or a list mixing bytes and (bytes, literal) tuples as imaplib returns
    for one response. Strings come back as bytes, atoms as Atom (str),
    NIL as None, lists as Python lists."""
    if isinstance(data, tuple):
        data = [data]
    if isinstance(data, (bytes, bytearray)):
        data = [bytes(data)]
    # Flatten to a byte string with literals replaced by markers.
    lits = []
    flat = b""
    for item in data:
        if isinstance(item, tuple):
            head, lit = item
            m = re.search(rb"\{(\d+)\+?\}$", head)
            if not m:
                raise ValueError("literal header without {n}: %r" % head)
            flat += head[:m.start()] + b"\x00L%d\x00" % len(lits)
            lits.append(lit)
        else:
            flat += item
    pos = [0]

    def skip_ws():
        while pos[0] < len(flat) and flat[pos[0]:pos[0] + 1] == b" ":
            pos[0] += 1

    def token():
        skip_ws()
        p = pos[0]
        c = flat[p:p + 1]
        if c == b"(":
            pos[0] += 1
            lst = []
            while True:
                skip_ws()
                if pos[0] >= len(flat):
                    raise ValueError("unterminated list in %r" % flat)
                if flat[pos[0]:pos[0] + 1] == b")":
                    pos[0] += 1
                    return lst
                lst.append(token())
        if c == b'"':
            p += 1
            out = bytearray()
            while True:
                ch = flat[p:p + 1]
                if ch == b"":
                    raise ValueError("unterminated string")
                if ch == b"\\":
                    out += flat[p + 1:p + 2]
                    p += 2
                    continue
                if ch == b'"':
                    pos[0] = p + 1
                    return bytes(out)
                out += ch
                p += 1
        if c == b"\x00":
            e = flat.index(b"\x00", p + 1)
            idx = int(flat[p + 2:e])
            pos[0] = e + 1
            return lits[idx]
        # atom, possibly with [..] section and <..> partial (BODY[]<0>)
        m = re.compile(rb"[^ ()\x00\"]+(\[[^\]]*\])?(<[0-9.]+>)?").match(
            flat, p)
        if not m:
            raise ValueError("cannot parse at %r" % flat[p:p + 40])
        pos[0] = m.end()
        a = m.group(0).decode("latin-1")
        if a.upper() == "NIL":
            return None
        return Atom(a)

    toks = []
    while True:
        skip_ws()
        if pos[0] >= len(flat):
            return toks
        toks.append(token())


def group_fetch(data):
    """imaplib FETCH data (a flat list where a response with literals is a
    run of tuples followed by b')') -> list of per-message item lists."""
    out = []
    cur = []
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):
            cur.append(item)
            continue
        if cur:
            cur.append(item)
            out.append(cur)
            cur = []
        else:
            out.append([item])
    if cur:
        out.append(cur)
    return out


def fetch_items(data):
    """FETCH response data -> list of dicts (upper-case item name -> value)."""
    res = []
    for grp in group_fetch(data):
        toks = parse(grp)
        # toks: [seq, [NAME, value, NAME, value, ...]]
        if len(toks) < 2 or not isinstance(toks[1], list):
            raise ValueError("unexpected FETCH response %r" % grp)
        lst = toks[1]
        d = {}
        for k in range(0, len(lst) - 1, 2):
            d[str(lst[k]).upper()] = lst[k + 1]
        res.append(d)
    return res


# ---------------------------------------------------------------- client


def quote(s):
    """A quoted IMAP string for a mailbox name (str or bytes)."""
    if isinstance(s, bytes):
        s = s.decode("latin-1")
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def connect(server, user=None, password=None, port=None):
    """An IMAP4_SSL client logged in to SERVER (a dovecot.Dovecot)."""
    ctx = ssl.create_default_context(cafile=server.cafile)
    c = imaplib.IMAP4_SSL("127.0.0.1", port or server.imaps_port,
                          ssl_context=ctx, timeout=60)
    c.login(user or server.user, password or server.password)
    return c


def check(resp, what=""):
    typ, dat = resp
    if typ != "OK":
        raise imaplib.IMAP4.error("%s failed: %s %r" % (what, typ, dat))
    return dat


def _b(x):
    """A string-ish token (atom or string) as bytes."""
    if x is None:
        return None
    if isinstance(x, str):
        return x.encode("latin-1")
    return x


def _s(x):
    """A string-ish token as str (latin-1, for delimiters)."""
    if x is None:
        return None
    if isinstance(x, bytes):
        return x.decode("latin-1")
    return str(x)


def namespaces(c):
    """-> list of (prefix bytes, delimiter str or None) over all three
    namespace kinds."""
    typ, dat = c._simple_command("NAMESPACE")
    check((typ, dat), "NAMESPACE")
    typ, dat = c._untagged_response(typ, dat, "NAMESPACE")
    toks = parse(dat[0])
    out = []
    for kind in toks:
        if kind is None:
            continue
        for ns in kind:
            out.append((_b(ns[0]), _s(ns[1])))
    return out


def list_mailboxes(c, ref="", pattern="*"):
    """-> list of (attrs list of str, delim str or None, name bytes)."""
    typ, dat = c._simple_command("LIST", quote(ref), quote(pattern))
    check((typ, dat), "LIST")
    typ, dat = c._untagged_response(typ, dat, "LIST")
    out = []
    # imaplib splits literals into tuples; group them like FETCH data.
    for grp in group_fetch(dat):
        toks = parse(grp)
        if not toks:
            continue
        attrs = [str(a) for a in toks[0]]
        out.append((attrs, _s(toks[1]), _b(toks[2])))
    return out


def list_all(c):
    """LIST over every namespace: dict name(bytes) -> (attrs, delim)."""
    res = {}
    for prefix, delim in namespaces(c):
        for attrs, d, name in list_mailboxes(c, "", prefix.decode("latin-1")
                                             + "*"):
            res[name] = (attrs, d)
        # The prefix itself (e.g. "Public") when the server lists it.
        if prefix and delim and prefix.endswith(delim.encode()):
            for attrs, d, name in list_mailboxes(
                    c, "", prefix[:-1].decode("latin-1")):
                res.setdefault(name, (attrs, d))
    return res


def list_special_use(c):
    """LIST (SPECIAL-USE) "" "*": dict name -> attrs."""
    typ, dat = c._simple_command("LIST", "(SPECIAL-USE)", '""', '"*"')
    check((typ, dat), "LIST SPECIAL-USE")
    typ, dat = c._untagged_response(typ, dat, "LIST")
    out = {}
    for grp in group_fetch(dat):
        toks = parse(grp)
        if toks:
            out[_b(toks[2])] = [str(a) for a in toks[0]]
    return out


def status(c, name, items=("MESSAGES", "UNSEEN", "UIDNEXT", "UIDVALIDITY",
                           "HIGHESTMODSEQ")):
    typ, dat = c._simple_command("STATUS", quote(name),
                                 "(" + " ".join(items) + ")")
    check((typ, dat), "STATUS")
    typ, dat = c._untagged_response(typ, dat, "STATUS")
    for grp in group_fetch(dat):
        toks = parse(grp)
        lst = toks[1]
        return {str(lst[k]).upper(): int(lst[k + 1])
                for k in range(0, len(lst) - 1, 2)}
    raise imaplib.IMAP4.error("no STATUS data for %r" % name)


def append(c, name, flags, date, body):
    """APPEND BODY verbatim (imaplib's own append() rewrites bare LF to
    CRLF). FLAGS is a list, DATE a quoted date-time string or None."""
    c.literal = body
    args = [quote(name), "(%s)" % " ".join(flags)]
    if date:
        args.append(date)
    return c._simple_command("APPEND", *args)


def examine(c, name):
    return check(c.select(quote(name), readonly=True), "EXAMINE %r" % name)


def fetch_meta(c, name):
    """EXAMINE NAME; -> dict uid -> {'FLAGS': [..], 'INTERNALDATE': bytes,
    'RFC822.SIZE': int, 'MODSEQ': int}."""
    examine(c, name)
    typ, dat = c.uid("FETCH", "1:*",
                     "(UID FLAGS INTERNALDATE RFC822.SIZE MODSEQ)")
    check((typ, dat), "FETCH")
    out = {}
    for d in fetch_items(dat):
        uid = int(d["UID"])
        out[uid] = {"FLAGS": [str(f) for f in d.get("FLAGS", [])],
                    "INTERNALDATE": d.get("INTERNALDATE"),
                    "RFC822.SIZE": int(d.get("RFC822.SIZE", -1)),
                    "MODSEQ": int(d["MODSEQ"][0]) if d.get("MODSEQ") else None}
    return out


def fetch_body(c, uid):
    """BODY.PEEK[] of UID in the selected mailbox -> bytes."""
    typ, dat = c.uid("FETCH", str(uid), "(BODY.PEEK[])")
    check((typ, dat), "FETCH BODY")
    for d in fetch_items(dat):
        if int(d.get("UID", uid)) == uid:
            for k, v in d.items():
                if k.startswith("BODY["):
                    return v if v is not None else b""
    raise imaplib.IMAP4.error("no BODY[] for uid %d" % uid)


_MONTHS = {m: i for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
     "Nov", "Dec"], 1)}


def internaldate_epoch(s):
    """'01-Jan-2024 10:00:00 +0000' (bytes or str) -> epoch seconds."""
    if isinstance(s, bytes):
        s = s.decode("ascii")
    m = re.fullmatch(r"\s*(\d{1,2})-(\w{3})-(\d{4}) (\d\d):(\d\d):(\d\d) "
                     r"([+-])(\d\d)(\d\d)", s)
    if not m:
        raise ValueError("bad INTERNALDATE %r" % s)
    day, mon, year, hh, mm, ss, sign, zh, zm = m.groups()
    t = calendar.timegm((int(year), _MONTHS[mon], int(day), int(hh), int(mm),
                         int(ss), 0, 0, 0))
    off = (int(zh) * 3600 + int(zm) * 60) * (1 if sign == "+" else -1)
    return t - off


def internaldate_str(epoch, tz_minutes=0):
    """epoch -> '"DD-Mon-YYYY HH:MM:SS +ZZZZ"' (quoted, for APPEND)."""
    t = time.gmtime(epoch + tz_minutes * 60)
    sign = "+" if tz_minutes >= 0 else "-"
    a = abs(tz_minutes)
    return '"%02d-%s-%04d %02d:%02d:%02d %s%02d%02d"' % (
        t.tm_mday, list(_MONTHS)[t.tm_mon - 1], t.tm_year, t.tm_hour,
        t.tm_min, t.tm_sec, sign, a // 60, a % 60)


# ---------------------------------------------------------------- tree


def expected_tree(c):
    """What the mount must show, from LIST over every NAMESPACE.
    -> dict relpath -> {"name": server name bytes or None (implied parent),
    "attrs": [..], "delim": str, "selectable": bool}."""
    tree = {}
    for name, (attrs, delim) in list_all(c).items():
        rel = fs_path(name, delim)
        low = [a.lower() for a in attrs]
        tree[rel] = {"name": name, "attrs": attrs, "delim": delim,
                     "selectable": not ("\\noselect" in low or
                                        "\\nonexistent" in low)}
    # Parents the server did not list (and namespace prefixes) are plain
    # directories.
    for rel in list(tree):
        parts = rel.split("/")
        for i in range(1, len(parts)):
            p = "/".join(parts[:i])
            tree.setdefault(p, {"name": None, "attrs": [], "delim": None,
                                "selectable": False})
    for prefix, delim in namespaces(c):
        if prefix and delim and prefix.endswith(delim.encode("latin-1")):
            p = fs_path(prefix[:-len(delim)], delim)
            tree.setdefault(p, {"name": None, "attrs": [], "delim": delim,
                                "selectable": False})
    return tree


# ---------------------------------------------------------------- write tests


def personal_name(server, *parts):
    """UTF-8 components under the personal namespace -> the server's
    mailbox name (modified UTF-7, the server's delimiter and prefix)."""
    if parts == ("INBOX",):
        return "INBOX"
    return server.personal_prefix + server.delimiter.join(
        mutf7_encode(p) for p in parts)


def personal_rel(server, *parts):
    """The same mailbox as a path relative to the mount root (UTF-8)."""
    if parts == ("INBOX",):
        return "INBOX"
    root = "" if server.layout == "slash" else "INBOX/"
    return root + "/".join(parts)


def create(c, name):
    typ, dat = c.create(quote(name))
    # Dovecot (Maildir++ with listescape) now and then answers a CREATE that
    # races with another session's LIST with NO [ALREADYEXISTS] although it
    # did create the mailbox; accept that only when LIST then shows it.
    if typ == "NO" and b"ALREADYEXISTS" in b" ".join(
            d for d in dat if isinstance(d, bytes)):
        if name.encode() in mailbox_names(c):
            return typ, dat
    return check((typ, dat), "CREATE %r" % name)


def uids(c, name):
    """EXAMINE NAME; -> sorted list of UIDs."""
    examine(c, name)
    dat = check(c.uid("SEARCH", "ALL"), "UID SEARCH")
    return sorted(int(x) for x in dat[0].split())


def append_uid(c, name, body, flags=(), date=None):
    """APPEND BODY verbatim -> its UID (from APPENDUID)."""
    typ, dat = append(c, name, list(flags), date, body)
    check((typ, dat), "APPEND %r" % name)
    m = re.search(rb"APPENDUID \d+ (\d+)", dat[-1] or b"")
    if not m:
        raise imaplib.IMAP4.error("no APPENDUID in %r" % dat)
    return int(m.group(1))


def flags_of(c, name, uid):
    """Flags of UID in NAME (\\Recent left out) as a set of str."""
    meta = fetch_meta(c, name)
    return {f for f in meta[uid]["FLAGS"] if f.lower() != "\\recent"}


def bodies(c, name):
    """EXAMINE NAME; -> dict uid -> BODY[] bytes."""
    out = {}
    for uid in uids(c, name):
        out[uid] = fetch_body(c, uid)
    return out


def mailbox_names(c, pattern="*"):
    """LIST "" PATTERN -> dict name (bytes) -> attrs (list of str)."""
    return {name: attrs for attrs, d, name in list_mailboxes(c, "", pattern)}


def lsub(c, pattern="*"):
    """LSUB "" PATTERN -> set of names (bytes)."""
    typ, dat = c._simple_command("LSUB", '""', quote(pattern))
    check((typ, dat), "LSUB")
    typ, dat = c._untagged_response(typ, dat, "LSUB")
    out = set()
    for grp in group_fetch(dat):
        toks = parse(grp)
        if toks:
            out.add(_b(toks[2]))
    return out


def store_flags(c, name, uid, op, flags):
    """SELECT NAME and UID STORE UID OP (FLAGS)."""
    check(c.select(quote(name)), "SELECT %r" % name)
    return check(c.uid("STORE", str(uid), op, "(%s)" % " ".join(flags)),
                 "STORE")

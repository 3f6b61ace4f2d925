"""Names the mount makes itself, names too long for the kernel, and server
names that would meet in one path (src/names.h, imapfs.1 "Names and
escapes").

A mailbox named like a message file (INBOX/7.eml beside message 7) is
shown with its '.' escaped (7%2Eeml), so both are listed once and both can
be reached; a name over 255 bytes is shown cut with a %~HASH tag instead of
making readdir of its parent fail; "Foo" and "Foo/", "." and ".." stay
apart. Dovecot holds the first case; the others need the fake server
(Dovecot refuses such names).
"""

import ctypes
import os
import re
import subprocess

import pytest

import imaputil
from fakeserver import FakeServer, Message
from mountutil import local_url

BODY = b"From: x@example.org\r\nSubject: %s\r\n\r\nbody of %s\r\n"


def _body(tag):
    return BODY % (tag.encode(), tag.encode())


def _find_ok(root):
    r = subprocess.run(["find", root], capture_output=True, timeout=120)
    assert r.returncode == 0, "find %s failed: %s" % (root, r.stderr[-2000:])
    return r.stdout.decode("utf-8", "replace").splitlines()


def test_mailbox_named_like_a_message(fresh_servers, mount, imap):
    """INBOX/7.eml (a mailbox) beside message 7, and a \\Noselect
    INBOX/2.eml: each name is listed once, the messages open as files and
    the mailboxes as directories."""
    server = fresh_servers("slash")
    c = imap(server)
    uids = [imaputil.append_uid(c, "INBOX", _body("m%d" % i)) for i in range(1, 8)]
    assert 7 in uids and 2 in uids, uids
    imaputil.create(c, "INBOX/7.eml")
    inner = imaputil.append_uid(c, "INBOX/7.eml", _body("inside"))
    # only a child: INBOX/2.eml is a parent without a mailbox of its own
    imaputil.create(c, "INBOX/2.eml/child")

    m = mount(server)
    inbox = os.path.join(m.path, "INBOX")
    names = os.listdir(inbox)
    for n in ("7.eml", "2.eml", "7%2Eeml", "2%2Eeml"):
        assert names.count(n) == 1, "%s listed %d times in %r" % (
            n, names.count(n), sorted(names))
    with open(os.path.join(inbox, "7.eml"), "rb") as f:
        assert f.read() == _body("m7")
    with open(os.path.join(inbox, "2.eml"), "rb") as f:
        assert f.read() == _body("m2")
    assert os.listdir(os.path.join(inbox, "7%2Eeml")) == ["%d.eml" % inner]
    with open(os.path.join(inbox, "7%2Eeml", "%d.eml" % inner), "rb") as f:
        assert f.read() == _body("inside")
    assert os.path.isdir(os.path.join(inbox, "2%2Eeml", "child"))
    listed = _find_ok(m.path)
    assert os.path.join(inbox, "7%2Eeml", "%d.eml" % inner) in listed

    # mkdir of the reserved spelling is refused; the escaped one works
    with pytest.raises(OSError) as ei:
        os.mkdir(os.path.join(m.path, "Archive", "9.eml"))
    assert ei.value.errno == 22  # EINVAL
    os.mkdir(os.path.join(m.path, "Archive", "9%2Eeml"))
    assert b"Archive/9.eml" in imaputil.mailbox_names(c)


def test_long_utf8_name_on_dovecot(fresh_servers, mount, imap):
    """90 CJK characters are 242 bytes of modified UTF-7 (Dovecot keeps
    them) but 270 bytes of UTF-8 (more than a file name may have): shown
    cut with a %~HASH tag, reachable, and find over the mount succeeds."""
    server = fresh_servers("slash")
    c = imap(server)
    logical = "\u65e5" * 90
    name = imaputil.mutf7_encode(logical)
    assert len(name) <= 255 < len(logical.encode())
    imaputil.create(c, name)
    uid = imaputil.append_uid(c, name, _body("cjk"))
    m = mount(server)
    names = os.listdir(m.path)
    assert all(len(n.encode()) <= 255 for n in names), names
    tagged = [n for n in names if n.startswith("\u65e5")]
    assert len(tagged) == 1 and re.search(r"%~[0-9A-F]{8}$", tagged[0]), names
    assert {"INBOX", "Archive", "Sent", "Trash"} <= set(names), names
    with open(os.path.join(m.path, tagged[0], "%d.eml" % uid), "rb") as f:
        assert f.read() == _body("cjk")
    _find_ok(m.path)


def _xattr_size(path, name):
    """getxattr(PATH, NAME, NULL, 0): the size query."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.getxattr.restype = ctypes.c_ssize_t
    libc.getxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                              ctypes.c_void_p, ctypes.c_size_t]
    n = libc.getxattr(path.encode(), name.encode(), None, 0)
    assert n >= 0, os.strerror(ctypes.get_errno())
    return n


def _fake(pki, mailboxes, delim=b"/"):
    fs = FakeServer("imaps", cert=pki.leaf("fake-names"), mailboxes=mailboxes,
                    delim=delim)
    fs.start()
    return fs


def _mount_fake(mount, pki, fs):
    return mount(url=local_url("alice", fs.port),
                 cafile=pki.cafile, password="secret")


def test_long_name_does_not_hide_siblings(pki, mount):
    """A 5000-byte mailbox name is shown cut to 255 bytes with a %~HASH tag;
    its siblings (before and after it) are all listed and find succeeds."""
    long_name = b"L" * 5000
    long_utf8 = "\u65e5\u672c".encode() * 200     # 1200 bytes, sent raw
    mbs = {
        b"INBOX": {"attrs": [], "messages": [Message(1, _body("inbox"))]},
        b"Alpha": {"attrs": [], "messages": []},
        long_name: {"attrs": [], "messages": [Message(5, _body("long"))]},
        long_utf8: {"attrs": [], "messages": []},
        b"Zulu": {"attrs": [], "messages": [Message(3, _body("zulu"))]},
    }
    fs = _fake(pki, mbs)
    try:
        m = _mount_fake(mount, pki, fs)
        names = os.listdir(m.path)
        assert {"INBOX", "Alpha", "Zulu"} <= set(names), names
        assert len(names) == 5, names
        assert all(len(n.encode()) <= 255 for n in names), [len(n) for n in names]
        tagged = [n for n in names if n.startswith("LLLL")]
        assert len(tagged) == 1 and "%~" in tagged[0], names
        # the shortened name leads to the server's mailbox
        p = os.path.join(m.path, tagged[0])
        assert os.listdir(p) == ["5.eml"]
        with open(os.path.join(p, "5.eml"), "rb") as f:
            assert f.read() == _body("long")
        selects = [cmd for (_, _, name, cmd) in fs.commands
                   if name in ("SELECT", "EXAMINE")]
        assert any(long_name in cmd for cmd in selects)
        _find_ok(m.path)
        # the same name is shown the same way on the next mount
        m2 = _mount_fake(mount, pki, fs)
        assert tagged[0] in os.listdir(m2.path)
        assert "is shown as" in m.log()
    finally:
        fs.stop()


def test_trailing_delimiter_and_dots_stay_apart(pki, mount):
    """"Foo" and "Foo/" are two mailboxes and two paths; each one's
    message comes from its own SELECT."""
    mbs = {
        b"INBOX": {"attrs": [], "messages": []},
        b"Foo": {"attrs": [], "messages": [Message(1, _body("foo"))]},
        b"Foo/": {"attrs": [], "messages": [Message(2, _body("foo-slash"))]},
    }
    fs = _fake(pki, mbs)
    try:
        m = _mount_fake(mount, pki, fs)
        foo = os.path.join(m.path, "Foo")
        assert sorted(os.listdir(foo)) == ["%00", "1.eml"]
        assert os.listdir(os.path.join(foo, "%00")) == ["2.eml"]
        with open(os.path.join(foo, "%00", "2.eml"), "rb") as f:
            assert f.read() == _body("foo-slash")
        with open(os.path.join(foo, "1.eml"), "rb") as f:
            assert f.read() == _body("foo")
    finally:
        fs.stop()

    mbs = {
        b"INBOX": {"attrs": [], "messages": []},
        b".": {"attrs": [], "messages": [Message(1, _body("dot"))]},
        b"..": {"attrs": [], "messages": [Message(2, _body("dotdot"))]},
    }
    fs = _fake(pki, mbs, delim=b".")
    try:
        m = _mount_fake(mount, pki, fs)
        one = os.path.join(m.path, "%00", "%00")
        two = os.path.join(one, "%00")
        with open(os.path.join(one, "1.eml"), "rb") as f:
            assert f.read() == _body("dot")
        with open(os.path.join(two, "2.eml"), "rb") as f:
            assert f.read() == _body("dotdot")
        assert "1.eml" not in os.listdir(two)
    finally:
        fs.stop()


def test_flags_xattr_round_trip(pki, mount):
    """What getxattr shows for user.imap.flags can be written back: a flag
    extension (\\Foo) the server shows, and 10,000 keywords, which are cut
    at the documented 64 KiB after a whole keyword (the size query agrees
    with the value)."""
    many = ["$k%05d" % i for i in range(10000)]
    msgs = [Message(1, _body("a"), ["\\Seen", "\\Foo", "$Label"]),
            Message(2, _body("b"), many),
            Message(3, _body("c"), ["Big" + "x" * 100000, "$after"])]
    mbs = {b"INBOX": {"attrs": [], "messages": msgs}}
    fs = _fake(pki, mbs)
    try:
        m = _mount_fake(mount, pki, fs)
        p1 = os.path.join(m.path, "INBOX", "1.eml")
        v = os.getxattr(p1, "user.imap.flags")
        assert sorted(v.split()) == sorted([b"\\Seen", b"\\Foo", b"$Label"]), v
        os.setxattr(p1, "user.imap.flags", v)
        assert sorted(msgs[0].flags) == sorted(["\\Seen", "\\Foo", "$Label"])
        # one the server shows nowhere in the mailbox is still refused
        with pytest.raises(OSError) as ei:
            os.setxattr(p1, "user.imap.flags", b"+\\Bogus")
        assert ei.value.errno == 22  # EINVAL
        os.setxattr(p1, "user.imap.flags", b"-\\Foo")
        assert "\\Foo" not in msgs[0].flags

        p2 = os.path.join(m.path, "INBOX", "2.eml")
        v = os.getxattr(p2, "user.imap.flags")
        assert 65536 - 7 <= len(v) <= 65536, len(v)
        assert _xattr_size(p2, "user.imap.flags") == len(v)
        toks = v.decode().split(" ")
        assert toks == many[:len(toks)], "cut inside a keyword: %r" % toks[-1]
        # it parses back (replacing with the shown part is accepted)
        os.setxattr(p2, "user.imap.flags", v)
        assert msgs[1].flags == toks

        p3 = os.path.join(m.path, "INBOX", "3.eml")
        assert os.getxattr(p3, "user.imap.flags") == b"$after"
    finally:
        fs.stop()


def test_impossible_internaldate(pki, mount):
    """A zone of +9999 (or 31 April) is refused like other garbage: the
    message shows no date (1970-01-01 +0000) and the log says why; a good
    date beside it is unaffected."""
    msgs = [Message(1, _body("bad"), internaldate="01-Jan-2024 10:00:00 +9999"),
            Message(2, _body("apr"), internaldate="31-Apr-2024 10:00:00 +0000"),
            Message(3, _body("ok"), internaldate="17-Jul-1996 02:44:25 -0700")]
    fs = _fake(pki, {b"INBOX": {"attrs": [], "messages": msgs}})
    try:
        m = _mount_fake(mount, pki, fs)
        d = os.path.join(m.path, "INBOX")
        for uid in (1, 2):
            p = os.path.join(d, "%d.eml" % uid)
            assert os.getxattr(p, "user.imap.internaldate") == \
                b"01-Jan-1970 00:00:00 +0000"
            assert os.stat(p).st_mtime == 0
        p = os.path.join(d, "3.eml")
        assert os.getxattr(p, "user.imap.internaldate") == \
            b"17-Jul-1996 02:44:25 -0700"
        assert os.stat(p).st_mtime == 837596665
        assert "impossible INTERNALDATE" in m.log()
    finally:
        fs.stop()


def test_nul_in_names_never_selects_another(pki, mount):
    """Names with a NUL byte (sent as literals) reach libetpan cut at the
    NUL: "nul<NUL>a", "nul<NUL>b" and the real "nul" cannot be told apart,
    so all three are left out (with a log line) and "nul" is never
    selected; the other mailboxes are shown as usual."""
    mbs = {
        b"INBOX": {"attrs": [], "messages": [Message(1, _body("inbox"))]},
        b"nul\x00a": {"attrs": [], "messages": [Message(1, _body("a"))]},
        b"nul\x00b": {"attrs": [], "messages": [Message(1, _body("b"))]},
        b"nul": {"attrs": [], "messages": [Message(1, _body("nul"))]},
        b"Other": {"attrs": [], "messages": [Message(2, _body("other"))]},
    }
    fs = _fake(pki, mbs)
    try:
        m = _mount_fake(mount, pki, fs)
        assert sorted(os.listdir(m.path)) == ["INBOX", "Other"]
        assert not os.path.exists(os.path.join(m.path, "nul"))
        with open(os.path.join(m.path, "Other", "2.eml"), "rb") as f:
            assert f.read() == _body("other")
        _find_ok(m.path)
        for (_, _, name, cmd) in fs.commands:
            if name in ("SELECT", "EXAMINE", "STATUS"):
                assert b"nul" not in cmd, cmd
        assert "NUL byte" in m.log()
    finally:
        fs.stop()

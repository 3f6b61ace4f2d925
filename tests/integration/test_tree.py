"""The directory tree under the mount is the server's mailbox hierarchy.

For both Dovecot layouts ("slash": delimiter '/', prefix ""; "dot":
delimiter '.', prefix "INBOX."): every LIST (+NAMESPACE) mailbox is a
directory at its path with the delimiter shown as '/', names decoded from
modified UTF-7, escaped per src/names.h; \\Noselect parents are directories
without messages; nothing else appears. Invalid modified UTF-7 is checked
against a fake server (Dovecot never sends it).
"""

import errno
import os

import pytest

import imaputil
from fakeserver import FakeServer, Message
from mountutil import local_url


def walk_mount(root):
    """-> (dirs, files): sets of paths relative to ROOT."""
    dirs, files = set(), set()
    for dirpath, dnames, fnames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for d in dnames:
            dirs.add(os.path.normpath(os.path.join(rel, d)))
        for f in fnames:
            files.add(os.path.normpath(os.path.join(rel, f)))
    return dirs, files


def uids(c, name):
    imaputil.examine(c, name)
    typ, dat = c.uid("SEARCH", "ALL")
    imaputil.check((typ, dat), "UID SEARCH")
    return sorted(int(x) for x in dat[0].split())


def test_tree_matches_list(server, mnt, imap):
    c = imap(server)
    tree = imaputil.expected_tree(c)
    dirs, files = walk_mount(mnt.path)
    assert dirs == set(tree), (
        "directories differ from the server's LIST hierarchy\n"
        "  only in mount:  %r\n  only on server: %r"
        % (sorted(dirs - set(tree)), sorted(set(tree) - dirs)))
    expected_files = set()
    for rel, info in tree.items():
        if info["selectable"]:
            for u in uids(c, info["name"]):
                expected_files.add(os.path.join(rel, "%d.eml" % u))
    assert files == expected_files, (
        "files differ\n  only in mount: %r\n  missing: %r"
        % (sorted(files - expected_files)[:20],
           sorted(expected_files - files)[:20]))


def _root(server):
    return "" if server.layout == "slash" else "INBOX/"


@pytest.mark.parametrize("logical,fsname", [
    ("Reçus", "Reçus"),
    ("日本語", "日本語"),
    ("Ünïcödé Folder", "Ünïcödé Folder"),
    ("Work Stuff", "Work Stuff"),
    ("Tom & Jerry", "Tom & Jerry"),
    ("100% Done", "100% Done"),
])
def test_decoded_names(server, mnt, logical, fsname):
    p = os.path.join(mnt.path, _root(server) + fsname)
    assert os.path.isdir(p), "%r (mailbox %r) not shown as %r; root has %r" % (
        p, logical, fsname, sorted(os.listdir(os.path.dirname(p))))


def test_delimiter_shown_as_slash(server, mnt):
    p = os.path.join(mnt.path, _root(server) + "Projects/2024/Q1")
    assert os.path.isdir(p)
    assert any(n.endswith(".eml") for n in os.listdir(p))


def test_noselect_parents_have_no_messages(server, mnt, imap):
    c = imap(server)
    allm = imaputil.list_all(c)
    pfx = server.personal_prefix
    for name in (pfx + "a", pfx + "a" + server.delimiter + "b"):
        attrs = [x.lower() for x in allm[name.encode()][0]]
        assert "\\noselect" in attrs or "\\nonexistent" in attrs, \
            "corpus assumption: %s should be \\Noselect, is %r" % (name, attrs)
    a = os.path.join(mnt.path, _root(server) + "a")
    assert os.path.isdir(a)
    assert sorted(os.listdir(a)) == ["b"]
    assert sorted(os.listdir(os.path.join(a, "b"))) == ["c"]
    cdir = os.path.join(a, "b", "c")
    assert [n for n in os.listdir(cdir) if n.endswith(".eml")], \
        "a/b/c holds a message"


def test_mailbox_with_messages_and_children(server, mnt):
    p = os.path.join(mnt.path, _root(server) + "Projects")
    names = os.listdir(p)
    assert "2024" in names and os.path.isdir(os.path.join(p, "2024"))
    assert [n for n in names if n.endswith(".eml")], names
    p2 = os.path.join(p, "2024")
    names2 = os.listdir(p2)
    assert "Q1" in names2 and [n for n in names2 if n.endswith(".eml")]


def test_empty_mailbox(server, mnt):
    p = os.path.join(mnt.path, _root(server) + "Empty")
    assert os.path.isdir(p)
    assert os.listdir(p) == []


def test_inbox_with_children_dot(server, mnt):
    if server.layout != "dot":
        pytest.skip("INBOX has children only in the dot layout "
                    "(personal prefix INBOX.)")
    p = os.path.join(mnt.path, "INBOX")
    names = os.listdir(p)
    assert "Projects" in names and [n for n in names if n.endswith(".eml")]


def test_public_namespace(server, mnt, imap):
    if server.public_prefix is None:
        pytest.skip("the dot configuration has no public namespace")
    c = imap(server)
    ns = imaputil.namespaces(c)
    assert (b"Public/", "/") in ns, ns
    p = os.path.join(mnt.path, "Public", "News")
    assert os.path.isdir(p)
    files = sorted(n for n in os.listdir(p) if n.endswith(".eml"))
    assert files == ["%d.eml" % u for u in uids(c, "Public/News")]


def test_shared_namespace(server, mnt, imap):
    if server.shared_prefix is None:
        pytest.skip("the dot configuration has no shared namespace")
    c = imap(server)
    assert (b"shared/", "/") in imaputil.namespaces(c)
    p = os.path.join(mnt.path, "shared", server.user2, "Project X")
    assert os.path.isdir(p), os.listdir(os.path.join(mnt.path, "shared"))
    assert os.listdir(p) == ["1.eml"]


def test_slash_in_name_escaped(server, mnt, imap):
    if server.layout != "dot":
        pytest.skip("'/' inside a name needs a delimiter other than '/'")
    c = imap(server)
    assert b"INBOX.a/b" in imaputil.list_all(c)
    inbox = os.listdir(os.path.join(mnt.path, "INBOX"))
    assert "a%2Fb" in inbox, inbox
    p = os.path.join(mnt.path, "INBOX", "a%2Fb")
    assert os.path.isdir(p)
    assert os.listdir(p) == ["1.eml"]
    # INBOX.a.b (a \Noselect parent of INBOX.a.b.c) is a different mailbox:
    # the message of "a/b" must not show up there.
    ab = os.listdir(os.path.join(mnt.path, "INBOX", "a", "b"))
    assert not [n for n in ab if n.endswith(".eml")], ab


def test_backslash_in_name(server, mnt):
    if server.layout != "dot":
        pytest.skip("backslash name is in the dot corpus only")
    p = os.path.join(mnt.path, "INBOX", "back\\slash")
    assert os.path.isdir(p), os.listdir(os.path.join(mnt.path, "INBOX"))
    assert os.listdir(p) == ["1.eml"]


def test_invalid_mutf7_dovecot(server, imap):
    c = imap(server)
    name = server.personal_prefix + "Bad&Name"
    typ, dat = c.create(imaputil.quote(name))
    if typ != "OK":
        pytest.skip("Dovecot refuses invalid modified UTF-7 (CREATE %r -> "
                    "%s %r), and lists such names on disk re-encoded, so it "
                    "can never send one; test_invalid_mutf7_fake covers it"
                    % (name, typ, dat))
    pytest.fail("Dovecot accepted an invalid mUTF-7 name; extend this test")


def test_invalid_mutf7_fake(pki, mount):
    """Names that are not valid modified UTF-7 are shown escaped, never
    dropped (src/names.h): raw printable ASCII stays except % / &, other
    bytes become %XX."""
    body = b"From: x@example.org\r\nSubject: s\r\n\r\nbody\r\n"
    mbs = {
        b"INBOX": {"attrs": ["\\HasNoChildren"], "messages": [
            Message(1, body)]},
        b"Bad&Name": {"attrs": ["\\HasNoChildren"], "messages": [
            Message(3, body)]},
        b"Tom &- Jerry": {"attrs": ["\\HasNoChildren"], "messages": []},
        b"Caf\xe9 8bit": {"attrs": ["\\HasNoChildren"], "messages": []},
        b"50%": {"attrs": ["\\HasNoChildren"], "messages": []},
        b"R&%41%": {"attrs": ["\\HasNoChildren"], "messages": []},
    }
    fs = FakeServer("imaps", cert=pki.leaf("fake-tree"), mailboxes=mbs)
    fs.start()
    try:
        m = mount(url=local_url("alice", fs.port),
                  cafile=pki.cafile, password="secret")
        names = sorted(os.listdir(m.path))
        want = sorted(["INBOX", "Bad%26Name", "Tom & Jerry", "Caf%E9 8bit",
                       "50%", "R%26%2541%"])
        assert names == want, "fake server LIST %r -> mount shows %r" % (
            sorted(mbs), names)
        assert os.listdir(os.path.join(m.path, "Bad%26Name")) == ["3.eml"]
        with open(os.path.join(m.path, "Bad%26Name", "3.eml"), "rb") as f:
            assert f.read() == body
    finally:
        fs.stop()


def test_nonexistent_names(server, mnt):
    for n in ("no-such-mailbox", "INBOX/no-such-child", "INBOX/999999.eml"):
        with pytest.raises(OSError) as ei:
            os.stat(os.path.join(mnt.path, n))
        assert ei.value.errno == errno.ENOENT

"""mv A/N.eml B/ = UID MOVE (or COPY + STORE + EXPUNGE): the message is in
B under a new UID, byte-identical with the same flags, and gone from A. The
file shows as NEWUID.eml; the target name is not listed but resolves to it
for a minute; a message in B that had the target's name is untouched. Renaming a message inside its mailbox
is refused with EPERM.
"""

import errno
import os
import subprocess

import pytest

import corpus
import imaputil
from imaputil import personal_name, personal_rel


_msg = corpus.tagged("move test", "mv", lambda tag: ["moving", tag])


def _box(c, s, name, msgs):
    """CREATE NAME, APPEND MSGS [(body, flags)] -> (sname, rel, [uids])."""
    sname = personal_name(s, name)
    imaputil.create(c, sname)
    uids = [imaputil.append_uid(c, sname, b, f) for b, f in msgs]
    return sname, personal_rel(s, name), uids


def _mv(src, dst):
    return subprocess.run(["mv", src, dst], capture_output=True, timeout=60)


def test_mv_message_to_other_mailbox(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    moving, staying, there = _msg("a1"), _msg("a2"), _msg("b1")
    flags = {"\\Seen", "\\Flagged", "$Label1"}
    a, arel, (a1, a2) = _box(c, s, "MvA", [(moving, sorted(flags)),
                                           (staying, [])])
    b, brel, (b1,) = _box(c, s, "MvB", [(there, ["\\Answered"])])
    m = mount(s)
    r = _mv(os.path.join(m.path, arel, "%d.eml" % a1),
            os.path.join(m.path, brel) + "/")
    assert r.returncode == 0, r.stderr
    # Server: gone from A, in B under a new UID, same bytes and flags.
    assert imaputil.uids(c, a) == [a2], "source still has %r" % \
        imaputil.uids(c, a)
    got = imaputil.bodies(c, b)
    new = [u for u in got if u != b1]
    assert len(new) == 1, "B has %r" % sorted(got)
    n = new[0]
    assert got[n] == moving, "moved message not byte-identical"
    assert got[b1] == there
    assert imaputil.flags_of(c, b, n) == flags
    assert imaputil.flags_of(c, b, b1) == {"\\Answered"}
    # Mount, immediately.
    assert sorted(os.listdir(os.path.join(m.path, arel))) == ["%d.eml" % a2]
    assert sorted(os.listdir(os.path.join(m.path, brel))) == sorted(
        ["%d.eml" % b1, "%d.eml" % n])
    with open(os.path.join(m.path, brel, "%d.eml" % n), "rb") as f:
        assert f.read() == moving


def test_mv_message_name_clash(fresh_server, mount, imap):
    """B already has 1.eml: mv A/1.eml B/ leaves it alone and adds the
    moved message under its new UID."""
    s = fresh_server
    c = imap(s)
    ours, theirs = _msg("clash-src"), _msg("clash-dst")
    a, arel, (a1,) = _box(c, s, "ClashA", [(ours, ["\\Seen"])])
    b, brel, (b1,) = _box(c, s, "ClashB", [(theirs, ["\\Flagged"])])
    assert a1 == b1 == 1, "fresh mailboxes start at UID 1"
    m = mount(s)
    r = _mv(os.path.join(m.path, arel, "1.eml"),
            os.path.join(m.path, brel) + "/")
    got = imaputil.bodies(c, b)
    assert got.get(1) == theirs, "B's own 1.eml was replaced or changed"
    assert imaputil.flags_of(c, b, 1) == {"\\Flagged"}
    new = [u for u in got if u != 1]
    assert len(new) == 1 and got[new[0]] == ours, \
        "moved message not in B (B has %r; mv stderr %r)" % (sorted(got),
                                                            r.stderr)
    assert imaputil.uids(c, a) == []
    assert r.returncode == 0, r.stderr
    listed = sorted(os.listdir(os.path.join(m.path, brel)))
    assert listed == sorted(["1.eml", "%d.eml" % new[0]]), listed
    with open(os.path.join(m.path, brel, "1.eml"), "rb") as f:
        assert f.read() == theirs
    assert os.listdir(os.path.join(m.path, arel)) == []


def test_mv_message_explicit_target_name(fresh_server, mount, imap):
    """os.rename(A/N.eml, B/whatever.eml): the name is not listed."""
    s = fresh_server
    c = imap(s)
    body = _msg("named")
    a, arel, (a1,) = _box(c, s, "NamedA", [(body, [])])
    b, brel, () = _box(c, s, "NamedB", [])
    m = mount(s)
    os.rename(os.path.join(m.path, arel, "%d.eml" % a1),
              os.path.join(m.path, brel, "whatever.eml"))
    got = imaputil.bodies(c, b)
    assert list(got.values()) == [body]
    assert imaputil.uids(c, a) == []
    assert sorted(os.listdir(os.path.join(m.path, brel))) == [
        "%d.eml" % u for u in got]
    # the name it was moved to means the moved message for a minute (mv
    # stats it), without being listed
    a_, b_ = (os.stat(os.path.join(m.path, brel, n)) for n in
              ("whatever.eml", "%d.eml" % list(got)[0]))
    assert (a_.st_ino, a_.st_size) == (b_.st_ino, b_.st_size), \
        "the target name does not resolve to the moved message"
    assert not os.path.exists(os.path.join(m.path, arel, "%d.eml" % a1))


def test_rename_within_mailbox_refused(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    body = _msg("stay")
    a, arel, (a1,) = _box(c, s, "NoRename", [(body, ["\\Seen"])])
    m = mount(s)
    d = os.path.join(m.path, arel)
    with pytest.raises(OSError) as ei:
        os.rename(os.path.join(d, "%d.eml" % a1), os.path.join(d, "x.eml"))
    assert ei.value.errno == errno.EPERM, ei.value
    assert imaputil.bodies(c, a) == {a1: body}
    assert imaputil.flags_of(c, a, a1) == {"\\Seen"}
    assert sorted(os.listdir(d)) == ["%d.eml" % a1]


def test_moved_message_is_addressable(fresh_server, mount, imap):
    """After mv, NEWUID.eml in B takes flags and rm against B's UID."""
    s = fresh_server
    c = imap(s)
    body = _msg("addressable")
    a, arel, (a1,) = _box(c, s, "AddrA", [(body, [])])
    b, brel, (b1,) = _box(c, s, "AddrB", [(_msg("addr-b"), [])])
    m = mount(s)
    os.rename(os.path.join(m.path, arel, "%d.eml" % a1),
              os.path.join(m.path, brel, "%d.eml" % a1))
    (n,) = [u for u in imaputil.uids(c, b) if u != b1]
    p = os.path.join(m.path, brel, "%d.eml" % n)
    with open(p, "rb") as f:
        assert f.read() == body
    os.setxattr(p, "user.imap.flags", b"\\Flagged")
    assert imaputil.flags_of(c, b, n) == {"\\Flagged"}
    assert imaputil.flags_of(c, b, b1) == set()
    os.unlink(p)
    assert imaputil.uids(c, b) == [b1]


def test_mv_message_into_non_ascii_mailbox(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    body = _msg("to-unicode")
    a, arel, (a1,) = _box(c, s, "ToUniA", [(body, ["\\Seen"])])
    b, brel, () = _box(c, s, "Ablage ✓", [])
    m = mount(s)
    r = _mv(os.path.join(m.path, arel, "%d.eml" % a1),
            os.path.join(m.path, brel) + "/")
    assert r.returncode == 0, r.stderr
    assert list(imaputil.bodies(c, b).values()) == [body]
    assert imaputil.uids(c, a) == []


def test_mv_message_without_uidplus(fresh_servers, mount, imap):
    """MOVE without COPYUID: the target still lists the message under the
    server's new UID."""
    s = fresh_servers("slash", drop_caps=("UIDPLUS",))
    c = imap(s)
    body = _msg("no-copyuid")
    a, arel, (a1,) = _box(c, s, "NcA", [(body, ["\\Flagged"])])
    b, brel, (b1,) = _box(c, s, "NcB", [(_msg("nc-b"), [])])
    m = mount(s)
    assert os.listdir(os.path.join(m.path, brel)) == ["%d.eml" % b1]
    r = _mv(os.path.join(m.path, arel, "%d.eml" % a1),
            os.path.join(m.path, brel) + "/")
    assert r.returncode == 0, r.stderr
    assert imaputil.uids(c, a) == []
    got = imaputil.bodies(c, b)
    (n,) = [u for u in got if u != b1]
    assert got[n] == body
    assert imaputil.flags_of(c, b, n) == {"\\Flagged"}
    assert sorted(os.listdir(os.path.join(m.path, brel))) == sorted(
        ["%d.eml" % b1, "%d.eml" % n])


def test_mv_message_to_noselect_refused(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    body = _msg("to-noselect")
    a, arel, (a1,) = _box(c, s, "NsSrc", [(body, [])])
    imaputil.create(c, personal_name(s, "NsOnly", "Leaf"))
    attrs = imaputil.mailbox_names(c).get(personal_name(s, "NsOnly").encode())
    if attrs is not None and not any(x.lower() == "\\noselect"
                                     for x in attrs):
        pytest.skip("the server made NsOnly selectable")
    m = mount(s)
    with pytest.raises(OSError) as ei:
        os.rename(os.path.join(m.path, arel, "%d.eml" % a1),
                  os.path.join(m.path, personal_rel(s, "NsOnly"), "x.eml"))
    assert ei.value.errno == errno.EPERM, ei.value
    assert imaputil.bodies(c, a) == {a1: body}
    assert os.listdir(os.path.join(m.path, arel)) == ["%d.eml" % a1]


def test_mv_message_gone_on_server(fresh_server, mount, imap):
    """Another client expunged the message after the mount listed it: mv
    fails and moves nothing else."""
    s = fresh_server
    c = imap(s)
    a, arel, (a1, a2) = _box(c, s, "GoneSrc", [(_msg("gone-1"), []),
                                               (_msg("gone-2"), [])])
    b, brel, () = _box(c, s, "GoneDst", [])
    m = mount(s)
    assert sorted(os.listdir(os.path.join(m.path, arel))) == sorted(
        ["%d.eml" % a1, "%d.eml" % a2])
    imaputil.store_flags(c, a, a1, "+FLAGS.SILENT", ["\\Deleted"])
    imaputil.check(c.uid("EXPUNGE", str(a1)), "UID EXPUNGE")
    c.unselect()
    try:
        os.rename(os.path.join(m.path, arel, "%d.eml" % a1),
                  os.path.join(m.path, brel, "%d.eml" % a1))
    except OSError:
        pass
    assert imaputil.uids(c, a) == [a2]
    assert imaputil.uids(c, b) == []

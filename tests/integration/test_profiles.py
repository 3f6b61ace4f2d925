"""The write path and changes by others against every server profile of
the scripted server (fakeserver.PROFILES), checked in the server's own
state: cp in (APPEND: bytes, flags, date), rm (only that UID goes; another
client's \\Deleted bystander stays), mv of a message, mkdir, ls + rmdir,
ls + mv of a directory, setfattr user.imap.flags, and another client's
append, expunge and rename seen after the poll.

A new profile is one entry in fakeserver.PROFILES: the tests here run on
every entry, and where a missing capability changes the outcome
(profileutil.rm_outcome / mv_outcome) they assert the outcome imapfs.1
documents (SERVERS). After every test the server must have seen no CLOSE
of a read-write selection (it would expunge \\Deleted messages).

Issue 11, item 1 (RFC 2086 rights, "old-acl") and item 2 (DELETE, RENAME
and APPEND refused on the selected mailbox, no UNSELECT:
"refuse-selected") fail on the code before the fix; the Dovecot test at
the end checks the same paths with UNSELECT taken out of Dovecot's caps.
"""

import errno
import os
import subprocess
import time

import pytest

import fakeserver
import imaputil
import profileutil as pu

PROFILES = sorted(fakeserver.PROFILES)


@pytest.fixture(params=PROFILES)
def prof(request, pki, mount):
    """(fake server of this profile, mount of it); the server is checked
    for read-write CLOSEs and stopped afterwards."""
    fs = pu.start(pki, request.param)
    try:
        yield fs, pu.mount_fake(mount, pki, fs)
        assert pu.rw_closes(fs) == [], "CLOSE after a read-write SELECT " \
            "(expunges every \\Deleted message):\n" + fs.transcript()
    finally:
        fs.stop()


def _err(fn, *a):
    try:
        fn(*a)
    except OSError as e:
        return e.errno
    return 0


def _xflags(path):
    return set(os.getxattr(path, "user.imap.flags").decode().split())


def _errname(e):
    return errno.errorcode.get(e, e) if e else "success"


def test_cp_in(prof):
    """ls F, then cp a message into F: one APPEND of exactly those bytes,
    with the flags set before close and cp -p's date."""
    fs, m = prof
    d = os.path.join(m.path, "Archive")
    assert os.listdir(d) == ["1.eml"]          # Archive is selected now
    data = pu.body("cp-in")
    p = os.path.join(d, "new.eml")
    with open(p, "wb") as f:
        f.write(data)
        f.flush()
        os.setxattr(f.fileno(), "user.imap.flags", b"\\Flagged $Work")
        os.utime(f.fileno(), (1600000000, 1600000000))
    got = pu.bodies(fs, "Archive")
    new = [u for u in got if u != 1]
    assert len(new) == 1 and got[new[0]] == data, "%s: Archive holds " \
        "%r after cp\n%s" % (fs.profile, sorted(got), fs.transcript())
    assert pu.flags(fs, "Archive", new[0]) == {"\\Flagged", "$Work"}
    assert fs.message("Archive", new[0]).internaldate == \
        "13-Sep-2020 12:26:40 +0000"
    assert pu.wait_for(lambda: "%d.eml" % new[0] in os.listdir(d), 5), \
        os.listdir(d)
    with open(os.path.join(d, "%d.eml" % new[0]), "rb") as f:
        assert f.read() == data


def test_rm(prof):
    """rm INBOX/2.eml: only UID 2 leaves INBOX (expunged, or moved to
    Trash without UIDPLUS); the bystander keeps its \\Deleted flag."""
    fs, m = prof
    inbox = os.path.join(m.path, "INBOX")
    before = pu.bodies(fs, "INBOX")
    assert pu.listing(inbox) == ["1.eml", "2.eml", "3.eml"]
    e = _err(os.unlink, os.path.join(inbox, "2.eml"))
    want = pu.rm_outcome(fs)
    after = pu.bodies(fs, "INBOX")
    assert pu.flags(fs, "INBOX", 3) == {"\\Deleted"}, fs.transcript()
    if want == errno.EPERM:
        assert e == errno.EPERM, "%s: rm gave %s, expected EPERM" % (
            fs.profile, _errname(e))
        assert after == before and pu.flags(fs, "INBOX", 2) == set()
        return
    assert e == 0, "%s: rm gave %s\n%s" % (fs.profile, _errname(e),
                                            fs.transcript())
    assert sorted(after) == [1, 3], "%s: INBOX holds %r after rm of 2" % (
        fs.profile, sorted(after))
    trash = list(pu.bodies(fs, "Trash").values())
    assert trash == ([before[2]] if want == "trash" else []), trash
    assert pu.listing(inbox) == ["1.eml", "3.eml"]


def test_mv_message(prof):
    """mv INBOX/1.eml Archive/: the message is in Archive with its flags
    and gone from INBOX; the bystander stays."""
    fs, m = prof
    src = os.path.join(m.path, "INBOX", "1.eml")
    dst = os.path.join(m.path, "Archive", "moved.eml")
    os.listdir(os.path.join(m.path, "Archive"))
    before = pu.bodies(fs, "INBOX")
    e = _err(os.rename, src, dst)
    assert pu.flags(fs, "INBOX", 3) == {"\\Deleted"}
    if pu.mv_outcome(fs) == errno.EPERM:
        assert e == errno.EPERM, "%s: mv gave %s" % (fs.profile, _errname(e))
        assert pu.bodies(fs, "INBOX") == before
        assert sorted(pu.bodies(fs, "Archive")) == [1]
        return
    assert e == 0, "%s: mv gave %s\n%s" % (fs.profile, _errname(e),
                                            fs.transcript())
    assert sorted(pu.bodies(fs, "INBOX")) == [2, 3]
    arch = pu.bodies(fs, "Archive")
    new = [u for u in arch if u != 1]
    assert len(new) == 1 and arch[new[0]] == before[1], sorted(arch)
    assert pu.flags(fs, "Archive", new[0]) == {"\\Seen"}


def _sh(cmd):
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", cmd],
                          capture_output=True, text=True, timeout=120)


def test_mv_t_several_sources(prof):
    """mv -t Archive/ INBOX/1.eml INBOX/2.eml exits 0 (coreutils stats each
    target after the rename): with COPYUID, or without UIDPLUS by the
    moved message's Message-ID."""
    fs, m = prof
    fs._box("Archive")["uidnext"] = 50    # moved ones: 50, 51 (not 2.eml)
    os.listdir(os.path.join(m.path, "Archive"))
    before = pu.bodies(fs, "INBOX")
    r = _sh("cd %s && mv -t ../Archive/ 1.eml 2.eml" % os.path.join(m.path, "INBOX"))
    if pu.mv_outcome(fs) == errno.EPERM:
        assert r.returncode != 0 and pu.bodies(fs, "INBOX") == before
        return
    assert r.returncode == 0, "%s: %s\n%s" % (fs.profile, r.stderr, fs.transcript())
    arch = pu.bodies(fs, "Archive")
    assert sorted(arch.values()) == sorted([arch[1], before[1], before[2]])
    assert sorted(pu.bodies(fs, "INBOX")) == [3]
    # 1.eml is Archive's own (a real name wins over the alias the move
    # left); 2.eml means the message moved under it, now UID 51
    assert sorted(arch) == [1, 50, 51], sorted(arch)
    for n, want in (("1.eml", arch[1]), ("2.eml", before[2])):
        with open(os.path.join(m.path, "Archive", n), "rb") as f:
            assert f.read() == want, n
    assert pu.listing(os.path.join(m.path, "Archive")) == sorted(
        "%d.eml" % u for u in arch)


def test_cp_then_stat_and_sed_i(prof):
    """cp f Archive/ then stat Archive/f (the name written means the stored
    message, also without APPENDUID); sed -i on a message replaces it:
    APPEND, then that one UID removed (expunged, or to Trash), or where
    the server cannot remove one message, sed fails and both stay."""
    fs, m = prof
    d = os.path.join(m.path, "Archive")
    os.listdir(d)
    data = pu.body("cp-stat")
    with open(os.path.join(m.path, "..", "cp-stat.eml"), "wb") as f:
        f.write(data)
    r = _sh("cp %s/../cp-stat.eml %s/ && stat %s/cp-stat.eml >/dev/null" % (m.path, d, d))
    assert r.returncode == 0, "%s: %s\n%s" % (fs.profile, r.stderr, fs.transcript())
    before = pu.bodies(fs, "Archive")
    assert sorted(before.values()) == sorted([before[1], data])
    r = _sh("sed -i 's/^Subject: profile/Subject: edited/' %s/1.eml" % d)
    after = pu.bodies(fs, "Archive")
    edited = before[1].replace(b"Subject: profile", b"Subject: edited")
    assert edited in after.values(), "%s: no edited copy\n%s" % (fs.profile, fs.transcript())
    if pu.rm_outcome(fs) == errno.EPERM:
        assert r.returncode != 0 and 1 in after, fs.profile
        return
    assert r.returncode == 0, "%s: %s\n%s" % (fs.profile, r.stderr, fs.transcript())
    assert 1 not in after and len(after) == 2, sorted(after)
    with open(os.path.join(d, "1.eml"), "rb") as f:
        assert f.read() == edited


def test_write_over_where_nothing_can_be_removed(prof):
    """Writing a message over (O_TRUNC) where rm would be refused (no
    UIDPLUS, no \\Trash with MOVE) is refused at open: nothing is sent,
    instead of an APPEND whose old message then cannot go."""
    fs, m = prof
    d = os.path.join(m.path, "Archive")
    os.listdir(d)
    before = pu.bodies(fs, "Archive")
    e = _err(lambda: open(os.path.join(d, "1.eml"), "wb").close())
    if pu.rm_outcome(fs) == errno.EPERM:
        assert e == errno.EPERM, "%s: %s" % (fs.profile, _errname(e))
    else:
        assert e == 0, "%s: %s" % (fs.profile, _errname(e))
    assert pu.bodies(fs, "Archive") == before, fs.transcript()


def test_mkdir_ls_rmdir(prof):
    """mkdir Work; ls Work; rmdir Work (the connection that listed Work
    has it selected: a refuse-selected server says NO to DELETE there)."""
    fs, m = prof
    d = os.path.join(m.path, "Work")
    os.mkdir(d)
    assert b"Work" in fs.mailboxes
    assert os.listdir(d) == []
    e = _err(os.rmdir, d)
    assert e == 0, "%s: rmdir after ls gave %s\n%s" % (
        fs.profile, _errname(e), fs.transcript())
    assert b"Work" not in fs.mailboxes
    assert "Work" not in os.listdir(m.path)


def test_mkdir_child_ls_rmdir(prof):
    """The issue's case: mkdir INBOX-like parent/X; ls; rmdir."""
    fs, m = prof
    if not fs.delim:
        e = _err(os.mkdir, os.path.join(m.path, "Archive", "X"))
        assert e == errno.EPERM, "flat: mkdir of a child gave %s" % (
            _errname(e))
        return
    d = os.path.join(m.path, "Projects", "X")
    os.mkdir(d)
    assert pu.name(fs, "Projects", "X") in fs.mailboxes
    assert os.listdir(d) == []
    e = _err(os.rmdir, d)
    assert e == 0, "%s: rmdir after ls gave %s\n%s" % (
        fs.profile, _errname(e), fs.transcript())
    assert pu.name(fs, "Projects", "X") not in fs.mailboxes


def test_ls_mv_dir(prof):
    """ls a mailbox (and its child), then mv it: RENAME, children follow,
    every message is still there (a CLOSE would have expunged the
    bystander we mark \\Deleted first)."""
    fs, m = prof
    old, new = ("Projects", "Plans") if fs.delim else ("Archive", "Old")
    top = fs.delim and pu.name(fs, old, "Q1")
    box = top or old.encode()
    fs.message(box, 1).flags.append("\\Deleted")
    want = pu.bodies(fs, box)
    if fs.delim:
        assert os.listdir(os.path.join(m.path, old)) == ["Q1"]
        assert os.listdir(os.path.join(m.path, old, "Q1")) == ["1.eml"]
    else:
        assert os.listdir(os.path.join(m.path, old)) == ["1.eml"]
    r = subprocess.run(["mv", os.path.join(m.path, old),
                        os.path.join(m.path, new)], capture_output=True,
                       timeout=60)
    assert r.returncode == 0, "%s: mv dir: %r\n%s" % (
        fs.profile, r.stderr, fs.transcript())
    moved = pu.name(fs, new, "Q1") if fs.delim else new.encode()
    assert old.encode() not in fs.mailboxes and moved in fs.mailboxes, \
        sorted(fs.mailboxes)
    assert pu.bodies(fs, moved) == want
    assert pu.flags(fs, moved, 1) == {"\\Deleted"}
    assert new in os.listdir(m.path) and old not in os.listdir(m.path)


def test_setfattr_flags(prof):
    fs, m = prof
    p = os.path.join(m.path, "INBOX", "2.eml")
    os.setxattr(p, "user.imap.flags", b"+\\Flagged +$Todo")
    assert pu.flags(fs, "INBOX", 2) == {"\\Flagged", "$Todo"}
    os.setxattr(p, "user.imap.flags", b"-$Todo")
    assert pu.flags(fs, "INBOX", 2) == {"\\Flagged"}
    assert pu.flags(fs, "INBOX", 1) == {"\\Seen"}
    assert pu.flags(fs, "INBOX", 3) == {"\\Deleted"}


def test_changes_by_others(prof):
    """Another client appends to INBOX (watched) and Archive (polled),
    expunges from INBOX, flags a message in Archive and renames a
    mailbox: the mount shows each after the poll (1 s here)."""
    fs, m = prof
    inbox = os.path.join(m.path, "INBOX")
    arch = os.path.join(m.path, "Archive")
    assert pu.listing(inbox) == ["1.eml", "2.eml", "3.eml"]
    assert pu.listing(arch) == ["1.eml"]
    a = fs.add("Archive", pu.body("other-archive"))
    i = fs.add("INBOX", pu.body("other-inbox"))
    fs.expunge("INBOX", 2)
    want_inbox = ["1.eml", "3.eml", "%d.eml" % i]
    assert pu.wait_for(lambda: pu.listing(inbox) == want_inbox), \
        "%s: INBOX shows %r, server has %r" % (fs.profile,
                                              pu.listing(inbox), want_inbox)
    assert pu.wait_for(lambda: pu.listing(arch) == ["1.eml", "%d.eml" % a]), \
        "%s: Archive shows %r" % (fs.profile, pu.listing(arch))
    with open(os.path.join(inbox, "%d.eml" % i), "rb") as f:
        assert f.read() == fs.message("INBOX", i).body
    # a flag change by another client in a polled mailbox: found through
    # HIGHESTMODSEQ and CHANGEDSINCE with CONDSTORE, by the flag poll
    # without it
    fs.set_flags("Archive", 1, ["\\Flagged", "$Other"])
    p1 = os.path.join(arch, "1.eml")
    assert pu.wait_for(lambda: _xflags(p1) == {"\\Flagged", "$Other"}), \
        "%s: Archive/1.eml shows flags %r after another client's STORE" % (
            fs.profile, _xflags(p1))
    with fs._lock:
        sent = b"\n".join(c[3] for c in fs.commands)
    assert (b"CHANGEDSINCE" in sent) == pu.has(fs, "CONDSTORE"), \
        "%s: flags found without the path its capabilities call for:\n%s" \
        % (fs.profile, fs.transcript())
    fs.rename("Archive", "Archive2")
    assert pu.wait_for(lambda: "Archive2" in pu.listing(m.path) and
                       "Archive" not in pu.listing(m.path)), \
        "%s: root shows %r after another client's RENAME" % (
            fs.profile, pu.listing(m.path))
    assert pu.listing(os.path.join(m.path, "Archive2")) == \
        ["1.eml", "%d.eml" % a]


def test_examine_read_write_lie_never_closed(pki, mount):
    """A server without UNSELECT whose EXAMINE answers [READ-WRITE] (and
    is read-write: a CLOSE after it expunges): leaving the mailbox before
    RENAME must not CLOSE it. The connection is dropped instead, so the
    rename may fail, but the bystander \\Deleted message survives."""
    fs = pu.start(pki, "refuse-selected")
    fs.examine_rw = True
    try:
        m = pu.mount_fake(mount, pki, fs)
        fs.message("Archive", 1).flags.append("\\Deleted")
        want = pu.bodies(fs, "Archive")
        assert os.listdir(os.path.join(m.path, "Archive")) == ["1.eml"]
        subprocess.run(["mv", os.path.join(m.path, "Archive"),
                        os.path.join(m.path, "Old")], capture_output=True,
                       timeout=60)
        assert pu.rw_closes(fs) == [], "CLOSE after an EXAMINE that said " \
            "READ-WRITE:\n" + fs.transcript()
        box = b"Old" if b"Old" in fs.mailboxes else b"Archive"
        assert pu.bodies(fs, box) == want, fs.transcript()
        assert "EXAMINE did not say READ-ONLY" in m.log(), m.log()
        assert m.alive()
    finally:
        fs.stop()


def test_old_acl_refusal_is_logged(pki, mount):
    """RFC 2086 rights without 'd' ("acilrsw"): rm is EACCES, the message
    stays, and the log names the rights seen."""
    fs = pu.start(pki, "old-acl")
    fs.myrights = "acilrsw"
    try:
        m = pu.mount_fake(mount, pki, fs)
        e = _err(os.unlink, os.path.join(m.path, "INBOX", "2.eml"))
        assert e == errno.EACCES, _errname(e)
        assert pu.flags(fs, "INBOX", 2) == set() and \
            sorted(pu.bodies(fs, "INBOX")) == [1, 2, 3]
        assert pu.wait_for(lambda: "acilrsw" in m.log(), 5), m.log()
    finally:
        fs.stop()


# ---------------------------------------------------------------- Dovecot

@pytest.fixture(scope="module")
def no_unselect(fresh_servers):
    return fresh_servers("slash", drop_caps=("UNSELECT",))


def test_dovecot_without_unselect(no_unselect, mount, imap):
    """Dovecot with UNSELECT taken out of its caps: rmdir and mv of a
    directory after ls work, a cp into a listed mailbox works, and a
    message another client marked \\Deleted in it is never expunged (a
    CLOSE of the read-write selection would)."""
    s = no_unselect
    c = imap(s)
    imaputil.create(c, "Empty")
    imaputil.create(c, "Keep")
    keep = imaputil.append_uid(c, "Keep", pu.body("keep"))
    bystander = imaputil.append_uid(c, "Keep", pu.body("bystander"))
    imaputil.store_flags(c, "Keep", bystander, "+FLAGS.SILENT",
                         ["\\Deleted"])
    c.unselect()   # not CLOSE: that would expunge the bystander
    m = mount(s, opts=["timeout=10"])
    assert os.listdir(os.path.join(m.path, "Empty")) == []
    os.rmdir(os.path.join(m.path, "Empty"))
    assert b"Empty" not in imaputil.mailbox_names(c)
    assert sorted(os.listdir(os.path.join(m.path, "Keep"))) == \
        sorted(["%d.eml" % keep, "%d.eml" % bystander])
    with open(os.path.join(m.path, "Keep", "new.eml"), "wb") as f:
        f.write(pu.body("cp-keep"))
    r = subprocess.run(["mv", os.path.join(m.path, "Keep"),
                        os.path.join(m.path, "Kept")], capture_output=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    names = imaputil.mailbox_names(c)
    assert b"Kept" in names and b"Keep" not in names, names
    uids = imaputil.uids(c, "Kept")
    assert keep in uids and bystander in uids and len(uids) == 3, uids
    assert "\\Deleted" in imaputil.flags_of(c, "Kept", bystander)


# ------------------------------------------------- the server's own checks

def test_fake_server_positive_controls(pki):
    """What the tests above rely on the scripted server to notice, shown
    with imaplib: CLOSE after SELECT expunges \\Deleted (after EXAMINE it
    does not), UNSELECT never does, and refuse-selected answers NO for
    DELETE/RENAME/APPEND on the open mailbox only."""
    import imaplib
    import ssl

    fs = pu.start(pki, "refuse-selected")
    try:
        ctx = ssl.create_default_context(cafile=pki.cafile)
        c = imaplib.IMAP4_SSL("127.0.0.1", fs.port, ssl_context=ctx)
        c.login(pu.USER, pu.PASSWORD)
        assert "UNSELECT" not in fs.caps_auth
        c.select("INBOX", readonly=True)
        c.close()
        assert pu.flags(fs, "INBOX", 3) == {"\\Deleted"}
        c.select("Archive")
        typ, _ = c.delete("Archive")
        assert typ == "NO" and b"Archive" in fs.mailboxes
        typ, _ = c.rename("Archive", "A2")
        assert typ == "NO" and b"Archive" in fs.mailboxes
        typ, _ = c.append("Archive", None, None, pu.body("x"))
        assert typ == "NO" and pu.bodies(fs, "Archive").keys() == {1}
        typ, _ = c.append("INBOX", "(\\Flagged)", None, pu.body("y"))
        assert typ == "OK" and pu.flags(fs, "INBOX", 4) == {"\\Flagged"}
        c.select("INBOX")
        c.close()
        assert sorted(pu.bodies(fs, "INBOX")) == [1, 2, 4]
        assert [e[3] for e in pu.rw_closes(fs)] == [[3]]
        c.logout()
    finally:
        fs.stop()

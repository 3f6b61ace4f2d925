"""Mailbox directories: mkdir = CREATE (modified UTF-7, the server's
delimiter), rmdir = DELETE only when empty and childless (else ENOTEMPTY),
mv DIR = RENAME (children follow). INBOX cannot be removed or renamed.
Checked with LIST/STATUS/FETCH from an independent client.
"""

import errno
import os
import subprocess
import time

import pytest

import corpus
import imaputil
from imaputil import personal_name, personal_rel


_msg = corpus.tagged("mailbox test", "mb", ["x"])


def _names(s):
    """LIST on a new connection: a long-lived Dovecot session (with the ACL
    plugin) may keep listing a mailbox as deleted after another session
    re-created it."""
    c = imaputil.connect(s)
    try:
        return imaputil.mailbox_names(c)
    finally:
        c.logout()


def _selectable(attrs):
    low = [a.lower() for a in attrs]
    return "\\noselect" not in low and "\\nonexistent" not in low


def _fill(c, sname, n):
    """CREATE SNAME with N messages -> {uid: body}."""
    imaputil.create(c, sname)
    out = {}
    for i in range(n):
        b = _msg("%s-%d" % (sname, i))
        out[imaputil.append_uid(c, sname, b)] = b
    return out


def _listed(m, rel):
    return sorted(os.listdir(os.path.join(m.path, rel)))


# ---------------------------------------------------------------- mkdir


def test_mkdir_non_ascii(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    m = mount(s)
    rel = personal_rel(s, "Café")
    os.mkdir(os.path.join(m.path, rel))
    want = ("Caf&AOk-" if s.layout == "slash" else "INBOX.Caf&AOk-").encode()
    names = _names(s)
    assert want in names, "mkdir Café: server lists %r" % sorted(names)
    assert _selectable(names[want]), names[want]
    assert "Café" in os.listdir(os.path.dirname(os.path.join(m.path, rel)))
    assert os.path.isdir(os.path.join(m.path, rel))
    assert os.listdir(os.path.join(m.path, rel)) == []


def test_mkdir_p_three_levels(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    m = mount(s)
    r = subprocess.run(["mkdir", "-p", os.path.join(
        m.path, personal_rel(s, "Lvl1", "Lvl2", "Lvl3"))],
        capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    names = _names(s)
    for parts in (("Lvl1",), ("Lvl1", "Lvl2"), ("Lvl1", "Lvl2", "Lvl3")):
        n = personal_name(s, *parts).encode()
        assert n in names, "%r missing; server lists %r" % (n, sorted(names))
        assert _selectable(names[n]), "%r: %r (every level is mkdir'ed, " \
            "so every level is CREATEd)" % (n, names[n])
    assert os.path.isdir(os.path.join(m.path, personal_rel(
        s, "Lvl1", "Lvl2", "Lvl3")))


def test_mkdir_name_with_delimiter(fresh_server, mount, imap):
    s = fresh_server
    if s.layout != "dot":
        pytest.skip("the delimiter '/' cannot be part of a file name")
    c = imap(s)
    before = _names(s)
    m = mount(s)
    with pytest.raises(OSError) as ei:
        os.mkdir(os.path.join(m.path, "INBOX", "a.b"))
    assert ei.value.errno == errno.EINVAL, ei.value
    assert _names(s) == before, "a refused mkdir changed the server's " \
        "mailboxes: %r" % sorted(set(_names(s)) - set(before))
    assert "a.b" not in os.listdir(os.path.join(m.path, "INBOX"))


def test_mkdir_existing(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    sname = personal_name(s, "Exists")
    msgs = _fill(c, sname, 1)
    m = mount(s)
    with pytest.raises(FileExistsError):
        os.mkdir(os.path.join(m.path, personal_rel(s, "Exists")))
    assert imaputil.bodies(c, sname) == msgs


def test_mkdir_created_elsewhere_meanwhile(fresh_server, mount, imap):
    """The mount has not seen the mailbox (another client made it after
    mounting): the server's NO [ALREADYEXISTS] must become EEXIST."""
    s = fresh_server
    c = imap(s)
    m = mount(s)
    os.listdir(os.path.join(m.path, personal_rel(s, "INBOX")))
    os.listdir(m.path)
    sname = personal_name(s, "LateComer")
    msgs = _fill(c, sname, 1)
    with pytest.raises(OSError) as ei:
        os.mkdir(os.path.join(m.path, personal_rel(s, "LateComer")))
    assert ei.value.errno == errno.EEXIST, ei.value
    assert imaputil.bodies(c, sname) == msgs


# ---------------------------------------------------------------- rmdir


def test_rmdir_empty(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    sname = personal_name(s, "RemoveMe")
    imaputil.create(c, sname)
    m = mount(s)
    rel = personal_rel(s, "RemoveMe")
    os.rmdir(os.path.join(m.path, rel))
    assert sname.encode() not in _names(s), "rmdir did not DELETE"
    assert "RemoveMe" not in os.listdir(os.path.dirname(
        os.path.join(m.path, rel)))


def test_rmdir_with_messages(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    sname = personal_name(s, "HasMail")
    msgs = _fill(c, sname, 2)
    m = mount(s)
    with pytest.raises(OSError) as ei:
        os.rmdir(os.path.join(m.path, personal_rel(s, "HasMail")))
    assert ei.value.errno == errno.ENOTEMPTY, ei.value
    assert sname.encode() in _names(s)
    assert imaputil.bodies(c, sname) == msgs
    assert _listed(m, personal_rel(s, "HasMail")) == sorted(
        "%d.eml" % u for u in msgs)


def test_rmdir_with_children(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    parent = personal_name(s, "HasKids")
    kid = personal_name(s, "HasKids", "Kid")
    imaputil.create(c, parent)
    msgs = _fill(c, kid, 1)
    m = mount(s)
    with pytest.raises(OSError) as ei:
        os.rmdir(os.path.join(m.path, personal_rel(s, "HasKids")))
    assert ei.value.errno == errno.ENOTEMPTY, ei.value
    names = _names(s)
    assert parent.encode() in names and kid.encode() in names
    assert imaputil.bodies(c, kid) == msgs


def test_rmdir_inbox_refused(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    before = imaputil.uids(c, "INBOX")
    m = mount(s)
    with pytest.raises(OSError) as ei:
        os.rmdir(os.path.join(m.path, "INBOX"))
    allowed = {errno.EPERM, errno.EBUSY}
    if before or s.layout == "dot":
        # INBOX holds mail (another test) or children (dot layout):
        # ENOTEMPTY is a refusal too.
        allowed.add(errno.ENOTEMPTY)
    assert ei.value.errno in allowed, ei.value
    assert b"INBOX" in _names(s)
    assert imaputil.uids(c, "INBOX") == before
    assert os.path.isdir(os.path.join(m.path, "INBOX"))


# ---------------------------------------------------------------- rename


def test_rename_same_parent_with_children(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    old, oldkid = personal_name(s, "Ren1"), personal_name(s, "Ren1", "Kid")
    top = _fill(c, old, 2)
    kid = _fill(c, oldkid, 1)
    m = mount(s)
    new_utf8 = "Renamed-Über"
    src = os.path.join(m.path, personal_rel(s, "Ren1"))
    dst = os.path.join(m.path, personal_rel(s, new_utf8))
    r = subprocess.run(["mv", src, dst], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    new, newkid = (personal_name(s, new_utf8),
                   personal_name(s, new_utf8, "Kid"))
    assert "&" in new
    names = _names(s)
    assert new.encode() in names, "RENAME target missing: %r" % sorted(names)
    assert newkid.encode() in names, "child did not follow the RENAME"
    assert old.encode() not in names and oldkid.encode() not in names
    assert sorted(imaputil.bodies(c, new).values()) == sorted(top.values())
    assert list(imaputil.bodies(c, newkid).values()) == list(kid.values())
    # The mount, immediately.
    assert not os.path.exists(src)
    assert sorted(os.listdir(dst)) == sorted(
        ["%d.eml" % u for u in imaputil.uids(c, new)] + ["Kid"])
    assert sorted(os.listdir(os.path.join(dst, "Kid"))) == [
        "%d.eml" % u for u in imaputil.uids(c, newkid)]
    with open(os.path.join(dst, "Kid", "%d.eml" % imaputil.uids(
            c, newkid)[0]), "rb") as f:
        assert f.read() == list(kid.values())[0]


def test_rename_to_other_parent(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    old = personal_name(s, "Wanderer")
    msgs = _fill(c, old, 1)
    imaputil.create(c, personal_name(s, "Home"))
    m = mount(s)
    src = os.path.join(m.path, personal_rel(s, "Wanderer"))
    dst = os.path.join(m.path, personal_rel(s, "Home", "Arrived"))
    os.rename(src, dst)
    new = personal_name(s, "Home", "Arrived")
    names = _names(s)
    assert new.encode() in names, sorted(names)
    assert old.encode() not in names
    assert list(imaputil.bodies(c, new).values()) == list(msgs.values())
    assert not os.path.exists(src)
    assert "Arrived" in os.listdir(os.path.dirname(dst))
    assert sorted(os.listdir(dst)) == [
        "%d.eml" % u for u in imaputil.uids(c, new)]


def test_rename_inbox_refused(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    imaputil.append_uid(c, "INBOX", _msg("inbox-stays"))
    before = imaputil.bodies(c, "INBOX")
    names_before = _names(s)
    m = mount(s)
    # Not under INBOX/: the kernel itself refuses moving a directory into
    # itself, which would test nothing.
    dst = os.path.join(m.path, "NotInbox")
    with pytest.raises(OSError) as ei:
        os.rename(os.path.join(m.path, "INBOX"), dst)
    assert ei.value.errno == errno.EPERM, ei.value
    assert imaputil.bodies(c, "INBOX") == before
    assert _names(s) == names_before
    assert os.path.isdir(os.path.join(m.path, "INBOX"))
    assert not os.path.exists(dst)


@pytest.mark.parametrize("fsname,logical", [
    ("100% Sure", "100% Sure"),
    ("%2541", "%41"),
    ("Tom & Jerry", "Tom & Jerry"),
    ("x%2Fy", "x/y"),
])
def test_mkdir_escaped_names(fresh_server, mount, imap, fsname, logical):
    """File names map back to server names (imapfs.1, Names and escapes):
    %25 is a '%' that would otherwise read as an escape, any other '%' is
    itself, %2F a '/' inside a name (only where '/' is not the delimiter);
    '&' is encoded as '&-' in modified UTF-7."""
    s = fresh_server
    if "/" in logical and s.delimiter == "/":
        pytest.skip("'/' inside a name needs a delimiter other than '/'")
    c = imap(s)
    m = mount(s)
    rel = personal_rel(s, fsname)
    os.mkdir(os.path.join(m.path, rel))
    want = (s.personal_prefix + imaputil.mutf7_encode(logical)).encode()
    names = _names(s)
    assert want in names, "mkdir %r: server lists %r, expected %r" % (
        fsname, sorted(names), want)
    assert fsname in os.listdir(os.path.dirname(os.path.join(m.path, rel)))


@pytest.mark.parametrize("fsname", ["50%off", "%", "a%2", "100%", "%%2541",
                                    "%2f"])
def test_mkdir_percent_is_literal(fresh_server, mount, imap, fsname):
    """A '%' not followed by two upper-case hex digits is itself (issue 12:
    mkdir "50%off" failed with EIO, made the mailbox and showed it as
    50%25off): mkdir returns 0, the server has exactly the name typed, and
    the directory is reached under that name (stat, ls, cd, a message in
    it, rmdir)."""
    s = fresh_server
    c = imap(s)
    m = mount(s)
    logical = fsname.replace("%25", "%")
    rel = personal_rel(s, fsname)
    p = os.path.join(m.path, rel)
    os.mkdir(p)
    sname = personal_name(s, logical)
    names = _names(s)
    assert sname.encode() in names, "mkdir %r: server lists %r" % (
        fsname, sorted(names))
    assert os.path.isdir(p)
    assert fsname in os.listdir(os.path.dirname(p))
    uid = imaputil.append_uid(c, sname, _msg("pct"))
    r = subprocess.run(["sh", "-c", 'cd "$1" && ls', "sh", p],
                       capture_output=True, timeout=60)
    assert r.returncode == 0 and r.stdout.split() == [b"%d.eml" % uid], r
    os.unlink(os.path.join(p, "%d.eml" % uid))
    os.rmdir(p)
    assert sname.encode() not in _names(s)
    assert not os.path.exists(p)


@pytest.mark.parametrize("fsname", ["%41", "a%2Eb", "100%25", "x%~12345678"])
def test_mkdir_other_spelling_refused(fresh_server, mount, fsname):
    """A name with an escape names_to_fs would not write (%41 for 'A', a
    %~ tag) cannot be shown as typed: mkdir fails with EINVAL before
    anything reaches the server (it used to CREATE and then fail with
    EIO)."""
    s = fresh_server
    m = mount(s)
    before = _names(s)
    with pytest.raises(OSError) as ei:
        os.mkdir(os.path.join(m.path, personal_rel(s, fsname)))
    assert ei.value.errno == errno.EINVAL, ei.value
    assert _names(s) == before


# max_conns=1: the connection that listed (SELECTed) the mailbox is surely
# the one that removes it, where a stale selected view would show.
CONNS = [pytest.param([], id="pool"),
         pytest.param(["max_conns=1"], id="one-conn")]


@pytest.mark.parametrize("opts", CONNS)
def test_rmdir_mail_arrived_meanwhile(fresh_server, mount, imap, opts):
    """The mount saw an empty mailbox; another client then delivered mail
    into it: rmdir must ask the server and refuse (DELETE would destroy
    the mail)."""
    s = fresh_server
    c = imap(s)
    box = "Arrivals%d" % len(opts)
    sname = personal_name(s, box)
    imaputil.create(c, sname)
    m = mount(s, opts=opts)
    d = os.path.join(m.path, personal_rel(s, box))
    assert os.listdir(d) == []
    body = _msg("arrived")
    uid = imaputil.append_uid(c, sname, body)
    with pytest.raises(OSError) as ei:
        os.rmdir(d)
    assert ei.value.errno == errno.ENOTEMPTY, ei.value
    assert imaputil.bodies(c, sname) == {uid: body}


def test_rmdir_then_mkdir_again(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    sname = personal_name(s, "Phoenix")
    imaputil.create(c, sname)
    m = mount(s)
    p = os.path.join(m.path, personal_rel(s, "Phoenix"))
    os.rmdir(p)
    assert sname.encode() not in _names(s)
    os.mkdir(p)
    assert sname.encode() in _names(s)
    assert os.listdir(p) == []


def test_rmdir_non_ascii(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    sname = personal_name(s, "Entwürfe")
    imaputil.create(c, sname)
    m = mount(s)
    os.rmdir(os.path.join(m.path, personal_rel(s, "Entwürfe")))
    assert sname.encode() not in _names(s)


@pytest.mark.parametrize("opts", CONNS)
def test_rm_r_mailbox_tree(fresh_server, mount, imap, opts):
    """rm -r DIR: every message expunged, every mailbox deleted; nothing
    outside DIR touched."""
    s = fresh_server
    c = imap(s)
    doomed = "Doomed%d" % len(opts)
    top, kid = personal_name(s, doomed), personal_name(s, doomed, "Sub")
    _fill(c, top, 3)
    _fill(c, kid, 2)
    keep = personal_name(s, doomed + "Not")
    kept = _fill(c, keep, 1)
    m = mount(s, opts=opts)
    r = subprocess.run(["rm", "-r", os.path.join(m.path, personal_rel(
        s, doomed))], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    names = _names(s)
    assert top.encode() not in names and kid.encode() not in names, \
        sorted(names)
    assert imaputil.bodies(c, keep) == kept


def test_renamed_tree_is_usable(fresh_server, mount, imap):
    """After mv DIR, the renamed child is addressed by its new server
    name: cp into it APPENDs there, rm expunges there."""
    s = fresh_server
    c = imap(s)
    old, oldkid = personal_name(s, "UseA"), personal_name(s, "UseA", "Kid")
    imaputil.create(c, old)
    kid = _fill(c, oldkid, 2)
    m = mount(s)
    os.listdir(os.path.join(m.path, personal_rel(s, "UseA", "Kid")))
    os.rename(os.path.join(m.path, personal_rel(s, "UseA")),
              os.path.join(m.path, personal_rel(s, "UseB")))
    newkid = personal_name(s, "UseB", "Kid")
    d = os.path.join(m.path, personal_rel(s, "UseB", "Kid"))
    body = _msg("into-renamed")
    with open(os.path.join(d, "new.eml"), "wb") as f:
        f.write(body)
    got = imaputil.bodies(c, newkid)
    assert body in got.values(), "cp into the renamed child did not " \
        "APPEND to %r" % newkid
    first = sorted(kid)[0]
    os.unlink(os.path.join(d, "%d.eml" % first))
    assert first not in imaputil.uids(c, newkid)
    assert oldkid.encode() not in _names(s)
    assert sorted(os.listdir(d)) == sorted(
        "%d.eml" % u for u in imaputil.uids(c, newkid))


@pytest.mark.parametrize("opts", CONNS)
def test_next_operation_after_rmdir_of_listed_mailbox(fresh_server, mount,
                                                      imap, opts):
    """ls EMPTY; rmdir EMPTY; then mkdir and rm elsewhere still work (a
    server may drop a connection whose selected mailbox was deleted: the
    mount must not turn that into errors for later operations)."""
    s = fresh_server
    c = imap(s)
    n = len(opts)
    gone = personal_name(s, "ListedThenGone%d" % n)
    imaputil.create(c, gone)
    other = personal_name(s, "StillHere%d" % n)
    msgs = _fill(c, other, 2)
    m = mount(s, opts=opts)
    d = os.path.join(m.path, personal_rel(s, "ListedThenGone%d" % n))
    assert os.listdir(d) == []
    os.rmdir(d)
    assert gone.encode() not in _names(s)
    os.mkdir(os.path.join(m.path, personal_rel(s, "MadeAfter%d" % n)))
    assert personal_name(s, "MadeAfter%d" % n).encode() in _names(s)
    first = sorted(msgs)[0]
    os.unlink(os.path.join(m.path, personal_rel(s, "StillHere%d" % n),
                           "%d.eml" % first))
    assert imaputil.uids(c, other) == sorted(msgs)[1:]


def test_rename_to_name_with_delimiter(fresh_server, mount, imap):
    """Like mkdir, mv DIR to a name holding the server's delimiter would
    silently make a hierarchy: EINVAL, nothing changed."""
    s = fresh_server
    if s.layout != "dot":
        pytest.skip("the delimiter '/' cannot be part of a file name")
    c = imap(s)
    sname = personal_name(s, "DotRen")
    msgs = _fill(c, sname, 1)
    before = _names(s)
    m = mount(s)
    with pytest.raises(OSError) as ei:
        os.rename(os.path.join(m.path, "INBOX", "DotRen"),
                  os.path.join(m.path, "INBOX", "x.y"))
    assert ei.value.errno == errno.EINVAL, ei.value
    assert _names(s) == before
    assert imaputil.bodies(c, sname) == msgs


def test_rmdir_noselect_parent_after_child(fresh_server, mount, imap):
    """Only P/C exists on the server (P is implied / \\Noselect): rmdir
    P/C then rmdir P leaves neither on the server or in the mount."""
    s = fresh_server
    c = imap(s)
    child = personal_name(s, "ImpliedP", "C")
    imaputil.create(c, child)
    m = mount(s)
    p = os.path.join(m.path, personal_rel(s, "ImpliedP"))
    os.rmdir(os.path.join(p, "C"))
    os.rmdir(p)
    names = _names(s)
    assert child.encode() not in names
    assert personal_name(s, "ImpliedP").encode() not in names, \
        sorted(names)
    assert not os.path.exists(p)


def test_rmdir_implied_parent_stays_until_rmdir(fresh_server, mount, imap):
    """After rmdir P/C, an implied P the server no longer lists stays a
    directory (as on a local disk) past the watcher's next LIST, until it
    is rmdir'd itself; a mailbox made in it meanwhile makes it real."""
    s = fresh_server
    c = imap(s)
    imaputil.create(c, personal_name(s, "KeptP", "C"))
    m = mount(s, opts=["poll=1"])
    p = os.path.join(m.path, personal_rel(s, "KeptP"))
    os.rmdir(os.path.join(p, "C"))
    time.sleep(3)      # the watcher's LIST has run (poll=1) since
    assert os.path.isdir(p) and os.listdir(p) == []
    assert "KeptP is gone" not in m.log(), m.log()
    os.mkdir(os.path.join(p, "D"))
    assert personal_name(s, "KeptP", "D").encode() in _names(s)
    os.rmdir(os.path.join(p, "D"))
    os.rmdir(p)
    names = _names(s)
    assert not any(b"KeptP" in n for n in names), sorted(names)
    assert not os.path.exists(p)


def test_rmdir_while_another_client_opens_it(fresh_servers, mount, imap):
    """Dovecot answers DELETE with OK and keeps the mailbox when another
    session opens it at that moment (4 of 40 tries with a client SELECTing
    it in a loop). rmdir checks: it succeeds only when the mailbox is gone,
    and otherwise fails with EBUSY (Dovecot may refuse to delete the
    leftover until the other session lets go)."""
    import threading
    s = fresh_servers("slash")
    c, other = imap(s), imap(s)
    m = mount(s, opts=["poll=0"])
    wrong = []
    for i in range(12):
        leaf = "Opened%d" % i
        name = personal_name(s, leaf)
        os.mkdir(os.path.join(m.path, personal_rel(s, leaf)))
        stop = threading.Event()

        def select_loop():
            while not stop.is_set():
                try:
                    other.select(imaputil.quote(name))
                except Exception:
                    pass
        t = threading.Thread(target=select_loop, daemon=True)
        t.start()
        try:
            os.rmdir(os.path.join(m.path, personal_rel(s, leaf)))
            err = 0
        except OSError as e:
            err = e.errno
        finally:
            stop.set()
            t.join()
        listed = name.encode() in _names(s)
        if (err, listed) not in ((0, False), (errno.EBUSY, True)):
            wrong.append((name, errno.errorcode.get(err, err), listed))
    assert not wrong, "rmdir's answer and what the server lists after it " \
        "disagree (name, error, listed): %r\n%s" % (wrong, m.log())

"""Mounting and reading when the server cannot be reached (issue 17;
imapfs.1 "OFFLINE"; src/acctstate.c, vfs_acct.c, pool.c's offline state).

A mount keeps the account's state (capabilities, NAMESPACE, the LIST/LSUB
tree) with the cache. With the server stopped, a later mount is made from
it: one line on stderr says so, cached bodies read byte for byte as
imaplib fetched them, an uncached one and every change fail at once with
ENETDOWN. When Dovecot is back on the same port, the mount catches up with
what another client (imaplib) changed meanwhile. The same offline state
follows when the server goes away while mounted. A TLS or login failure
is never taken for an unreachable server: such a mount fails as before.
"""

import contextlib
import errno
import os
import stat
import subprocess
import tempfile
import time

import pytest

import imaputil
import mountutil
from fakeserver import FakeServer, Message
from imaputil import personal_name, personal_rel
from liveutil import msg, uniq, wait_for
from mountutil import local_url

NOTE = "mounted from the cache of"
# short waits: the first operation after the server went away tries to
# connect until its deadline (timeout=) before the mount goes offline
OPTS = ["timeout=3", "poll=2", "max_conns=1"]  # (max_conns=1: no read-ahead)


def _box(s, n, tag="Off"):
    """A fresh folder of N messages -> (imaplib session, name, rel, uids,
    bodies by UID as imaplib fetched them)."""
    c = imaputil.connect(s)
    leaf = uniq(tag)
    name = personal_name(s, leaf)
    imaputil.create(c, name)
    uids = [imaputil.append_uid(c, name, msg("offline %d" % i, lines=["line %d" % i] * (i + 1)))
            for i in range(n)]
    return c, name, personal_rel(s, leaf), uids, imaputil.bodies(c, name)


def _cache():
    return os.path.join(tempfile.mkdtemp(prefix="offline-"), "cache")


def _listed(d):
    return sorted(int(n[:-4]) for n in os.listdir(d) if n.endswith(".eml"))


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _errno_of(fn, *args):
    """-> (errno or 0, seconds taken) of FN(*ARGS)."""
    t = time.monotonic()
    try:
        fn(*args)
        e = 0
    except OSError as ex:
        e = ex.errno
    return e, time.monotonic() - t


def _daemon_log(m):
    """What a mount in the background without a syslog socket logged."""
    d = os.path.join(m.workdir, "state", "imapfs")
    out = ""
    for n in sorted(os.listdir(d)) if os.path.isdir(d) else ():
        with open(os.path.join(d, n), errors="replace") as f:
            out += f.read()
    return out


def _mounted_box(s, mount, n, tag):
    """A folder of N messages listed by a mount that stays -> (mount,
    name, its directory, uids, bodies)."""
    c, name, rel, uids, bodies = _box(s, n, tag)
    c.logout()
    m = mount(s, opts=["cache_dir=" + _cache()] + OPTS)
    d = os.path.join(m.path, rel)
    assert _listed(d) == uids
    return m, name, d, uids, bodies


def _mounted_once(s, mount, n, read):
    """A folder of N messages listed by a mount on a cache of its own,
    the first READ of them read (so cached), then unmounted."""
    c, name, rel, uids, bodies = _box(s, n)
    cache = _cache()
    m = mount(s, opts=["cache_dir=" + cache] + OPTS)
    d = os.path.join(m.path, rel)
    assert _listed(d) == uids
    for u in uids[:read]:
        assert _read(os.path.join(d, "%d.eml" % u)) == bodies[u]
    m.stop()
    return c, name, rel, uids, bodies, cache


@contextlib.contextmanager
def _away(s):
    """The server stopped for the block (mail and ports kept), then back."""
    s.pause()
    try:
        yield
    finally:
        if s.proc is None:
            s.resume()


def _kept(s, mount, n, read):
    """_mounted_once without the imaplib session."""
    c, name, rel, uids, bodies, cache = _mounted_once(s, mount, n, read)
    c.logout()
    return rel, uids, bodies, cache


def test_state_file_is_private(fresh_servers, mount):
    s = fresh_servers("slash")
    rel, uids, bodies, cache = _kept(s, mount, 1, 0)
    found = []
    for root, dirs, files in os.walk(cache):
        if "account" in files:
            found.append(root)
    assert len(found) == 1, found
    st = os.stat(os.path.join(found[0], "account"))
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert stat.S_IMODE(os.stat(found[0]).st_mode) == 0o700


def test_offline_mount_then_back(fresh_servers, mount):
    s = fresh_servers("slash")
    c, name, rel, uids, bodies, cache = _mounted_once(s, mount, 6, 3)
    # a folder that exists but was never listed: nothing kept of it
    other_leaf = uniq("Never")
    other = personal_name(s, other_leaf)
    imaputil.create(c, other)
    imaputil.append_uid(c, other, msg("never listed"))
    c.logout()
    with _away(s):
        # in the background, logging to a file of its own (no syslog)
        m = mount(s, opts=["cache_dir=" + cache] + OPTS, foreground=False,
                  env={"IMAPFS_SYSLOG_SOCKET": os.path.join(tempfile.mkdtemp(), "no-log")})
        out = m.log()
        lines = [ln for ln in out.splitlines() if NOTE in ln]
        assert len(lines) == 1, out
        # (and where the log goes, when there is no syslog socket)
        assert [ln for ln in out.splitlines() if "syslog" not in ln] == lines, out
        assert "Connection refused" in lines[0] and "ENETDOWN" in lines[0], lines[0]
        d = os.path.join(m.path, rel)
        assert os.path.basename(rel) in os.listdir(os.path.dirname(d) or m.path)
        assert _listed(d) == uids
        # cached bodies, byte for byte as imaplib fetched them
        for u in uids[:3]:
            assert _read(os.path.join(d, "%d.eml" % u)) == bodies[u]
        # an uncached one fails, at once
        e, took = _errno_of(_read, os.path.join(d, "%d.eml" % uids[4]))
        assert e == errno.ENETDOWN, e
        assert took < 2.0, "uncached read took %.2f s offline" % took
        print("uncached read offline: ENETDOWN in %.3f s" % took)
        # a folder of the kept tree never listed: no listing to show
        trash = os.path.join(m.path, personal_rel(s, "Trash"))
        e, took = _errno_of(os.listdir, trash)
        assert e == errno.ENETDOWN and took < 2.0, (e, took)
        assert _errno_of(os.stat, os.path.join(trash, "1.eml"))[0] == errno.ENETDOWN
        # one made after the state was kept is not in the tree
        assert _errno_of(os.listdir, os.path.join(m.path, personal_rel(s, other_leaf)))[0] == errno.ENOENT
        # every change refused, none queued
        f0 = os.path.join(d, "%d.eml" % uids[0])
        assert _errno_of(os.unlink, f0)[0] == errno.ENETDOWN
        assert _errno_of(os.rename, f0, os.path.join(m.path, "INBOX", "x.eml"))[0] == errno.ENETDOWN
        assert _errno_of(os.mkdir, os.path.join(m.path, uniq("NewDir")))[0] == errno.ENETDOWN
        assert _errno_of(os.rmdir, d)[0] in (errno.ENETDOWN, errno.ENOTEMPTY)
        assert _errno_of(os.setxattr, f0, "user.imap.flags", b"\\Flagged")[0] == errno.ENETDOWN
        assert _errno_of(lambda: open(os.path.join(d, "new.eml"), "wb").close())[0] == errno.ENETDOWN
        assert b"\\Flagged" not in os.getxattr(f0, "user.imap.flags")
        st = subprocess.run([mountutil.imapfs_bin(), "status", m.path], capture_output=True, timeout=30)
        assert b"offline:" in st.stdout, st
        # the daemon's log has the note, and each refusal by name
        log = _daemon_log(m)
        assert NOTE in log and "offline: unlink refused" in log and "offline: mkdir refused" in log, log
        # rm -r of many files: a line per kind per 10 s, not one per file
        for _ in range(3):
            for u in uids:
                assert _errno_of(os.unlink, os.path.join(d, "%d.eml" % u))[0] == errno.ENETDOWN
        log = _daemon_log(m)
        assert log.count("offline: unlink refused") <= 2, log

        s.resume()
        c = imaputil.connect(s)
        new = imaputil.append_uid(c, name, msg("arrived while offline"))
        imaputil.store_flags(c, name, uids[1], "+FLAGS", ["\\Flagged"])
        c.uid("STORE", str(uids[5]), "+FLAGS", "(\\Deleted)")
        c.uid("EXPUNGE", str(uids[5]))
        made_leaf = uniq("Meanwhile")
        imaputil.create(c, personal_name(s, made_leaf))
        want = sorted(set(uids) - {uids[5]} | {new})
        assert imaputil.uids(c, name) == want
        wait_for(lambda: _listed(d) == want, 90, lambda: "listing %r, want %r" % (_listed(d), want))
        # the tree is listed again too
        wait_for(lambda: os.path.isdir(os.path.join(m.path, personal_rel(s, made_leaf))), 60,
                 "a mailbox made while offline")
        wait_for(lambda: b"\\Flagged" in os.getxattr(os.path.join(d, "%d.eml" % uids[1]), "user.imap.flags"),
                 60, "flag set meanwhile")
        # online again: uncached bodies read, changes reach the server
        assert _read(os.path.join(d, "%d.eml" % uids[4])) == bodies[uids[4]]
        os.unlink(f0)
        assert uids[0] not in imaputil.uids(c, name)
        c.logout()


def test_server_goes_away_while_mounted(fresh_servers, mount):
    s = fresh_servers("slash")
    m, name, d, uids, bodies = _mounted_box(s, mount, 5, "Away")
    for u in uids[:2]:
        assert _read(os.path.join(d, "%d.eml" % u)) == bodies[u]
    with _away(s):
        for u in uids[:2]:
            assert _read(os.path.join(d, "%d.eml" % u)) == bodies[u]
        # the first one tries until its deadline (twice timeout= at most),
        # then the mount is offline
        e, took = _errno_of(_read, os.path.join(d, "%d.eml" % uids[2]))
        assert e in (errno.ENETDOWN, errno.EIO, errno.ETIMEDOUT), e
        assert took < 20, took
        print("first uncached read after the server went away: %s in %.2f s" % (errno.errorcode[e], took))
        e, took = _errno_of(_read, os.path.join(d, "%d.eml" % uids[3]))
        assert e == errno.ENETDOWN, e
        assert took < 2.0, "uncached read took %.2f s offline" % took
        print("next uncached read: ENETDOWN in %.3f s" % took)
        assert _errno_of(os.unlink, os.path.join(d, "%d.eml" % uids[0]))[0] == errno.ENETDOWN
        s.resume()
        c = imaputil.connect(s)
        new = imaputil.append_uid(c, name, msg("arrived while away"))
        wait_for(lambda: _read(os.path.join(d, "%d.eml" % uids[3])) == bodies[uids[3]], 60,
                 "reading again once the server is back")
        wait_for(lambda: new in _listed(d), 60, "the message stored meanwhile")
        c.logout()


def _mount_fails(s, cache, **kw):
    m = mountutil.Mount(kw.pop("url", s.url()), cafile=kw.pop("cafile", s.cafile),
                        password=kw.pop("password", s.password),
                        opts=["cache_dir=" + cache] + OPTS, **kw)
    with pytest.raises(mountutil.MountError):
        m.start(timeout=60)
    m.stop(cleanup=False)
    out = m.log()
    m.cleanup()
    assert NOTE not in out, out
    return m.returncode, out


def test_login_and_tls_failures_never_mount_offline(fresh_servers, mount, pki):
    s = fresh_servers("slash")
    rel, uids, bodies, cache = _kept(s, mount, 1, 1)
    rc, out = _mount_fails(s, cache, password="not the password")
    assert rc == 3, out     # EXIT_AUTH, as without a kept state
    rc, out = _mount_fails(s, cache, cafile=pki.cafile)    # another CA
    assert rc == 2, out
    assert "certificate" in out.lower() or "verify" in out.lower(), out


def test_no_offline_mount_without_a_kept_state(fresh_servers, mount):
    s = fresh_servers("slash")
    rel, uids, bodies, cache = _kept(s, mount, 1, 1)
    with _away(s):
        # a cache that kept nothing, and cache=no
        rc, out = _mount_fails(s, _cache())
        assert rc == 2 and "Connection refused" in out, out
        m = mountutil.Mount(s.url(), cafile=s.cafile, password=s.password,
                            opts=["cache_dir=" + cache, "cache=no"] + OPTS)
        with pytest.raises(mountutil.MountError):
            m.start(timeout=60)
        m.stop()
        # a damaged state is logged, removed and not used
        state = [os.path.join(r, "account") for r, _, f in os.walk(cache) if "account" in f]
        assert len(state) == 1
        with open(state[0], "r+b") as f:
            f.seek(20)
            b = f.read(1)
            f.seek(20)
            f.write(bytes([b[0] ^ 0x40]))
        rc, out = _mount_fails(s, cache)
        assert rc == 2 and "damaged" in out, out
        assert not os.path.exists(state[0])


def test_unmount_while_offline(fresh_servers, mount):
    """The reconnect thread holds no unmount up (it waits between tries)."""
    s = fresh_servers("slash")
    rel, uids, bodies, cache = _kept(s, mount, 2, 1)
    with _away(s):
        m = mount(s, opts=["cache_dir=" + cache] + OPTS)
        assert _read(os.path.join(m.path, rel, "%d.eml" % uids[0])) == bodies[uids[0]]
        time.sleep(2.5)     # a try or two of connecting again behind it
        t = time.monotonic()
        rc = m.stop(cleanup=False)
        took = time.monotonic() - t
        print("unmount while offline: %.2f s" % took)
        assert rc == 0 and took < 10, (rc, took, m.log())
        assert NOTE in m.log()


def _subjects(c, name, subject):
    """UIDs of NAME whose body holds SUBJECT (imaplib's view)."""
    return sorted(u for u, b in imaputil.bodies(c, name).items()
                  if ("Subject: " + subject).encode() in b)


def _gone_offline(d, uncached):
    """Read UNCACHED (the server stopped): the mount is offline after it."""
    e, took = _errno_of(_read, os.path.join(d, "%d.eml" % uncached[0]))
    assert e in (errno.ENETDOWN, errno.EIO, errno.ETIMEDOUT), e
    assert _errno_of(_read, os.path.join(d, "%d.eml" % uncached[1]))[0] == errno.ENETDOWN


def test_close_while_offline_keeps_the_file(fresh_servers, mount):
    """A new file written while online and closed once the mount went
    offline: the close fails with ENETDOWN, nothing is sent, and the file
    stays listed with its bytes (to copy out); local changes to it go on
    offline; once back, closing it again sends it, once. The same for a
    file written over a message."""
    s = fresh_servers("slash")
    m, name, d, uids, bodies = _mounted_box(s, mount, 4, "Keep")
    new_subj, over_subj = uniq("WrittenOffline"), uniq("WrittenOver")
    # (the same Message-ID: an edit of that message, which it replaces)
    body, over_body = msg(new_subj), bodies[uids[0]].replace(b"Subject: ", b"Subject: %s " % over_subj.encode(), 1)
    path, over = os.path.join(d, "new.eml"), os.path.join(d, "%d.eml" % uids[0])
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, body)
    ofd = os.open(over, os.O_WRONLY | os.O_TRUNC)
    os.write(ofd, over_body)
    tmp = os.path.join(d, ".new.eml.AbC123")
    with open(tmp, "wb") as f:
        f.write(body)
    with _away(s):
        _gone_offline(d, uids[2:])
        assert _errno_of(os.close, fd)[0] == errno.ENETDOWN
        assert _errno_of(os.close, ofd)[0] == errno.ENETDOWN
        assert "new.eml" in os.listdir(d) and _read(path) == body
        # local to a new file, so offline too: flags, times, a hidden
        # temporary file renamed and removed (rsync's cleanup)
        os.setxattr(path, "user.imap.flags", b"\\Flagged")
        os.utime(path, (1500000000, 1500000000))
        os.rename(tmp, tmp + "x")
        os.unlink(tmp + "x")
        # a rename that would send it is refused, and changes nothing
        assert _errno_of(os.rename, path, os.path.join(d, "other.eml"))[0] == errno.ENETDOWN
        assert sorted(n for n in os.listdir(d) if not n[0].isdigit()) == ["new.eml"]
        s.resume()
        c = imaputil.connect(s)
        assert _subjects(c, name, new_subj) == [] and _subjects(c, name, over_subj) == []
        wait_for(lambda: _read(os.path.join(d, "%d.eml" % uids[2])) == bodies[uids[2]], 60,
                 "reading again once the server is back")
        # touch sends the new file, a later close the one written over,
        # each once
        os.utime(path, (1500000000, 1500000000))
        os.close(os.open(over, os.O_WRONLY))
        assert "new.eml" not in os.listdir(d)
        sent = _subjects(c, name, new_subj)
        assert len(sent) == 1, sent
        assert "\\Flagged" in " ".join(imaputil.flags_of(c, name, sent[0]))
        assert len(_subjects(c, name, over_subj)) == 1
        assert uids[0] not in imaputil.uids(c, name)
        c.logout()


def _fake(pki, body, port=0, password="pw", **kw):
    """A scripted server with an INBOX of two messages of BODY."""
    return FakeServer("imaps", cert=pki.leaf("fake-offline"), password=password,
                      mailboxes={b"INBOX": {"attrs": ["\\HasNoChildren"],
                                            "messages": [Message(1, body, []), Message(2, body, [])]}},
                      **kw).start(port)


def test_login_cut_while_mounted_is_not_offline(pki, mount):
    """A server that is reached but cuts the connection at LOGIN (a
    server's penalty for a password it no longer takes) is retried until
    the deadline, and that operation fails; the mount does not go offline
    (it would then try the login every 30 s for ever)."""
    body = msg("cut at login")
    fs = _fake(pki, body)
    try:
        m = mount(url=local_url("alice", fs.port), cafile=pki.cafile, password="pw",
                  opts=["cache_dir=" + _cache(), "poll=0"] + OPTS)
        d = os.path.join(m.path, "INBOX")
        assert _listed(d) == [1, 2]
        # the first LOGIN answered only after the timeout (a penalty
        # delay), the rest cut at once
        fs.before_cmd["LOGIN"] = lambda: time.sleep(8)
        fs.drop_at["LOGIN"] = "before"
        fs.drop_connections()
        e, took = _errno_of(_read, os.path.join(d, "1.eml"))
        assert e in (errno.EIO, errno.ETIMEDOUT), (e, m.log())
        st = subprocess.run([mountutil.imapfs_bin(), "status", m.path], capture_output=True, timeout=30)
        assert not [ln for ln in st.stdout.splitlines() if ln.startswith(b"offline")], st.stdout
        assert "offline:" not in m.log(), m.log()
        # and the next operation tries the server again, not ENETDOWN
        del fs.drop_at["LOGIN"]
        assert _read(os.path.join(d, "1.eml")) == body
    finally:
        fs.stop()


def _offline_on_fake(pki, mount, body):
    """A mount of a scripted server kept its state, then the server
    stopped and a mount made offline from it -> (mount, the port)."""
    fs = _fake(pki, body)
    opts = ["cache_dir=" + _cache(), "poll=0"] + OPTS
    m = mount(url=local_url("alice", fs.port), cafile=pki.cafile, password="pw", opts=opts)
    assert _listed(os.path.join(m.path, "INBOX")) == [1, 2]
    m.stop()
    fs.stop()
    m = mount(url=local_url("alice", fs.port), cafile=pki.cafile, password="pw", opts=opts)
    assert NOTE in m.log()
    return m, fs.port


def test_login_refused_when_back_is_tried_rarely(pki, mount):
    """Offline, the server comes back but refuses the password: the
    reconnect thread says so and waits minutes, not seconds (retrying a
    wrong password every few seconds could lock the account)."""
    m, port = _offline_on_fake(pki, mount, msg("refused"))
    fs = _fake(pki, msg("refused"), port, password="changed")
    try:
        # the pool's reconnect thread and the watcher each try once
        wait_for(lambda: "15 min" in m.log() and "in 900 s" in m.log(), 30, m.log)
        logins = fs.command_names().count("LOGIN")
        time.sleep(5)   # 1, 2, 4 s apart before: more tries by now
        assert fs.command_names().count("LOGIN") == logins <= 2, (fs.command_names(), m.log())
        f = os.path.join(m.path, "INBOX", "1.eml")
        assert _errno_of(os.setxattr, f, "user.imap.flags", b"\\Flagged")[0] == errno.ENETDOWN
    finally:
        fs.stop()


def test_capability_lost_while_offline(pki, mount):
    """An offline mount uses the capabilities kept with the cache. Once
    back online they are compared with the server's: one lost meanwhile
    (here UNSELECT) refuses every change with EROFS until a remount,
    instead of commands the server no longer has."""
    body = msg("caps")
    m, port = _offline_on_fake(pki, mount, body)
    f = os.path.join(m.path, "INBOX", "1.eml")
    assert _errno_of(os.setxattr, f, "user.imap.flags", b"\\Flagged")[0] == errno.ENETDOWN
    caps = [c for c in FakeServer("imaps").caps_auth if c != "UNSELECT"]
    fs = _fake(pki, body, port, caps_auth=caps)
    try:
        def settled():
            e = _errno_of(os.setxattr, f, "user.imap.flags", b"\\Flagged")[0]
            return None if e == errno.ENETDOWN else [e]
        got = wait_for(settled, 60, lambda: "never back online\n" + m.log())
        assert got == [errno.EROFS], (got, m.log())
        assert "no longer offers UNSELECT" in m.log(), m.log()
        assert "\\Flagged" not in fs.message(b"INBOX", 1).flags
    finally:
        fs.stop()


def test_maildir_layout_offline(fresh_servers, mount):
    """-o layout=maildir offline: the Maildir from the kept state, cached
    bodies under their Maildir names, and a flag rename, an rm and a
    delivery all refused with nothing sent (imaplib sees the folder as it
    was once the server is back)."""
    s = fresh_servers("slash")
    c, name, rel, uids, bodies = _box(s, 3, "OffMd")
    cache = _cache()
    opts = ["cache_dir=" + cache, "layout=maildir"] + OPTS
    m = mount(s, opts=opts)
    cur = os.path.join(m.path, rel, "cur")
    names = sorted(os.listdir(cur))
    assert len(names) == 3
    assert _read(os.path.join(cur, names[0])) == bodies[uids[0]]
    m.stop()
    c.logout()
    with _away(s):
        m = mount(s, opts=opts)
        d = os.path.join(m.path, rel)
        assert sorted(os.listdir(os.path.join(d, "cur"))) == names
        assert _read(os.path.join(d, "cur", names[0])) == bodies[uids[0]]
        assert _errno_of(_read, os.path.join(d, "cur", names[1]))[0] == errno.ENETDOWN
        assert _errno_of(os.rename, os.path.join(d, "cur", names[0]),
                         os.path.join(d, "cur", names[0] + "F"))[0] == errno.ENETDOWN
        assert _errno_of(os.unlink, os.path.join(d, "cur", names[1]))[0] == errno.ENETDOWN
        assert _errno_of(lambda: open(os.path.join(d, "tmp", "x"), "wb").close())[0] == errno.ENETDOWN
        assert sorted(os.listdir(os.path.join(d, "cur"))) == names
    c = imaputil.connect(s)
    assert imaputil.uids(c, name) == uids
    assert all(imaputil.flags_of(c, name, u) == set() for u in uids)

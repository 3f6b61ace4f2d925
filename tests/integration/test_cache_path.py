"""Where the body cache may live (imapfs.1, cache_dir): the attacks of the
security review (issue 10, item 5), each of which used to work.

(a) a world-writable cache_dir made beforehand by another user: the mount
    fails with one line, and nothing is written there;
(b) the account's directory swapped for a link to another directory while
    mounted: new bodies still go where the mount checked, never through
    the link;
(c) no HOME: no default under /tmp; the mount says to give cache_dir= (or
    cache=no, which then works, writes included);
(d) a cache file altered after it was read once (same length, other
    bytes): the next open notices, logs it and reads the server's bytes.

Tests run as root; "another user" is nobody (uid 65534), whose files root
must not trust either."""

import os
import subprocess
import tempfile
import time

import pytest

import corpus
import imaputil
import mountutil

NOBODY = 65534

_seq = [0]


def _uniq(tag):
    _seq[0] += 1
    return "%s%d%d" % (tag, os.getpid() % 1000, _seq[0])


@pytest.fixture(scope="module")
def srv(fresh_servers):
    return fresh_servers("slash")


def _fill(imap, srv, n, tag):
    c = imap(srv)
    name = _uniq(tag)
    imaputil.create(c, name)
    date = imaputil.internaldate_str(1704103200)
    for i in range(n):
        imaputil.append_uid(c, name, corpus.msg_plain(
            "%s %d real subject" % (tag, i),
            ["%s body %d line %d" % (tag, i, k) for k in range(40)]), date=date)
    return name, imaputil.bodies(c, name)


def _account(srv):
    return "%s@127.0.0.1:%d" % (srv.user, srv.imaps_port)


def _files_under(d):
    out = []
    for root, dirs, files in os.walk(d):
        out += [os.path.join(root, f) for f in files]
    return out


def _mount_argv(srv, mp, opts, pwfile):
    return [mountutil.imapfs_bin(), "mount", "-f", "-o",
            ",".join(["cafile=" + srv.cafile, "password_file=" + pwfile] + opts),
            srv.url(), mp]


def test_foreign_world_writable_cache_dir_refused(srv):
    """(a) cache_dir pre-created by another user, mode 0777."""
    d = tempfile.mkdtemp(prefix="cache-foreign-")
    shared = os.path.join(d, "shared")
    os.mkdir(shared)
    os.chmod(shared, 0o777)
    os.chown(shared, NOBODY, NOBODY)
    mp = os.path.join(d, "mnt")
    os.mkdir(mp)
    pw = mountutil.write_password_file(d, srv.password)
    r = mountutil.run_imapfs(["mount", "-o", "cafile=%s,password_file=%s,cache_dir=%s"
                              % (srv.cafile, pw, shared), srv.url(), mp], timeout=60)
    mounted = mountutil.is_mounted(mp)
    if mounted:
        mountutil.unmount(mp)
    err = r.stderr.decode()
    assert not mounted and r.returncode == 1, \
        "a cache directory of another user was accepted (exit %d): %s" % (r.returncode, err)
    assert len(err.strip().splitlines()) == 1, "not one line:\n" + err
    assert "refusing the cache directory" in err and "belongs to nobody" in err, err
    assert "cache_dir=" in err, err
    assert os.listdir(shared) == [], "wrote into the other user's directory: %r" % os.listdir(shared)


def test_account_dir_swapped_for_a_link_while_mounted(srv, imap, mount):
    """(b) a swap after the mount's checks redirects nothing: the cache
    holds its directory open and resolves every name under it."""
    name, want = _fill(imap, srv, 4, "Swap")
    d = tempfile.mkdtemp(prefix="cache-swap-")
    cache = os.path.join(d, "cache")
    evil = os.path.join(d, "evil")
    os.mkdir(evil)
    os.chmod(evil, 0o777)
    os.chown(evil, NOBODY, NOBODY)
    m = mount(srv, opts=["cache_dir=" + cache])
    mbox = os.path.join(m.path, name)
    uids = sorted(want)
    with open(os.path.join(mbox, "%d.eml" % uids[0]), "rb") as f:
        assert f.read() == want[uids[0]]
    acct = os.path.join(cache, _account(srv))
    moved = os.path.join(cache, "moved")
    os.rename(acct, moved)
    os.symlink(evil, acct)
    os.lchown(acct, NOBODY, NOBODY)
    for uid in uids[1:]:
        with open(os.path.join(mbox, "%d.eml" % uid), "rb") as f:
            assert f.read() == want[uid]
    assert _files_under(evil) == [], "bodies went through the link: %r" % _files_under(evil)
    kept = [os.path.basename(p) for p in _files_under(moved)]
    for uid in uids:
        assert any(k.endswith(".%d" % uid) for k in kept), \
            "UID %d is not in the directory the mount checked: %r" % (uid, kept)


def _env_without_home():
    e = dict(os.environ)
    for k in ("HOME", "XDG_CACHE_HOME", "IMAPFS_PASSWORD"):
        e.pop(k, None)
    return e


def _try_mount(srv, mp, opts, pw, cwd):
    """A foreground mount without HOME -> (exit code or None, whether it
    mounted, stderr); a mount that comes up is taken down at once."""
    errf = os.path.join(cwd, "stderr")
    with open(errf, "wb") as log:
        p = subprocess.Popen(_mount_argv(srv, mp, opts, pw), env=_env_without_home(), cwd=cwd,
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             start_new_session=True)
    deadline = time.monotonic() + 60
    mounted = False
    while p.poll() is None and time.monotonic() < deadline:
        if mountutil.is_mounted(mp):
            mounted = True
            break
        time.sleep(0.05)
    if mounted or p.poll() is None:
        mountutil.unmount(mp)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)
    with open(errf) as f:
        return p.returncode, mounted, f.read()


def test_no_home_no_default_under_tmp(srv, imap):
    """(c) without HOME the cache is not put under /tmp: the mount fails
    with a line naming cache_dir=; with cache=no it works, and a new
    message is written through an unnamed file."""
    d = tempfile.mkdtemp(prefix="cache-nohome-")
    mp = os.path.join(d, "mnt")
    os.mkdir(mp)
    pw = mountutil.write_password_file(d, srv.password)
    before = os.path.exists("/tmp/.cache/imapfs")
    rc, mounted, err = _try_mount(srv, mp, [], pw, d)
    assert not mounted and rc == 1, \
        "mounted without HOME (exit %s), cache under /tmp/.cache/imapfs: %s" % (rc, err)
    assert len(err.strip().splitlines()) == 1, "not one line:\n" + err
    assert "-o cache_dir=" in err and "cache=no" in err, err
    assert os.path.exists("/tmp/.cache/imapfs") == before

    # cache=no needs no directory: reading and appending work
    name, want = _fill(imap, srv, 1, "NoHome")
    log = open(os.path.join(d, "log"), "wb")
    p = subprocess.Popen(_mount_argv(srv, mp, ["cache=no"], pw), env=_env_without_home(),
                         cwd=d, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not mountutil.is_mounted(mp):
            assert p.poll() is None, open(os.path.join(d, "log")).read()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        (uid, body), = want.items()
        with open(os.path.join(mp, name, "%d.eml" % uid), "rb") as f:
            assert f.read() == body
        new = corpus.msg_plain("written without HOME", ["one line"])
        with open(os.path.join(mp, name, "new.eml"), "wb") as f:
            f.write(new)
        c = imap(srv)
        assert new in imaputil.bodies(c, name).values()
    finally:
        mountutil.unmount(mp)
        p.wait(30)
    assert os.path.exists("/tmp/.cache/imapfs") == before


def test_altered_cache_file_is_not_served(srv, imap, mount):
    """(d) same length, other bytes, after the file was read once in this
    mount: the checksum is verified on every open, not only the first."""
    name, want = _fill(imap, srv, 1, "Forge")
    (uid, body), = want.items()
    d = tempfile.mkdtemp(prefix="cache-forge-")
    cache = os.path.join(d, "cache")
    m = mount(srv, opts=["cache_dir=" + cache])
    path = os.path.join(m.path, name, "%d.eml" % uid)
    with open(path, "rb") as f:
        assert f.read() == body
    files = [p for p in _files_under(cache) if p.endswith(".%d" % uid)]
    assert len(files) == 1, files
    with open(files[0], "r+b") as f:
        data = f.read()
        at = data.index(b"Subject: ") + len(b"Subject: ")
        end = data.index(b"\r\n", at)
        forged = b"FORGED".ljust(end - at)
        f.seek(at)
        f.write(forged)
    # the kernel's copy of the pages goes, so the next read reaches imapfs
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    with open(path, "rb") as f:
        got = f.read()
    assert b"FORGED" not in got, "forged bytes served from the cache"
    assert got == body
    assert "checksum mismatch; fetching the message again" in m.log(), m.log()[-2000:]

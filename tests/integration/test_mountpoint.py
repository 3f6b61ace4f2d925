"""Mount points and the daemon's lifetime (issue 13, items 1 and 2), against
a real Dovecot and a real FUSE mount:

- a directory that is already a mount point (imapfs's own, a tmpfs, a dead
  FUSE mount) is refused: one line, exit 1, before any password is asked
  for, /proc/mounts unchanged;
- a non-empty directory is refused unless -o nonempty; with it the files
  are hidden while mounted and come back after the unmount;
- a relative mount point, then SIGTERM / SIGINT / SIGHUP: clean unmount,
  exit 0 (-f) or the daemon gone (background), nothing in /proc/mounts;
- imapfs umount: the daemon exits;
- -o auto_unmount: kill -9 of the daemon leaves no mount; without it the
  mount stays, dead ("Transport endpoint is not connected").
"""

import errno
import os
import signal
import subprocess
import tempfile

import pytest

import mountutil
from mountutil import in_proc_mounts, poll_until, run_imapfs


def _mounts_under(d):
    """The mounts at or below directory D: what a refused mount must leave
    as it was (the rest of the machine's mounts come and go with other
    test runs sharing it)."""
    d = os.path.abspath(d)
    return sorted(tuple(sorted(e.items())) for e in mountutil.mountinfo()
                  if e["mountpoint"] == d or
                  e["mountpoint"].startswith(d + "/"))


def _lines(r):
    return [ln for ln in r.stderr.decode("utf-8", "replace").splitlines()
            if ln.strip()]


def _mount_args(server, workdir, opts=()):
    """-o cafile,password_file[,OPTS] for SERVER, the password in WORKDIR."""
    pw = mountutil.write_password_file(workdir, server.password)
    return ["-o", ",".join(["cafile=" + server.cafile, "password_file=" + pw]
                           + list(opts))]


def _refused(r, what):
    """R is a one-line refusal saying WHAT, exit 1."""
    lines = _lines(r)
    assert r.returncode == 1, (r.returncode, lines)
    assert len(lines) == 1, lines
    assert what in lines[0], lines
    assert lines[0].startswith("imapfs: "), lines
    return lines[0]


def _daemon_pids(marker):
    """PIDs of imapfs processes whose command line holds MARKER."""
    return [pid for pid, _ in mountutil.imapfs_processes(marker)]


# a command line read in the middle of an exec can be empty: by parent
_ppid = mountutil.ppid
_children = mountutil.children


def _daemon_pid(marker):
    """The daemon among the imapfs processes whose command line holds
    MARKER: not fusermount3, and not a child of another one (the
    auto_unmount watcher it forks has its command line until it has
    exec'd /bin/sh)."""
    pids = [pid for pid, cmd in mountutil.imapfs_processes(marker)
            if b"fusermount3" not in cmd]
    roots = [pid for pid in pids if _ppid(pid) not in pids]
    assert len(roots) == 1, mountutil.imapfs_processes(marker)
    return roots[0]


def _pid_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie (our own child not yet reaped) is gone too
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


# ---- already a mount point ----------------------------------------------

def test_refuses_imapfs_mount_point(slash_server, mount):
    m = mount(slash_server)
    before = _mounts_under(m.workdir)
    # no password source at all: the refusal comes before any prompt
    r = run_imapfs(["mount", "-o", "cafile=" + slash_server.cafile,
                    slash_server.url(), m.path], timeout=30)
    line = _refused(r, "already a mount point")
    assert "imapfs umount " + m.path in line, line
    assert _mounts_under(m.workdir) == before
    assert os.listdir(m.path), "the first mount was disturbed"
    # the same through a relative path and a trailing slash
    r = run_imapfs(["mount", "-o", "cafile=" + slash_server.cafile,
                    slash_server.url(), "mnt/"], timeout=30, cwd=m.workdir)
    _refused(r, "already a mount point")
    assert _mounts_under(m.workdir) == before


def test_refuses_tmpfs_mount_point(slash_server, imapfs_bin):
    d = tempfile.mkdtemp(prefix="imapfs-mp-")
    # a blank and a backslash: /proc/self/mountinfo escapes them as \ooo
    mp = os.path.join(d, "my tmp\\x")
    os.mkdir(mp)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mp],
                   check=True)
    try:
        before = _mounts_under(d)
        r = run_imapfs(["mount"] + _mount_args(slash_server, d)
                       + [slash_server.url(), mp], timeout=30)
        line = _refused(r, "already a mount point")
        # imapfs umount would refuse it: the fix named is umount(8)'s
        assert "(umount %s first" % mp in line, line
        assert "imapfs umount" not in line, line
        assert _mounts_under(d) == before
    finally:
        mountutil.unmount(mp)
        subprocess.run(["umount", mp], capture_output=True)
    assert not in_proc_mounts(mp)


@pytest.mark.parametrize("kind", ["tmpfs", "bind"])
def test_umount_refuses_other_file_systems(imapfs_bin, kind):
    """imapfs umount, run by root, on a tmpfs or a bind mount: fusermount3
    -u would unmount it (root's fusermount3 does not check the type).
    Refused in one line naming umount(8); the mount stays."""
    d = tempfile.mkdtemp(prefix="imapfs-mp-")
    mp = os.path.join(d, "mnt")
    os.mkdir(mp)
    if kind == "tmpfs":
        cmd = ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mp]
    else:
        os.mkdir(os.path.join(d, "src"))
        cmd = ["mount", "--bind", os.path.join(d, "src"), mp]
    subprocess.run(cmd, check=True)
    try:
        fstype = mountutil.mount_entry(mp)["fstype"]
        r = run_imapfs(["umount", mp], timeout=30)
        line = _refused(r, "is not an imapfs mount")
        assert line == ("imapfs: %s is not an imapfs mount (it is %s): "
                        "use umount(8)" % (mp, fstype)), line
        assert in_proc_mounts(mp), "imapfs umount removed a %s" % kind
        # relative, as typed
        r = run_imapfs(["umount", "mnt"], timeout=30, cwd=d)
        _refused(r, "is not an imapfs mount")
        assert in_proc_mounts(mp)
    finally:
        subprocess.run(["umount", mp], capture_output=True)
    assert not in_proc_mounts(mp)


def test_refuses_long_escaped_mount_point(slash_server, imapfs_bin):
    """A mount point whose /proc/self/mountinfo line is longer than 8 KiB
    (2425 blanks, each \\040 there) is still seen as mounted."""
    d = tempfile.mkdtemp(prefix="imapfs-mp-")
    src = os.path.join(d, "s")
    os.mkdir(src)
    mp = d
    blanks = 2425
    while blanks > 0:
        n = min(blanks, 250)
        mp = os.path.join(mp, " " * n)
        blanks -= n
    os.makedirs(mp)
    assert len(mp) < 4096 and mp.count(" ") == 2425
    subprocess.run(["mount", "--bind", src, mp], check=True)
    try:
        before = _mounts_under(d)
        r = run_imapfs(["mount"] + _mount_args(slash_server, d)
                       + [slash_server.url(), mp], timeout=60)
        line = _refused(r, "already a mount point")
        assert "(umount " in line, line
        assert _mounts_under(d) == before
    finally:
        mountutil.unmount(mp)
        subprocess.run(["umount", mp], capture_output=True)
    assert not in_proc_mounts(mp)


def test_refuses_bind_mount_of_same_fs(slash_server, imapfs_bin):
    """A bind mount keeps st_dev: only mountinfo tells."""
    d = tempfile.mkdtemp(prefix="imapfs-mp-")
    src, mp = os.path.join(d, "src"), os.path.join(d, "bind")
    os.mkdir(src)
    os.mkdir(mp)
    subprocess.run(["mount", "--bind", src, mp], check=True)
    try:
        r = run_imapfs(["mount"] + _mount_args(slash_server, d)
                       + [slash_server.url(), mp], timeout=30)
        _refused(r, "already a mount point")
    finally:
        subprocess.run(["umount", mp], capture_output=True)


def test_not_a_directory(imapfs_bin):
    d = tempfile.mkdtemp(prefix="imapfs-mp-")
    r = run_imapfs(["mount", "imaps://u@127.0.0.1/", os.path.join(d, "nope")],
                   timeout=30)
    _refused(r, "mkdir -p")


# ---- two at once --------------------------------------------------------

RACE_ROUNDS = 4


def test_two_mounts_at_once(slash_server, imapfs_bin):
    """Two `imapfs mount URL DIR &` started together on one directory:
    both used to pass the check (made before the login) and stack two
    mounts. Now exactly one mounts; the other says so in one line, exit
    1; /proc/mounts has one line for the directory."""
    d = tempfile.mkdtemp(prefix="imapfs-race-")
    args = _mount_args(slash_server, d)
    for rnd in range(RACE_ROUNDS):
        mp = os.path.join(d, "m%d" % rnd)
        os.mkdir(mp)
        env = dict(os.environ)
        env.pop("IMAPFS_PASSWORD", None)
        procs = [subprocess.Popen([imapfs_bin, "mount"] + args
                                  + [slash_server.url(), mp], env=env,
                                  stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
                 for _ in range(2)]
        try:
            results = [(p.wait(60), p.stderr.read().decode()) for p in procs]
            ok = [r for r in results if r[0] == 0]
            assert len(ok) == 1, (rnd, results)
            (code, err), = [r for r in results if r[0] != 0]
            lines = [ln for ln in err.splitlines() if ln.strip()]
            assert code == 1 and len(lines) == 1, (rnd, results)
            assert ("another imapfs is mounting on %s" % mp in lines[0]
                    or "already a mount point" in lines[0]), lines
            with open("/proc/mounts") as f:
                n = sum(1 for ln in f if ln.split()[1] == mp)
            assert n == 1, "%d mounts on %s" % (n, mp)
            assert "INBOX" in os.listdir(mp)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            while mountutil.is_mounted(mp):
                if not mountutil.unmount(mp):
                    break
        assert not in_proc_mounts(mp)


# ---- non-empty ----------------------------------------------------------

def test_nonempty_refused_then_allowed(slash_server, mount, imap):
    m = mount(slash_server, start=False)
    hidden = {"notes.txt": b"mine\n", ".dotfile": b"x"}
    for name, data in hidden.items():
        with open(os.path.join(m.path, name), "wb") as f:
            f.write(data)
    r = run_imapfs(["mount", "-o", "cafile=" + slash_server.cafile,
                    slash_server.url(), m.path], timeout=30)
    line = _refused(r, "not empty")
    assert "-o nonempty" in line and "empty directory" in line, line
    assert not in_proc_mounts(m.path)

    m.opts.append("nonempty")
    m.start()
    names = os.listdir(m.path)
    assert "INBOX" in names
    assert not set(hidden) & set(names), names
    # the mount is the server's: an independent client sees the same
    c = imap(slash_server)
    typ, _ = c.select("INBOX", readonly=True)
    assert typ == "OK"
    assert m.stop(cleanup=False) == 0
    for name, data in hidden.items():
        with open(os.path.join(m.path, name), "rb") as f:
            assert f.read() == data


# ---- lifetime: signals, relative paths, umount ----------------------------

SIGNALS = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]

# How long the daemon may take to end after a signal or an unmount: a file
# operation still in flight ends within its deadline, twice the network
# timeout (imapfs.1: timeout=, 30 s by default), and the watcher thread
# gets 2 s to stop before its connection is cut (src/watch.c: watch_stop).
# Nothing is in flight in these tests, so the daemon ends at once: the
# bound only turns a hang into a failure.
EXIT_BOUND = 2 * 30 + 2


def _sig_ignored(pid, sig):
    """SIG is ignored by PID (SigIgn in /proc/PID/status)."""
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("SigIgn:"):
                return bool(int(ln.split()[1], 16) & (1 << (sig - 1)))
    raise AssertionError("no SigIgn for %d" % pid)


def _default_signals():
    """In the child before exec: the three signals at their defaults. A
    shell runs background jobs with SIGINT ignored, and imapfs (like
    libfuse) leaves a signal it inherited ignored alone (nohup)."""
    for s in SIGNALS:
        signal.signal(s, signal.SIG_DFL)


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_relative_foreground_signal(slash_server, imapfs_bin, sig):
    d = tempfile.mkdtemp(prefix="imapfs-rel-")
    os.mkdir(os.path.join(d, "m2"))
    mp = os.path.join(d, "m2")
    log = open(os.path.join(d, "log"), "wb")
    p = subprocess.Popen([imapfs_bin, "mount", "-f"]
                         + _mount_args(slash_server, d)
                         + [slash_server.url(), "m2"], cwd=d,
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         start_new_session=True, preexec_fn=_default_signals)
    try:
        assert poll_until(lambda: mountutil.is_mounted(mp) or p.poll() is not None,
                          mountutil.MOUNT_TIMEOUT), "no mount"
        assert mountutil.is_mounted(mp), open(os.path.join(d, "log")).read()
        assert "INBOX" in os.listdir(mp)
        os.kill(p.pid, sig)
        rc = p.wait(30)
        out = open(os.path.join(d, "log")).read()
        assert rc == 0, (rc, out)
        assert "failed to unmount" not in out, out
        assert not in_proc_mounts(mp)
        assert os.listdir(mp) == []
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        mountutil.unmount(mp)


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_relative_background_signal(slash_server, imapfs_bin, sig):
    d = tempfile.mkdtemp(prefix="imapfs-rel-")
    os.mkdir(os.path.join(d, "m2"))
    mp = os.path.join(d, "m2")
    r = run_imapfs(["mount"] + _mount_args(slash_server, d)
                   + [slash_server.url(), "m2"], cwd=d, timeout=60,
                   preexec_fn=_default_signals)
    try:
        assert r.returncode == 0, r.stderr
        assert in_proc_mounts(mp), "/proc/mounts lacks the absolute path"
        pids = _daemon_pids(os.path.join(d, "password"))
        assert len(pids) == 1, pids
        os.kill(pids[0], sig)
        assert poll_until(lambda: _pid_gone(pids[0]), EXIT_BOUND), \
            "daemon still running"
        assert not in_proc_mounts(mp), "dead mount left behind"
        assert os.listdir(mp) == []
    finally:
        mountutil.unmount(mp)


def test_nohup_keeps_sighup_ignored(slash_server, imapfs_bin):
    """Started as nohup starts it (SIGHUP ignored), the daemon stays
    mounted through a SIGHUP, as sshfs does; SIGTERM still ends it."""
    d = tempfile.mkdtemp(prefix="imapfs-rel-")
    os.mkdir(os.path.join(d, "m2"))
    mp = os.path.join(d, "m2")

    def nohup():
        _default_signals()
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    r = run_imapfs(["mount"] + _mount_args(slash_server, d)
                   + [slash_server.url(), "m2"], cwd=d, timeout=60,
                   preexec_fn=nohup)
    try:
        assert r.returncode == 0, r.stderr
        pids = _daemon_pids(os.path.join(d, "password"))
        assert len(pids) == 1, pids
        # an ignored signal is discarded when sent, not delivered later:
        # with SIGHUP ignored, the kill below can end nothing
        assert _sig_ignored(pids[0], signal.SIGHUP), \
            "the daemon handles the SIGHUP nohup ignored"
        assert not _sig_ignored(pids[0], signal.SIGTERM)
        os.kill(pids[0], signal.SIGHUP)
        assert not _pid_gone(pids[0]) and in_proc_mounts(mp)
        assert "INBOX" in os.listdir(mp)
        os.kill(pids[0], signal.SIGTERM)
        assert poll_until(lambda: _pid_gone(pids[0]), EXIT_BOUND), \
            "daemon still running"
        assert not in_proc_mounts(mp)
    finally:
        mountutil.unmount(mp)


def test_umount_ends_daemon(slash_server, imapfs_bin):
    d = tempfile.mkdtemp(prefix="imapfs-um-")
    mp = os.path.join(d, "mnt")
    os.mkdir(mp)
    r = run_imapfs(["mount"] + _mount_args(slash_server, d)
                   + [slash_server.url(), mp], timeout=60)
    try:
        assert r.returncode == 0, r.stderr
        pids = _daemon_pids(os.path.join(d, "password"))
        assert len(pids) == 1, pids
        r = run_imapfs(["umount", mp], timeout=30)
        assert r.returncode == 0, r.stderr
        assert poll_until(lambda: _pid_gone(pids[0]), EXIT_BOUND), \
            "daemon outlived its mount"
        assert not in_proc_mounts(mp)
    finally:
        mountutil.unmount(mp)


# ---- kill -9: auto_unmount ----------------------------------------------
# Nothing between the daemon's death and the unmount waits on a timer: the
# watchers (libfuse's fusermount3 and imapfs's own /bin/sh, fs/watchdog.c)
# wake when the dead daemon's descriptors close, unmount or decide not to,
# and exit. So the tests wait for the watchers to be gone, then look.
# WATCHERS_HANG only turns a hung watcher into a failure.
WATCHERS_HANG = mountutil.MOUNT_TIMEOUT


def _kill9(mount, server, opts, foreground=True):
    """Mount with OPTS, kill -9 the daemon: -> (mount, the other
    processes that named its mount point: its auto_unmount watchers)."""
    m = mount(server, opts=opts, foreground=foreground)
    # served: the daemon has started its own watcher (before its loop)
    assert "INBOX" in os.listdir(m.path)
    pid = m.proc.pid if foreground else \
        _daemon_pid(os.path.join(m.workdir, "password"))
    # its children (imapfs's watcher; libfuse's fusermount3 too in the
    # foreground) and whatever else names the mount point
    watchers = sorted((set(_children(pid)) | set(_daemon_pids(m.path)))
                      - {pid})
    os.kill(pid, signal.SIGKILL)
    if foreground:
        m.proc.wait(10)
    return m, watchers


def _watchers_done(watchers):
    assert poll_until(lambda: all(_pid_gone(p) for p in watchers),
                      WATCHERS_HANG), "a watcher hangs: %r" % watchers


@pytest.mark.parametrize("foreground", [True, False], ids=["f", "bg"])
def test_auto_unmount_after_kill9(slash_server, mount, foreground):
    m, watchers = _kill9(mount, slash_server, ["auto_unmount"], foreground)
    # libfuse's fusermount3 and imapfs's own (fs/watchdog.h says why)
    assert len(watchers) >= 2, watchers
    _watchers_done(watchers)
    assert not in_proc_mounts(m.path), \
        "kill -9 with auto_unmount left a mount"
    assert os.listdir(m.path) == []


def test_auto_unmount_without_libfuse_watcher(slash_server, mount):
    """libfuse's watcher leaves the mount when it looks too early (its open
    of the mount point fails with ECONNABORTED, not ENOTCONN, when the
    daemon's socket closed before /dev/fuse: one kill -9 in 40 under
    load). imapfs's own watcher unmounts then, although the stat below
    left the mount point's attributes in the kernel's cache (a stat of
    the dead mount still succeeds: the watcher must open it)."""
    m = mount(slash_server, opts=["auto_unmount"])
    assert "INBOX" in os.listdir(m.path)
    os.stat(m.path)
    fusermount = [pid for pid, cmd in mountutil.imapfs_processes(m.path)
                  if cmd.startswith(b"fusermount3\0")]
    assert len(fusermount) == 1, mountutil.imapfs_processes(m.path)
    os.kill(fusermount[0], signal.SIGKILL)
    assert poll_until(lambda: _pid_gone(fusermount[0]), WATCHERS_HANG)
    watchers = _children(m.proc.pid)
    assert watchers, "imapfs started no watcher of its own"
    os.kill(m.proc.pid, signal.SIGKILL)
    m.proc.wait(10)
    _watchers_done(watchers)
    assert not in_proc_mounts(m.path), "imapfs's watcher left the mount"


def test_kill9_without_auto_unmount_leaves_dead_mount(slash_server, mount,
                                                      imapfs_bin):
    """What imapfs.1 says happens without auto_unmount: the mount stays,
    dead, until unmounted; mounting on it again says so."""
    m, watchers = _kill9(mount, slash_server, [])
    # no watcher that could unmount it later: the mount stays for good
    assert watchers == []
    assert in_proc_mounts(m.path)
    with pytest.raises(OSError) as ei:
        os.listdir(m.path)
    assert ei.value.errno == errno.ENOTCONN
    r = run_imapfs(["mount", "-o", "cafile=" + slash_server.cafile,
                    slash_server.url(), m.path], timeout=30)
    _refused(r, "imapfs umount")
    r = run_imapfs(["umount", m.path], timeout=30)
    assert r.returncode == 0, r.stderr
    assert not in_proc_mounts(m.path)

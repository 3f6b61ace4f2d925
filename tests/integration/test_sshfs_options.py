"""Options users bring from sshfs 3.7 and rclone mount (issue 13, item 3),
against a real Dovecot and a real FUSE mount: uid=, gid= and umask= as
`stat` shows them on the root, a mailbox and a message, and as the kernel
enforces them for another user (nobody, through setpriv) under allow_other
and allow_root; -d (foreground, FUSE and IMAP trace), mount -h / -V,
reconnect and default_permissions accepted; auto_unmount as an ordinary
user.
"""

import os
import re
import fcntl
import json
import signal
import stat
import subprocess
import tempfile
import time

import pytest

import mountutil
from mountutil import in_proc_mounts, run_imapfs
from waitutil import poll

NOBODY = 65534


@pytest.fixture
def fuse_for_users():
    """/dev/fuse open to ordinary users (0666, as Debian's udev makes it;
    some containers make it 0600, and fusermount3 opens it as the user)
    for the test, its mode restored afterwards, also on failure. Tests
    that change it run one at a time (a lock file), so that two of them
    cannot restore each other's mode."""
    lock = open(os.path.join(tempfile.gettempdir(), "..",
                             "imapfs-dev-fuse.lock"), "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    mode = stat.S_IMODE(os.stat("/dev/fuse").st_mode)
    try:
        if mode & 0o666 != 0o666:
            os.chmod("/dev/fuse", mode | 0o666)
        yield
    finally:
        os.chmod("/dev/fuse", mode)
        lock.close()


def _with_fuse_conf(text, argv, **kw):
    """Run ARGV in a mount namespace of its own where /etc/fuse.conf holds
    TEXT (a bind mount over it: the machine's file is not touched, and
    what the test needs does not depend on it)."""
    d = tempfile.mkdtemp(prefix="imapfs-fuseconf-")
    os.chmod(d, 0o755)
    conf = os.path.join(d, "fuse.conf")
    with open(conf, "w") as f:
        f.write(text)
    os.chmod(conf, 0o644)
    return subprocess.run(["unshare", "-m", "--propagation", "private",
                           "sh", "-c",
                           'mount --bind "$0" /etc/fuse.conf && exec "$@"',
                           conf] + argv,
                          capture_output=True, timeout=120, **kw)


def _user_workdir(server):
    """A directory for nobody: (dir, mount point, password file, env)."""
    d = tempfile.mkdtemp(prefix="imapfs-user-")
    os.chmod(d, 0o755)
    mp = os.path.join(d, "mnt")
    cache = os.path.join(d, "cache")
    os.mkdir(mp)
    os.mkdir(cache)
    pw = mountutil.write_password_file(d, server.password)
    for p in (mp, cache, pw):
        os.chown(p, NOBODY, NOBODY)
    env = dict(os.environ, HOME=d, XDG_CACHE_HOME=cache,
               XDG_CONFIG_HOME=d, XDG_STATE_HOME=cache)
    env.pop("IMAPFS_PASSWORD", None)
    return d, mp, pw, env


def _as_nobody(argv, **kw):
    return subprocess.run(["setpriv", "--reuid=%d" % NOBODY,
                           "--regid=%d" % NOBODY, "--clear-groups"] + argv,
                          capture_output=True, timeout=60, **kw)


def _first_message(m):
    inbox = os.path.join(m.path, "INBOX")
    names = sorted(n for n in os.listdir(inbox) if n.endswith(".eml"))
    assert names, os.listdir(inbox)
    return os.path.join(inbox, names[0])


def _modes(m):
    """(uid, gid, mode) of the root, INBOX and a message."""
    out = []
    for p in (m.path, os.path.join(m.path, "INBOX"), _first_message(m)):
        st = os.stat(p)
        out.append((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)))
    return out


def _inbox_count(imap, server):
    c = imap(server)
    typ, data = c.select("INBOX", readonly=True)
    assert typ == "OK"
    return int(data[0])


@pytest.mark.parametrize("opts,want", [
    ([], [(0, 0, 0o700), (0, 0, 0o700), (0, 0, 0o600)]),
    (["umask=077"], [(0, 0, 0o700), (0, 0, 0o700), (0, 0, 0o600)]),
    (["uid=%d" % NOBODY, "gid=%d" % NOBODY, "umask=022"],
     [(NOBODY, NOBODY, 0o755), (NOBODY, NOBODY, 0o755),
      (NOBODY, NOBODY, 0o644)]),
    (["gid=100", "umask=0027"], [(0, 100, 0o750), (0, 100, 0o750),
                                 (0, 100, 0o640)]),
    (["ro", "umask=002"], [(0, 0, 0o555), (0, 0, 0o555), (0, 0, 0o444)]),
], ids=["default", "umask077", "uid_gid_umask022", "gid_umask027",
        "ro_umask002"])
def test_owner_and_mode(slash_server, mount, imap, opts, want):
    m = mount(slash_server, opts=opts)
    assert _modes(m) == want
    # the listing is the server's (independent client)
    inbox = [n for n in os.listdir(os.path.join(m.path, "INBOX"))
             if n.endswith(".eml")]
    assert len(inbox) == _inbox_count(imap, slash_server)


def _shared_mount(mount, server, opts):
    """A mount other users can reach: its work dir 0755 (mkdtemp's 0700
    would stop them before FUSE is asked)."""
    m = mount(server, start=False, opts=opts)
    os.chmod(m.workdir, 0o755)
    return m.start()


@pytest.mark.parametrize("opts,nobody_reads", [
    (["allow_other"], False),
    (["allow_other", "umask=022"], True),
    (["allow_other", "uid=%d" % NOBODY], True),
    (["umask=022"], False),
], ids=["allow_other", "allow_other_umask022", "allow_other_uid_nobody",
        "umask022_only"])
def test_other_user_access(slash_server, mount, opts, nobody_reads):
    """(allow_root mounted by root changes nothing for nobody: see
    test_allow_root_as_user for what it does.)"""
    m = _shared_mount(mount, slash_server, opts)
    msg = _first_message(m)
    with open(msg, "rb") as f:
        mine = f.read()
    r = _as_nobody(["cat", msg])
    if nobody_reads:
        assert r.returncode == 0, r.stderr
        assert r.stdout == mine
    else:
        assert r.returncode != 0, "nobody read the mail with %r" % opts
        assert b"Permission denied" in r.stderr, r.stderr
        assert r.stdout == b""


def test_allow_other_and_allow_root_exclusive(imapfs_bin):
    d = tempfile.mkdtemp(prefix="imapfs-opt-")
    r = run_imapfs(["mount", "-o", "allow_other,allow_root",
                    "imaps://u@127.0.0.1/", d], timeout=30)
    lines = r.stderr.decode().splitlines()
    assert r.returncode == 1 and len(lines) == 1, (r.returncode, lines)
    assert "allow_root" in lines[0] and "allow_other" in lines[0]


@pytest.mark.parametrize("value", ["8", "0999", "1000", "x", ""])
def test_bad_umask(imapfs_bin, value):
    d = tempfile.mkdtemp(prefix="imapfs-opt-")
    r = run_imapfs(["mount", "-o", "umask=" + value,
                    "imaps://u@127.0.0.1/", d], timeout=30)
    lines = r.stderr.decode().splitlines()
    assert r.returncode == 1 and len(lines) == 1, (r.returncode, lines)
    assert "umask" in lines[0] and "octal" in lines[0].lower(), lines


def test_reconnect_default_permissions_accepted(slash_server, mount):
    m = mount(slash_server, opts=["reconnect", "default_permissions"],
              foreground=False)
    assert "INBOX" in os.listdir(m.path)


@pytest.mark.parametrize("args", [["-h"], ["--help"]])
def test_mount_help(imapfs_bin, args):
    r = run_imapfs(["mount"] + args)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out.startswith("usage: imapfs mount")
    for word in ("umask=", "auto_unmount", "-d "):
        assert word in out


@pytest.mark.parametrize("args", [["-V"], ["--version"]])
def test_mount_version(imapfs_bin, args):
    r = run_imapfs(["mount"] + args)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().startswith("imapfs ")
    assert r.stdout.decode() == run_imapfs(["--version"]).stdout.decode()


def test_help_columns(imapfs_bin):
    """imapfs --help: -f, -d and the -o lines start their text in one
    column."""
    out = run_imapfs(["--help"]).stdout.decode().splitlines()
    cols = set()
    for ln in out:
        m = re.match(r"^    (-[fdhV](?:, --\S+)?|-o \S+) +", ln)
        if m:
            cols.add(len(m.group(0)))
    assert len(cols) == 1, cols


def test_debug_flag(slash_server, imapfs_bin):
    """-d: stays in the foreground (no -f given) and prints FUSE requests
    and the IMAP protocol, password redacted."""
    d = tempfile.mkdtemp(prefix="imapfs-dbg-")
    mp = os.path.join(d, "mnt")
    os.mkdir(mp)
    pw = mountutil.write_password_file(d, slash_server.password)
    log = os.path.join(d, "log")
    with open(log, "wb") as f:
        p = subprocess.Popen([imapfs_bin, "mount", "-d", "-o",
                              "cafile=%s,password_file=%s"
                              % (slash_server.cafile, pw),
                              slash_server.url(), mp],
                             stdin=subprocess.DEVNULL, stdout=f, stderr=f,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not mountutil.is_mounted(mp) and p.poll() is None and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        assert mountutil.is_mounted(mp), open(log).read()
        assert "INBOX" in os.listdir(mp)
        # the listdir was answered after fuse_daemonize(): had -d forked a
        # daemon, that child would exist now, with our command line
        assert p.poll() is None, "-d did not stay in the foreground"
        assert [pid for pid, _ in mountutil.imapfs_processes(mp)] == \
            [p.pid], "-d forked: %r" % mountutil.imapfs_processes(mp)
        out = open(log, encoding="utf-8", errors="replace").read()
        assert "unique: " in out and "opcode: " in out, out[-2000:]
        assert " C: " in out and " S: " in out, out[-2000:]
        assert slash_server.password not in out
        os.kill(p.pid, signal.SIGTERM)
        assert p.wait(30) == 0
        assert not in_proc_mounts(mp)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        mountutil.unmount(mp)


def _daemon_pid(marker):
    """The daemon among the non-fusermount3 imapfs processes whose
    command line holds MARKER: the one whose parent is not one of them
    (its watcher has its command line until it has exec'd) -> pid or
    None."""
    pids = [pid for pid, cmd in mountutil.imapfs_processes(marker)
            if b"fusermount3" not in cmd]
    roots = [pid for pid in pids if mountutil.ppid(pid) not in pids]
    return roots[0] if len(roots) == 1 else None


def _watcher_of(daemon):
    """The pid of DAEMON's child that has exec'd the auto_unmount
    watcher (sh ... imapfs-auto-unmount), or None."""
    for pid in mountutil.children(daemon):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if b"imapfs-auto-unmount" in f.read():
                    return pid
        except OSError:
            pass
    return None


@pytest.mark.parametrize("end", ["kill9", "umount"])
def test_auto_unmount_as_user(slash_server, imapfs_bin, fuse_for_users,
                              end):
    """An ordinary user (nobody) mounts through fusermount3; with
    auto_unmount, kill -9 of the daemon leaves no mount behind (libfuse
    3.14's own watcher cannot: imapfs's fs/watchdog.c does), and after a
    clean unmount no watcher stays either."""
    d, mp, pw, env = _user_workdir(slash_server)
    r = _as_nobody([imapfs_bin, "mount", "-o",
                    "cafile=%s,password_file=%s,auto_unmount"
                    % (slash_server.cafile, pw), slash_server.url(), mp],
                   env=env, stdin=subprocess.DEVNULL)
    try:
        assert r.returncode == 0, r.stderr
        assert in_proc_mounts(mp)
        # the watcher is forked after the daemon detaches (mount returns
        # before that): the daemon is the one process holding the password
        # file's name that is no child of another such; its watcher is the
        # child that has exec'd /bin/sh with "imapfs-auto-unmount". A kill
        # before that fork would leave the mount behind by design.
        daemon = poll(lambda: _daemon_pid(pw), 30, interval=0.05)[0]
        assert daemon, mountutil.imapfs_processes(pw)
        with open("/proc/%d/status" % daemon) as f:
            assert any(ln.split()[:2] == ["Uid:", str(NOBODY)]
                       for ln in f), "daemon does not run as nobody"
        assert poll(lambda: _watcher_of(daemon), 30, interval=0.05)[0], \
            "no auto_unmount watcher forked by %d" % daemon
        if end == "kill9":
            os.kill(daemon, signal.SIGKILL)
        else:
            r = _as_nobody([imapfs_bin, "umount", mp])
            assert r.returncode == 0, r.stderr
        deadline = time.monotonic() + 5
        while in_proc_mounts(mp) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = in_proc_mounts(mp)
        assert not left, "%s left a mount" % end
        # neither the daemon nor a watcher (fusermount3, sh) stays
        deadline = time.monotonic() + 5
        while mountutil.imapfs_processes(mp) and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        assert not mountutil.imapfs_processes(mp)
    finally:
        mountutil.unmount(mp)


@pytest.mark.parametrize("opt", ["allow_root", "allow_other"])
def test_allow_root_needs_user_allow_other(slash_server, imapfs_bin,
                                           fuse_for_users, opt):
    """An ordinary user asking for allow_root or allow_other without
    user_allow_other in /etc/fuse.conf: one line naming the option and
    the fix, exit 1, before the password is read or the server reached
    (fusermount3 used to refuse at the end, naming allow_other, plus a
    guess about /dev/fuse, exit 4)."""
    d, mp, pw, env = _user_workdir(slash_server)
    os.chmod(pw, 0)     # would fail if read
    r = _with_fuse_conf(
        "# user_allow_other\nmount_max = 1000\n  #user_allow_other  \n",
        ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
         "--clear-groups", imapfs_bin, "mount", "-o",
         "cafile=%s,password_file=%s,%s" % (slash_server.cafile, pw, opt),
         "imaps://nobody@127.0.0.1:1/", mp],
        env=env, stdin=subprocess.DEVNULL)
    lines = [ln for ln in r.stderr.decode().splitlines() if ln.strip()]
    assert r.returncode == 1 and len(lines) == 1, (r.returncode, lines)
    assert lines[0] == ("imapfs: %s needs user_allow_other in "
                        "/etc/fuse.conf (ask root to add it)" % opt), lines
    assert not in_proc_mounts(mp)


_ALLOW_ROOT_SCRIPT = r"""
import json, os, subprocess, sys

a = json.loads(sys.argv[1])
def as_user(uid, argv):
    return subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                           "--clear-groups"] + argv, capture_output=True,
                          env=a["env"], stdin=subprocess.DEVNULL, timeout=60)
out = {}
r = as_user(a["nobody"], [a["bin"], "mount", "-o", a["opts"], a["url"],
                          a["mp"]])
out["mount"] = [r.returncode, r.stderr.decode()]
if r.returncode == 0:
    try:
        inbox = os.path.join(a["mp"], "INBOX")
        r = as_user(a["nobody"], ["ls", inbox])
        msg = os.path.join(inbox, sorted(
            n for n in r.stdout.decode().split() if n.endswith(".eml"))[0])
        try:
            with open(msg, "rb") as f:
                out["root"] = f.read().decode("latin-1")
        except OSError as e:
            out["root"] = e.errno
        r = as_user(a["other"], ["cat", msg])
        out["other"] = [r.returncode, r.stderr.decode(), len(r.stdout)]
    finally:
        r = as_user(a["nobody"], [a["bin"], "umount", a["mp"]])
        out["umount"] = [r.returncode, r.stderr.decode()]
print(json.dumps(out))
"""

OTHER_USER = 65533


@pytest.mark.parametrize("allow_root", [True, False],
                         ids=["allow_root", "without"])
def test_allow_root_as_user(slash_server, imapfs_bin, imap, fuse_for_users,
                            allow_root):
    """nobody mounts with allow_root (umask=022, so the modes would let
    anyone read): root reads a message, byte for byte the server's; another
    user is refused by FUSE. Without allow_root root is refused too: the
    option is what lets root in. user_allow_other is in a private
    /etc/fuse.conf (_with_fuse_conf), the machine's left alone."""
    d, mp, pw, env = _user_workdir(slash_server)
    opts = "cafile=%s,password_file=%s,umask=022" % (slash_server.cafile, pw)
    if allow_root:
        opts += ",allow_root"
    args = {"bin": imapfs_bin, "opts": opts, "url": slash_server.url(),
            "mp": mp, "env": env, "nobody": NOBODY, "other": OTHER_USER}
    try:
        r = _with_fuse_conf("# added for the test\n  user_allow_other \n",
                            ["python3", "-c", _ALLOW_ROOT_SCRIPT,
                             json.dumps(args)])
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
    finally:
        for pid, _ in mountutil.imapfs_processes(pw):
            os.kill(pid, signal.SIGKILL)
    assert out["mount"][0] == 0, out
    assert out["umount"][0] == 0, out
    # the other user: refused by FUSE (the mode would let it read)
    assert out["other"][0] != 0 and out["other"][2] == 0, out
    assert "Permission denied" in out["other"][1], out
    if not allow_root:
        assert out["root"] == 13, "root read a mount without allow_root"
        return
    assert isinstance(out["root"], str), out
    c = imap(slash_server)
    typ, data = c.select("INBOX", readonly=True)
    assert typ == "OK"
    typ, data = c.fetch("1:*", "(BODY.PEEK[])")
    assert typ == "OK"
    bodies = [part[1] for part in data if isinstance(part, tuple)]
    assert out["root"].encode("latin-1") in bodies

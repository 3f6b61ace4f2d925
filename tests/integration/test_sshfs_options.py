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
import signal
import stat
import subprocess
import tempfile
import time

import pytest

import mountutil
from mountutil import in_proc_mounts, run_imapfs

NOBODY = 65534


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
    (["allow_root", "umask=022"], False),
    (["umask=022"], False),
], ids=["allow_other", "allow_other_umask022", "allow_other_uid_nobody",
        "allow_root_umask022", "umask022_only"])
def test_other_user_access(slash_server, mount, opts, nobody_reads):
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
        time.sleep(0.5)
        assert p.poll() is None, "-d did not stay in the foreground"
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


@pytest.mark.parametrize("end", ["kill9", "umount"])
def test_auto_unmount_as_user(slash_server, imapfs_bin, end):
    """An ordinary user (nobody) mounts through fusermount3; with
    auto_unmount, kill -9 of the daemon leaves no mount behind (libfuse
    3.14's own watcher cannot: imapfs's fs/watchdog.c does), and after a
    clean unmount no watcher stays either. Needs
    /dev/fuse open to all (0666, as Debian's udev makes it; some
    containers make it 0600: fusermount3 opens it as the user)."""
    if not os.stat("/dev/fuse").st_mode & stat.S_IROTH:
        pytest.skip("/dev/fuse is not open to ordinary users here")
    d = tempfile.mkdtemp(prefix="imapfs-user-")
    os.chmod(d, 0o755)
    mp = os.path.join(d, "mnt")
    cache = os.path.join(d, "cache")
    os.mkdir(mp)
    os.mkdir(cache)
    pw = mountutil.write_password_file(d, slash_server.password)
    for p in (mp, cache, pw):
        os.chown(p, NOBODY, NOBODY)
    env = dict(os.environ, HOME=d, XDG_CACHE_HOME=cache,
               XDG_CONFIG_HOME=d)
    env.pop("IMAPFS_PASSWORD", None)
    r = _as_nobody([imapfs_bin, "mount", "-o",
                    "cafile=%s,password_file=%s,auto_unmount"
                    % (slash_server.cafile, pw), slash_server.url(), mp],
                   env=env, stdin=subprocess.DEVNULL)
    try:
        assert r.returncode == 0, r.stderr
        assert in_proc_mounts(mp)
        pids = [pid for pid, cmd in mountutil.imapfs_processes(pw)
                if b"fusermount3" not in cmd]
        assert len(pids) == 1, pids
        with open("/proc/%d/status" % pids[0]) as f:
            assert any(ln.split()[:2] == ["Uid:", str(NOBODY)]
                       for ln in f), "daemon does not run as nobody"
        if end == "kill9":
            os.kill(pids[0], signal.SIGKILL)
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

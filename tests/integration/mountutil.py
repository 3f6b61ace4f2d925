"""Running the imapfs binary from the tests.

    m = Mount(url, cafile=..., password=..., opts=["ro"]).start()
    ... m.path is the live mount ...
    m.stop()                  # fusermount3 -u, falling back to umount -l

    r = run_imapfs(["--help"])   # -> subprocess.CompletedProcess

The binary is $IMAPFS_BIN, else <repo>/build/fs/imapfs. The password goes
in a 0600 password_file unless the test says otherwise (never on the
command line).
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time

from waitutil import poll

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

MOUNT_TIMEOUT = 60      # seconds for a mount to appear or the process to die


def build_dir():
    return os.environ.get("IMAPFS_BUILD") or os.path.join(REPO, "build")


def imapfs_bin():
    return os.environ.get("IMAPFS_BIN") or os.path.join(build_dir(), "fs",
                                                        "imapfs")


def _unescape_mount_field(s):
    # /proc/mounts escapes space, tab, newline and backslash as \ooo.
    out = []
    i = 0
    while i < len(s):
        if s[i] == "\\" and i + 3 < len(s) + 1 and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def mountinfo():
    """-> list of dicts {mountpoint, fstype, source, dev} from
    /proc/self/mountinfo (no syscall touches the FUSE file system)."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            sep = parts.index("-")
            out.append({"dev": parts[2],
                        "mountpoint": _unescape_mount_field(parts[4]),
                        "fstype": parts[sep + 1],
                        "source": _unescape_mount_field(parts[sep + 2])})
    return out


def mount_entry(path):
    path = os.path.abspath(path)
    for e in mountinfo():
        if e["mountpoint"] == path:
            return e
    return None


def is_mounted(path):
    return mount_entry(path) is not None


def in_proc_mounts(path):
    """True if PATH is a mount point according to /proc/mounts."""
    path = os.path.abspath(path)
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) > 1 and _unescape_mount_field(parts[1]) == path:
                return True
    return False


def fuse_abort(path):
    """Abort the FUSE connection behind PATH (unblocks anything stuck in
    it). Mounts fusectl if needed. Best effort."""
    e = mount_entry(path)
    if not e or not e["fstype"].startswith("fuse"):
        return
    minor = e["dev"].split(":")[1]
    conns = "/sys/fs/fuse/connections"
    if os.path.isdir(conns) and not os.listdir(conns):
        subprocess.run(["mount", "-t", "fusectl", "fusectl", conns],
                       capture_output=True)
    try:
        with open(os.path.join(conns, minor, "abort"), "w") as f:
            f.write("1")
    except OSError:
        pass


def unmount(path, timeout=20):
    """fusermount3 -u, falling back to umount -l. True if gone."""
    if not is_mounted(path):
        return True
    try:
        subprocess.run(["fusermount3", "-u", path], capture_output=True,
                       timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    if not is_mounted(path):
        return True
    fuse_abort(path)
    subprocess.run(["umount", "-l", path], capture_output=True,
                   timeout=timeout)
    return not is_mounted(path)


def imapfs_processes(marker):
    """-> [(pid, cmdline bytes)] of the processes whose command line holds
    MARKER and "imapfs" (a daemon, found by its mount point or password
    file)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if marker.encode() in cmd and b"imapfs" in cmd:
            out.append((int(pid), cmd))
    return out


def ppid(pid):
    """PID's parent (from /proc/PID/stat), or None when PID is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().split(")")[-1].split()[1])
    except OSError:
        return None


def children(pid):
    """The processes whose parent is PID (whatever they have exec'd)."""
    return [int(p) for p in os.listdir("/proc")
            if p.isdigit() and ppid(int(p)) == pid]


def local_url(user, port, scheme="imaps"):
    """The URL of USER's account at a test server or proxy listening on
    127.0.0.1:PORT (SCHEME "imap" for plaintext or STARTTLS)."""
    return "%s://%s@127.0.0.1:%d/" % (scheme, user, port)


def write_password_file(d, password, mode=0o600):
    p = os.path.join(d, "password")
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    os.chmod(p, mode)
    return p


def poll_until(cond, timeout=10):
    """Call COND every 50 ms until it is true (-> True) or TIMEOUT seconds
    have passed (-> False)."""
    return bool(poll(cond, timeout, interval=0.05)[0])


def run_imapfs(args, env=None, timeout=60, input=None, **kw):
    """Run imapfs with ARGS; the environment is ours minus IMAPFS_PASSWORD
    unless ENV gives it."""
    e = dict(os.environ)
    e.pop("IMAPFS_PASSWORD", None)
    if env:
        e.update(env)
    return subprocess.run([imapfs_bin()] + list(args), env=e,
                          capture_output=True, timeout=timeout,
                          input=input if input is not None else b"",
                          **kw)


class MountError(AssertionError):
    pass


class Mount:
    """One imapfs mount. Foreground (-f, our child) by default."""

    all_mounts = []  # for the watchdog in conftest

    def __init__(self, url, cafile=None, password=None, opts=(),
                 foreground=True, password_source="file", env=None,
                 mountpoint=None, workdir=None):
        self.url = url
        self.cafile = cafile
        self.password = password
        self.opts = list(opts)
        self.foreground = foreground
        self.password_source = password_source
        self.env = dict(env or {})
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="imapfs-test-")
        self.path = mountpoint or os.path.join(self.workdir, "mnt")
        os.makedirs(self.path, exist_ok=True)
        self.logfile = os.path.join(self.workdir, "imapfs.log")
        self.proc = None
        self.returncode = None
        self.daemon_pid = None

    def argv(self):
        opts = []
        if self.cafile:
            opts.append("cafile=" + self.cafile)
        if self.password is not None and self.password_source == "file":
            opts.append("password_file=" + write_password_file(
                self.workdir, self.password))
        opts += self.opts
        argv = [imapfs_bin(), "mount"]
        if self.foreground:
            argv.append("-f")
        if opts:
            argv += ["-o", ",".join(opts)]
        return argv + [self.url, self.path]

    def _env(self):
        e = dict(os.environ)
        e.pop("IMAPFS_PASSWORD", None)
        if self.password is not None and self.password_source == "env":
            e["IMAPFS_PASSWORD"] = self.password
        # each mount its own body cache, so one test's cached bodies never
        # answer another's reads (tests of the cache pass their own)
        e["XDG_CACHE_HOME"] = os.path.join(self.workdir, "cache")
        # a mount in the background without a syslog socket logs under
        # $XDG_STATE_HOME/imapfs: the test's own, not the user's home
        e["XDG_STATE_HOME"] = os.path.join(self.workdir, "state")
        e.update(self.env)
        return e

    def log(self):
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def start(self, timeout=MOUNT_TIMEOUT):
        """Mount; raise MountError (with the log) if it does not come up."""
        if not os.path.exists(imapfs_bin()):
            raise MountError("imapfs binary not found at %s" % imapfs_bin())
        Mount.all_mounts.append(self)
        log = open(self.logfile, "ab")
        if self.foreground:
            self.proc = subprocess.Popen(
                self.argv(), stdin=subprocess.DEVNULL, stdout=log,
                stderr=log, env=self._env(), start_new_session=True)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if is_mounted(self.path):
                    return self
                if self.proc.poll() is not None:
                    self.returncode = self.proc.returncode
                    raise MountError(
                        "imapfs exited with %s before mounting %s\n%s"
                        % (self.returncode, self.url, self.log()))
                time.sleep(0.05)
            self.stop()
            raise MountError("imapfs did not mount %s within %ss\n%s"
                             % (self.url, timeout, self.log()))
        r = subprocess.run(self.argv(), stdin=subprocess.DEVNULL,
                           stdout=log, stderr=log, env=self._env(),
                           timeout=timeout)
        self.returncode = r.returncode
        if r.returncode != 0:
            raise MountError("imapfs mount exited %d\n%s"
                             % (r.returncode, self.log()))
        if not is_mounted(self.path):
            raise MountError("imapfs returned 0 but %s is not mounted\n%s"
                             % (self.path, self.log()))
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self):
        """Remove the work dir we made (never while something is mounted
        there: rmtree through a live mount would delete mail)."""
        if self._own_workdir and os.path.isdir(self.workdir) and \
                not is_mounted(self.path):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def stop(self, cleanup=True):
        """Unmount and reap; returns the daemon's exit code (foreground).
        With CLEANUP, also remove the work dir (log included)."""
        unmount(self.path)
        if self.proc is not None:
            try:
                self.returncode = self.proc.wait(20)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.returncode = self.proc.wait(10)
        if self in Mount.all_mounts:
            Mount.all_mounts.remove(self)
        if cleanup:
            self.cleanup()
        return self.returncode

    def kill(self):
        """Emergency stop (watchdog): abort FUSE, kill the process."""
        fuse_abort(self.path)
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        unmount(self.path)

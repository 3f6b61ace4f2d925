"""Secrets in the running daemon (imapfs.1, PASSWORD; issue 10, item 6:
a crash left a core file holding the password three times).

- a crash of the daemon writes no core file;
- the daemon is not dumpable: another process of the same user can
  not read its /proc/PID/environ (nor ptrace it; checked with imapfs
  run as nobody, from its own password_command);
- password_command runs without IMAPFS_PASSWORD in its environment;
- the running daemon holds the password once (the copy kept for
  reconnects), not in its environment block nor in spent buffers."""

import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import mountutil

NOBODY = 65534


@pytest.fixture(scope="module")
def srv(fresh_servers):
    return fresh_servers("slash")


def _core_pattern():
    with open("/proc/sys/kernel/core_pattern") as f:
        return f.read().strip()


def test_crash_leaves_no_core_file(srv):
    """imapfs crashes (SIGABRT, as abort() would) while it holds the password: no core file.
    Its password_command delivers the signal, so that the crash comes
    before the daemon moves to / (where a core would otherwise go)."""
    pat = _core_pattern()
    if pat.startswith("|") or "/" in pat:
        pytest.skip("core_pattern %r does not write into the working directory" % pat)
    d = tempfile.mkdtemp(prefix="core-")
    mp = os.path.join(d, "mnt")
    os.mkdir(mp)
    script = os.path.join(d, "crash.sh")
    with open(script, "w") as f:
        f.write("kill -ABRT $PPID\nsleep 1\n")   # sourced: $PPID is imapfs

    def unlimited_core():
        import resource
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    env = dict(os.environ, IMAPFS_PASSWORD=srv.password)
    r = subprocess.run([mountutil.imapfs_bin(), "mount", "-f", "-o",
                        "password_command=. " + script,
                        "imaps://someone@127.0.0.1:1/", mp],
                       env=env, cwd=d, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=60, preexec_fn=unlimited_core)
    assert r.returncode == -signal.SIGABRT, (r.returncode, r.stderr)
    cores = [f for f in os.listdir(d) if f.startswith("core")]
    found = 0
    for f in cores:
        with open(os.path.join(d, f), "rb") as fh:
            found += fh.read().count(srv.password.encode())
    assert cores == [], "a crash left %r (the password %d times in it)" % (cores, found)


def test_daemon_is_not_dumpable(srv):
    """imapfs as nobody; its password_command (also nobody, a dumpable
    process of the same user) looks at its parent."""
    d = tempfile.mkdtemp(prefix="dumpable-")
    os.chmod(d, 0o755)
    binary = os.path.join(d, "imapfs")
    shutil.copy(mountutil.imapfs_bin(), binary)
    os.chmod(binary, 0o755)
    home = os.path.join(d, "home")
    mp = os.path.join(d, "mnt")
    for p in (home, mp):
        os.mkdir(p, 0o700)
        os.chown(p, NOBODY, NOBODY)
    script = os.path.join(d, "look.sh")
    with open(script, "w") as f:
        # sourced: $PPID is imapfs itself
        f.write('stat -c %%u /proc/$PPID/status > %(h)s/owner\n'
                'cat /proc/$PPID/environ > %(h)s/environ 2>/dev/null; echo $? > %(h)s/environ.rc\n'
                'echo not-the-password\n' % {"h": home})
    os.chmod(script, 0o644)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home}

    def as_nobody():
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    # a closed port: the mount fails after the password was asked for
    r = subprocess.run([binary, "mount", "-o", "password_command=. " + script,
                        "imaps://someone@127.0.0.1:1/", mp], env=env, cwd=d,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
                       preexec_fn=as_nobody)
    assert r.returncode != 0
    with open(os.path.join(home, "owner")) as f:
        owner = f.read().strip()
    with open(os.path.join(home, "environ.rc")) as f:
        rc = f.read().strip()
    assert owner == "0", "imapfs's /proc files belong to uid %s: it is dumpable" % owner
    assert rc != "0", "another process of the user read imapfs's environment"


def test_password_command_does_not_see_password_env(srv, mount):
    d = tempfile.mkdtemp(prefix="pwcmd-env-")
    out = os.path.join(d, "env")
    script = os.path.join(d, "pw.sh")
    with open(script, "w") as f:
        f.write("env > %s\nprintf '%%s\\n' \"$REAL\"\n" % out)
    m = mount(srv, password=None, opts=["password_command=. " + script],
              env={"IMAPFS_PASSWORD": "from-the-environment", "REAL": srv.password})
    assert "INBOX" in os.listdir(m.path)
    with open(out) as f:
        env = f.read()
    assert "REAL=" in env, env
    assert "IMAPFS_PASSWORD" not in env and "from-the-environment" not in env, \
        "password_command saw IMAPFS_PASSWORD"


def _count_in_memory(pid, needle):
    """How many times NEEDLE is in the writable memory of PID (root reads
    /proc/PID/mem whatever the process's dumpable flag). Mappings over
    1 GiB (a sanitizer's shadow memory) are left out."""
    n = 0
    chunk = 1 << 20
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            perms = parts[1]
            name = parts[5] if len(parts) > 5 else ""
            if "r" not in perms or "w" not in perms or name.startswith("[v"):
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if hi - lo > (1 << 30):
                continue
            tail = b""
            for at in range(lo, hi, chunk):
                try:
                    mem.seek(at)
                    data = tail + mem.read(min(chunk, hi - at))
                except OSError:
                    tail = b""
                    continue
                n += data.count(needle)
                # a match across the chunk boundary, counted once
                tail = data[-(len(needle) - 1):] if len(data) >= len(needle) else data
    return n


def _settled_count(pid, needle):
    """_count_in_memory once connections still logging in (in the
    background, after the mount) are done: the lowest of a few looks over
    three seconds. A spent copy stays; one in use for a moment does not."""
    best = None
    for _ in range(15):
        n = _count_in_memory(pid, needle)
        best = n if best is None else min(best, n)
        if best <= 1:
            break
        time.sleep(0.2)
    return best


@pytest.mark.parametrize("source", ["env", "file"])
def test_running_daemon_holds_the_password_once(srv, mount, source):
    if source == "env" and "ASAN_OPTIONS" in os.environ:
        pytest.skip("the sanitizer runtime keeps its own copy of the environment")
    m = mount(srv, password_source=source)
    pid = m.proc.pid
    pw = srv.password.encode()
    with open("/proc/%d/environ" % pid, "rb") as f:
        environ = f.read()
    assert b"IMAPFS_PASSWORD" not in environ and pw not in environ, \
        "the password is still in the daemon's environment"
    # its second half too: a later, shorter command overwrites only the
    # start of a spent LOGIN line
    tail = pw[len(pw) // 2:]
    counts = [_settled_count(pid, tail)]
    # more connections (read-ahead logs in on the pool's others)
    inbox = os.path.join(m.path, "INBOX")
    for name in sorted(os.listdir(inbox))[:20]:
        with open(os.path.join(inbox, name), "rb") as f:
            f.read()
    counts.append(_settled_count(pid, tail))
    assert counts == [1, 1], \
        "the daemon holds the password %r times after mounting and after reading " \
        "(one copy is kept for reconnects)" % counts

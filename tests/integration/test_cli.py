"""The command line: help, version, exit codes, password sources, secrets
kept out of argv and the trace, daemon mode, read-only mounts."""

import base64
import errno
import os
import re
import stat
import subprocess
import tempfile
import time

import pytest

import dovecot
import mountutil
from mountutil import in_proc_mounts, local_url, run_imapfs

OPTIONS = ["ro", "timeout", "max_conns", "cafile", "password_file",
           "password_command", "insecure_plaintext", "imap_trace", "debug",
           "allow_other"]


def _version():
    with open(os.path.join(mountutil.REPO, "meson.build")) as f:
        return re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)


def _mp():
    d = tempfile.mkdtemp(prefix="imapfs-cli-")
    mp = os.path.join(d, "mnt")
    os.mkdir(mp)
    return d, mp


def _cleanup(mp):
    if mountutil.is_mounted(mp):
        mountutil.unmount(mp)
        return True
    return False


def _stderr_lines(r):
    return [ln for ln in r.stderr.decode("utf-8", "replace").splitlines()
            if ln.strip()]


def test_help(imapfs_bin):
    r = run_imapfs(["--help"])
    assert r.returncode == 0, r.stderr
    out = (r.stdout + r.stderr).decode()
    missing = [o for o in OPTIONS if not re.search(r"\b%s\b" % o, out)]
    assert not missing, "--help does not mention %r:\n%s" % (missing, out)
    for word in ("mount", "umount"):
        assert word in out


def test_version(imapfs_bin):
    r = run_imapfs(["--version"])
    assert r.returncode == 0, r.stderr
    assert _version() in (r.stdout + r.stderr).decode()


@pytest.mark.parametrize("args", [
    ["mount", "-o", "no_such_option", "imaps://a@127.0.0.1:1/", "MP"],
    ["mount", "-o", "timeout=abc", "imaps://a@127.0.0.1:1/", "MP"],
    ["mount", "--no-such-flag", "imaps://a@127.0.0.1:1/", "MP"],
    ["mount", "imaps://a@127.0.0.1:1/"],
    ["mount", "ftp://a@127.0.0.1/", "MP"],
    ["frobnicate"],
], ids=["unknown-o", "bad-value", "unknown-flag", "no-mountpoint",
        "bad-scheme", "bad-command"])
def test_usage_errors(imapfs_bin, args):
    d, mp = _mp()
    args = [mp if a == "MP" else a for a in args]
    r = run_imapfs(args, timeout=30)
    mounted = _cleanup(mp)
    assert r.returncode == 1, "exit %d, stderr %r" % (r.returncode, r.stderr)
    assert not mounted
    lines = _stderr_lines(r)
    # one "imapfs: ..." error line, or (for missing arguments) the usage
    assert lines and (lines[0].startswith("imapfs: ") or
                      lines[0].startswith("usage: ")), lines


def test_password_in_url_refused(slash_server, imapfs_bin):
    d, mp = _mp()
    url = "imaps://%s:%s@127.0.0.1:%d/" % (
        slash_server.user, "pw", slash_server.imaps_port)
    r = run_imapfs(["mount", "-o", "cafile=" + slash_server.cafile, url, mp],
                   env={"IMAPFS_PASSWORD": slash_server.password}, timeout=30)
    mounted = _cleanup(mp)
    assert r.returncode == 1, r.stderr
    assert not mounted


@pytest.mark.parametrize("foreground", [False, True], ids=["daemon", "fg"])
def test_wrong_password(slash_server, imapfs_bin, foreground):
    d, mp = _mp()
    pw = mountutil.write_password_file(d, "wrong-password")
    args = ["mount"] + (["-f"] if foreground else []) + [
        "-o", "cafile=%s,password_file=%s,timeout=10"
        % (slash_server.cafile, pw), slash_server.url(), mp]
    t0 = time.monotonic()
    r = run_imapfs(args, timeout=60)
    elapsed = time.monotonic() - t0
    mounted = in_proc_mounts(mp)
    _cleanup(mp)
    assert r.returncode == 3, "exit %d: %r" % (r.returncode, r.stderr)
    assert not mounted
    assert elapsed < 40
    lines = _stderr_lines(r)
    if not foreground:
        assert len(lines) == 1, "expected one line on stderr: %r" % lines
    assert any(ln.startswith("imapfs: ") for ln in lines), lines


def test_unreachable_host(imapfs_bin):
    d, mp = _mp()
    port = dovecot.free_port()   # nothing listens there
    pw = mountutil.write_password_file(d, "x")
    t0 = time.monotonic()
    r = run_imapfs(["mount", "-o", "password_file=%s,timeout=10" % pw,
                    local_url("u", port), mp], timeout=60)
    elapsed = time.monotonic() - t0
    mounted = in_proc_mounts(mp)
    _cleanup(mp)
    assert r.returncode == 2, "exit %d: %r" % (r.returncode, r.stderr)
    assert not mounted
    assert elapsed < 15, "connection refused took %.1fs" % elapsed
    lines = _stderr_lines(r)
    assert len(lines) == 1 and lines[0].startswith("imapfs: "), lines


def test_password_file_mode(slash_server, imapfs_bin, mount):
    d, mp = _mp()
    pw = mountutil.write_password_file(d, slash_server.password, mode=0o644)
    r = run_imapfs(["mount", "-o", "cafile=%s,password_file=%s"
                    % (slash_server.cafile, pw), slash_server.url(), mp],
                   timeout=60)
    mounted = _cleanup(mp)
    assert r.returncode == 1, "mode 0644 password file: exit %d %r" % (
        r.returncode, r.stderr)
    assert not mounted
    # 0600 works (the mount fixture writes a 0600 file)
    m = mount(slash_server)
    assert stat.S_IMODE(os.stat(os.path.join(m.workdir, "password"))
                        .st_mode) == 0o600
    assert "INBOX" in os.listdir(m.path)


def test_password_env(slash_server, mount):
    m = mount(slash_server, password_source="env")
    assert "INBOX" in os.listdir(m.path)


def test_password_command(slash_server, mount):
    d = tempfile.mkdtemp(prefix="imapfs-pwcmd-")
    src = os.path.join(d, "pw.txt")
    with open(src, "w") as f:
        f.write(slash_server.password + "\nsecond line is ignored\n")
    # a command with arguments; a comma escaped as \,
    cmd = "sed -n 1\\,2p %s" % src
    m = mount(slash_server, password=None,
              opts=["password_command=" + cmd])
    assert "INBOX" in os.listdir(m.path)


def test_secrets_not_exposed(slash_server, mount):
    m = mount(slash_server, opts=["imap_trace"])
    os.listdir(os.path.join(m.path, "INBOX"))
    pid = m.proc.pid
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        cmdline = f.read()
    pw = slash_server.password.encode()
    assert pw not in cmdline
    log = m.log()
    assert "C: " in log and "S: " in log, "no protocol trace in:\n" + log[:2000]
    assert slash_server.password not in log
    plain = base64.b64encode(b"\0%s\0%s" % (slash_server.user.encode(), pw))
    assert plain.decode() not in log
    login = [ln for ln in log.splitlines() if "C: " in ln and
             re.search(r"\b(LOGIN|AUTHENTICATE)\b", ln, re.I)]
    assert login, "no LOGIN/AUTHENTICATE in the trace"
    assert any("<redacted>" in ln for ln in log.splitlines()), \
        "trace does not say <redacted>: %r" % login


def test_foreground_exits_0_on_unmount(slash_server, mount):
    m = mount(slash_server)
    assert m.alive()
    r = subprocess.run(["fusermount3", "-u", m.path], capture_output=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert m.proc.wait(20) == 0


def test_daemon_mode_and_umount(slash_server, mount, imapfs_bin):
    m = mount(slash_server, foreground=False)
    # The command has returned: the mount must already be live.
    assert in_proc_mounts(m.path)
    assert "INBOX" in os.listdir(m.path)
    # the detached daemon's command line holds no password either
    pids = []
    for pid, cmd in mountutil.imapfs_processes(m.path):
        pids.append(pid)
        assert slash_server.password.encode() not in cmd
    assert pids, "no imapfs daemon process found for " + m.path
    r = run_imapfs(["umount", m.path], timeout=30)
    assert r.returncode == 0, r.stderr
    assert not in_proc_mounts(m.path)


def test_read_only(slash_server, mount):
    m = mount(slash_server, opts=["ro", "imap_trace"])
    inbox = os.path.join(m.path, "INBOX")
    names = os.listdir(inbox)
    with open(os.path.join(inbox, names[0]), "rb") as f:
        assert f.read(10)
    with pytest.raises(OSError) as ei:
        os.mkdir(os.path.join(m.path, "NewFolder"))
    assert ei.value.errno == errno.EROFS
    with pytest.raises(OSError) as ei:
        os.unlink(os.path.join(inbox, names[0]))
    assert ei.value.errno == errno.EROFS
    client = [ln for ln in m.log().splitlines() if "C: " in ln]
    assert any(re.search(r"\bEXAMINE\b", ln) for ln in client), \
        "no EXAMINE in the trace"
    assert not any(re.search(r"\bSELECT\b", ln) for ln in client), \
        [ln for ln in client if "SELECT" in ln]

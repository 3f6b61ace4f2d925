"""Errors that say the fix (issue 13 item 4): each mistake a new user makes
costs one "imapfs: " line on stderr that names the way out, and the exit
status of imapfs.1 (1 usage or configuration, 2 connection or TLS, 3
authentication, 4 mount). Against the real Dovecot of dovecot.py, on its
imaps port (TLS from the first byte) and its imap port (STARTTLS).

The wrong-port cases are timed: each must answer in well under the
network timeout (-o timeout=30), not after it.
"""

import errno
import os
import re
import signal
import subprocess
import tempfile
import time

import pytest

import imaputil
import mountutil
from mountutil import in_proc_mounts, is_mounted, local_url, run_imapfs
from waitutil import poll

WRONG_PORT_LIMIT_S = 10


def _workdir():
    d = tempfile.mkdtemp(prefix="imapfs-err-")
    mp = os.path.join(d, "mnt")
    os.mkdir(mp)
    return d, mp


def _mount(server, url, opts=(), cafile="server", timeout=90):
    """Run imapfs mount URL on a fresh directory with the server's
    password; -> (CompletedProcess, seconds, mountpoint, stderr lines)."""
    d, mp = _workdir()
    o = ["password_file=" + mountutil.write_password_file(d, server.password)]
    if cafile == "server":
        o.append("cafile=" + server.cafile)
    elif cafile:
        o.append("cafile=" + cafile)
    o += list(opts)
    t0 = time.monotonic()
    r = run_imapfs(["mount", "-o", ",".join(o), url, mp], timeout=timeout)
    took = time.monotonic() - t0
    mounted = in_proc_mounts(mp)
    if is_mounted(mp):
        mountutil.unmount(mp)
    assert not mounted, "the mount succeeded: %r" % r.stderr
    lines = [ln for ln in r.stderr.decode("utf-8", "replace").splitlines()
             if ln.strip()]
    return r, took, mp, lines


def _one_line(r, lines, code):
    info = "exit %d, stderr %r" % (r.returncode, lines)
    assert r.returncode == code, info
    assert len(lines) == 1 and lines[0].startswith("imapfs: "), \
        "expected one 'imapfs: ' line: " + info
    return lines[0]


# ---- TLS and ports ---------------------------------------------------------

def test_untrusted_certificate_names_cafile(slash_server, pki, imapfs_bin):
    """A cafile whose CA did not sign the server's certificate: the line
    says to name the right CA with -o cafile=, or to add it to the
    system's CA store; never to turn verification off."""
    r, took, _, lines = _mount(slash_server, slash_server.url(),
                               cafile=pki.cafile)
    line = _one_line(r, lines, 2)
    assert "certificate of 127.0.0.1 not trusted" in line, line
    assert "-o cafile=PATH" in line, line
    assert pki.cafile in line, line
    assert "update-ca-certificates" in line, line
    assert "insecure" not in line.lower() and "verify" not in line.lower(), line


def test_untrusted_certificate_system_store(slash_server, imapfs_bin):
    """No cafile: the system store does not know the test CA either; the
    line names both fixes."""
    r, took, _, lines = _mount(slash_server, slash_server.url(), cafile=None,
                               opts=["timeout=30"])
    line = _one_line(r, lines, 2)
    assert "not trusted" in line, line
    assert "-o cafile=PATH" in line, line
    assert "/etc/ssl/certs" in line and "update-ca-certificates" in line, line
    assert took < WRONG_PORT_LIMIT_S, took


def test_wrong_host_name_lists_the_certificate_names(pki, imapfs_bin):
    """A certificate (from a trusted CA) for other names: the line shows
    the names as the unverified claim they are, and never advises to
    connect there (an attacker on the path could steer the password to his
    host). Fake server (Dovecot's certificate is for 127.0.0.1); it must
    never see a LOGIN."""
    from fakeserver import FakeServer
    cert = pki.leaf("othernames", sans=["DNS:mail.example.org",
                                        "DNS:imap.example.org",
                                        "IP:10.9.8.7"])
    fs = FakeServer("imaps", cert=cert, password="pw").start()
    try:
        d, mp = _workdir()
        pw = mountutil.write_password_file(d, "pw")
        r = run_imapfs(["mount", "-o", "password_file=%s,cafile=%s"
                        % (pw, pki.cafile),
                        local_url("alice", fs.port), mp],
                       timeout=60)
        lines = [ln for ln in r.stderr.decode().splitlines() if ln.strip()]
        line = _one_line(r, lines, 2)
        assert "certificate of 127.0.0.1 not trusted" in line, line
        assert "the certificate presented names mail.example.org, " \
            "imap.example.org, 10.9.8.7 (not verified): use the IMAP server " \
            "name your provider documents" in line, line
        assert "connect with" not in line, line
        assert not fs.saw("LOGIN", "AUTHENTICATE"), fs.transcript()
    finally:
        fs.stop()


def test_imaps_on_starttls_port(slash_server, imapfs_bin):
    """imaps:// to the STARTTLS port: the server greets in clear text,
    OpenSSL says "wrong version number"; the line says what to use."""
    port = slash_server.imap_port
    url = local_url(slash_server.user, port)
    r, took, _, lines = _mount(slash_server, url, opts=["timeout=30"])
    line = _one_line(r, lines, 2)
    assert "port %d does not speak TLS" % port in line, line
    assert local_url(slash_server.user, port, scheme="imap") in line, line
    assert "993" in line, line
    assert took < WRONG_PORT_LIMIT_S, "took %.1f s" % took


def test_imap_on_implicit_tls_port(slash_server, imapfs_bin):
    """imap:// to the imaps port: the server waits for a ClientHello and
    sends nothing. Before, the greeting wait ran out after the whole
    timeout (30 s) and printed two lines; now one line, in seconds."""
    port = slash_server.imaps_port
    url = local_url(slash_server.user, port, scheme="imap")
    r, took, _, lines = _mount(slash_server, url, opts=["timeout=30"])
    line = _one_line(r, lines, 2)
    assert "speaks TLS from the first byte" in line, line
    assert local_url(slash_server.user, port) in line, line
    assert took < WRONG_PORT_LIMIT_S, "took %.1f s" % took
    print("imap:// on the imaps port answered in %.2f s" % took)


def test_slow_greeting_is_not_taken_for_tls(imapfs_bin):
    """A clear-text server that greets only after 3 s (past the 2 s after
    which the TLS probe starts) is still read as IMAP: the mount goes on
    to the next check (here: no STARTTLS offered, refused) instead of
    reporting TLS, and costs the probe connection, not the timeout."""
    import socket
    import threading
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    conns = []

    def serve():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            conns.append(c)
            threading.Thread(target=greet, args=(c,), daemon=True).start()

    def greet(c):
        time.sleep(3)
        try:
            c.sendall(b"* OK [CAPABILITY IMAP4rev1] slow server\r\n")
            c.settimeout(10)
            while True:
                line = c.recv(4096)
                if not line:
                    return
                tag = line.split(b" ", 1)[0]
                if b"CAPABILITY" in line.upper():
                    c.sendall(b"* CAPABILITY IMAP4rev1\r\n" + tag +
                              b" OK done\r\n")
                else:
                    c.sendall(tag + b" BAD no\r\n")
        except OSError:
            return

    threading.Thread(target=serve, daemon=True).start()
    try:
        d, mp = _workdir()
        pw = mountutil.write_password_file(d, "pw")
        t0 = time.monotonic()
        r = run_imapfs(["mount", "-o", "password_file=%s,timeout=30" % pw,
                        local_url("alice", ls.getsockname()[1], scheme="imap"),
                        mp], timeout=60)
        took = time.monotonic() - t0
        lines = [ln for ln in r.stderr.decode().splitlines() if ln.strip()]
        line = _one_line(r, lines, 2)
        assert "does not offer STARTTLS" in line, line
        assert "speaks TLS" not in line, line
        assert 2.5 < took < WRONG_PORT_LIMIT_S, took
        assert len(conns) == 2, "expected the connection and one probe"
    finally:
        ls.close()
        for c in conns:
            c.close()


def test_missing_cafile(slash_server, imapfs_bin):
    """The cafile's path and the system's reason, before any connection
    (the server is not even asked: a closed port would do)."""
    r, took, _, lines = _mount(slash_server, slash_server.url(),
                               cafile="/nonexistent/ca.pem")
    line = _one_line(r, lines, 1)
    assert "cannot read cafile /nonexistent/ca.pem: No such file or directory" \
        in line, line
    assert "(null)" not in line, line


def test_cafile_without_certificates(slash_server, imapfs_bin):
    d = tempfile.mkdtemp(prefix="imapfs-err-")
    bad = os.path.join(d, "empty.pem")
    with open(bad, "w") as f:
        f.write("not a certificate\n")
    r, took, _, lines = _mount(slash_server, slash_server.url(), cafile=bad)
    line = _one_line(r, lines, 1)
    assert bad in line and "no certificates" in line, line
    assert "(null)" not in line, line


# ---- options ---------------------------------------------------------------

def test_unknown_option_did_you_mean(slash_server, imapfs_bin):
    r, took, _, lines = _mount(slash_server, slash_server.url(),
                               opts=["timout=5"])
    line = _one_line(r, lines, 1)
    assert 'unknown option "timout": did you mean "timeout"?' in line, line


def _status(mp):
    r = run_imapfs(["status", mp], timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode()


def _wait_status(mp, pattern, timeout=20):
    out = ""

    def matches():
        nonlocal out
        out = _status(mp)
        return re.search(pattern, out, re.M)

    if not poll(matches, timeout)[0]:
        raise AssertionError("status never matched %r:\n%s" % (pattern, out))
    return out


@pytest.mark.parametrize("opts", [["watch=INBOX,Sent"],
                                  ["watch=INBOX", "watch=Sent"]],
                         ids=["one-option", "repeated"])
def test_watch_list(fresh_servers, mount, imap, opts):
    """watch=INBOX,Sent (no escaping) and -o watch=INBOX -o watch=Sent both
    IDLE on the two mailboxes; with poll=0 only IDLE can show a message
    that another client appends to Sent."""
    server = fresh_servers("slash")
    m = mountutil.Mount(server.url(), cafile=server.cafile,
                        password=server.password, opts=["poll=0"])
    # the Mount helper joins its options in one -o: give these separately
    argv = m.argv
    m.argv = lambda: argv()[:-2] + sum((["-o", o] for o in opts), []) + \
        argv()[-2:]
    m.start()
    try:
        _wait_status(m.path, r"^watch Sent: IDLE")
        out = _wait_status(m.path, r"^watch INBOX: IDLE")
        assert "unknown option" not in m.log()
        sent = os.path.join(m.path, "Sent")
        before = set(os.listdir(sent))
        c = imap(server)
        imaputil.append(c, "Sent", "", None,
                        b"Subject: watched\r\n\r\nbody\r\n")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and set(os.listdir(sent)) == before:
            time.sleep(0.2)
        assert set(os.listdir(sent)) != before, \
            "a message appended to Sent did not show\n" + out
    finally:
        m.stop()


@pytest.mark.parametrize("foreground", [True, False], ids=["f", "daemon"])
def test_watch_missing_mailbox_logged(fresh_servers, imapfs_bin, foreground):
    """A watch= name that is no mailbox: one clear line (in the background,
    on the terminal before detaching), and the others are still watched."""
    server = fresh_servers("slash")
    m = mountutil.Mount(server.url(), cafile=server.cafile,
                        password=server.password, foreground=foreground,
                        opts=["watch=INBOX,NoSuchBox"])
    m.start()
    try:
        out = _wait_status(m.path, r"^watch INBOX: IDLE")
        want = re.compile(r"watch=NoSuchBox: no mailbox NoSuchBox on "
                          r"127\.0\.0\.1; not watched")
        log = m.log()
        assert len(want.findall(log)) == 1, log
        assert "NoSuchBox" not in out, out
    finally:
        m.stop()


# ---- arguments -------------------------------------------------------------

def test_swapped_arguments(slash_server, imapfs_bin):
    """The mount point first, the URL second: one line, exit 1, before any
    connection or password prompt (the URL's port has no server)."""
    d, mp = _workdir()
    url = "imaps://someone@127.0.0.1:1/"
    t0 = time.monotonic()
    r = run_imapfs(["mount", mp, url], timeout=30)
    took = time.monotonic() - t0
    lines = [ln for ln in r.stderr.decode().splitlines() if ln.strip()]
    line = _one_line(r, lines, 1)
    assert "arguments in the wrong order?" in line, line
    assert "usage: imapfs mount SOURCE MOUNTPOINT" in line, line
    assert took < 5, took
    # an account name in the mount point's place
    r = run_imapfs(["mount", mp, "work"], timeout=30)
    lines = [ln for ln in r.stderr.decode().splitlines() if ln.strip()]
    line = _one_line(r, lines, 1)
    assert "arguments in the wrong order?" in line, line


def test_path_as_source(imapfs_bin):
    d, mp = _workdir()
    other = os.path.join(d, "other")
    os.mkdir(other)
    r = run_imapfs(["mount", other, mp], timeout=30)
    lines = [ln for ln in r.stderr.decode().splitlines() if ln.strip()]
    line = _one_line(r, lines, 1)
    assert "%s is a path, not an account or imaps://USER@HOST/ URL" % other \
        in line, line


# ---- umount ----------------------------------------------------------------

def test_umount_not_mounted(imapfs_bin):
    d, mp = _workdir()
    r = run_imapfs(["umount", mp], timeout=30)
    lines = [ln for ln in r.stderr.decode().splitlines() if ln.strip()]
    line = _one_line(r, lines, 1)
    assert line == "imapfs: %s is not mounted" % mp, line
    r = run_imapfs(["umount", os.path.join(d, "nothing")], timeout=30)
    lines = [ln for ln in r.stderr.decode().splitlines() if ln.strip()]
    line = _one_line(r, lines, 1)
    assert "nothing: No such file or directory" in line, line


def test_umount_busy_names_the_process(slash_server, mount):
    m = mount(slash_server)
    inbox = os.path.join(m.path, "INBOX")
    holder = subprocess.Popen(["sleep", "60"], cwd=inbox)
    try:
        r = run_imapfs(["umount", m.path], timeout=30)
        lines = [ln for ln in r.stderr.decode().splitlines() if ln.strip()]
        line = _one_line(r, lines, 4)
        assert "%s is busy" % m.path in line, line
        assert "pid %d (sleep)" % holder.pid in line, line
        assert "fusermount3 -u -z %s" % m.path in line, line
        assert is_mounted(m.path), "busy, yet unmounted?"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    r = run_imapfs(["umount", m.path], timeout=30)
    assert r.returncode == 0, r.stderr
    assert not is_mounted(m.path)


def test_umount_dead_mount(slash_server, mount):
    """A mount whose daemon was killed (stat says "Transport endpoint is
    not connected") is still a mount: umount removes it, exit 0, also
    when given as a relative path."""
    m = mount(slash_server)
    os.killpg(m.proc.pid, signal.SIGKILL)
    m.proc.wait(10)
    with pytest.raises(OSError) as ei:
        os.stat(m.path)
    assert ei.value.errno == errno.ENOTCONN, ei.value
    r = run_imapfs(["umount", os.path.basename(m.path)], timeout=30,
                   cwd=os.path.dirname(m.path))
    assert r.returncode == 0, r.stderr
    assert r.stderr == b"", r.stderr
    assert not is_mounted(m.path)


def test_umount_busy_escapes_process_name(slash_server, mount):
    """A process names itself (prctl PR_SET_NAME) with a terminal escape
    sequence and sits in the mount: imapfs umount, run by root, shows the
    name escaped, never the ESC and BEL bytes themselves."""
    m = mount(slash_server)
    inbox = os.path.join(m.path, "INBOX")
    code = ("import ctypes, sys, time\n"
            "ctypes.CDLL(None).prctl(15, b'\\x1b]0;X\\x07', 0, 0, 0)\n"
            "print('named', flush=True)\n"
            "time.sleep(60)\n")
    holder = subprocess.Popen(["python3", "-c", code], cwd=inbox,
                              stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"named\n"
        with open("/proc/%d/comm" % holder.pid, "rb") as f:
            assert f.read() == b"\x1b]0;X\x07\n"
        r = run_imapfs(["umount", m.path], timeout=30)
        assert r.returncode == 4, r.stderr
        assert b"\x1b" not in r.stderr and b"\x07" not in r.stderr, r.stderr
        assert b"pid %d (\\x1b]0;X\\x07)" % holder.pid in r.stderr, r.stderr
        assert is_mounted(m.path)
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("args,missing", [
    (["mount", "imaps://u@127.0.0.1/"], "MOUNTPOINT"),
    (["mount", "-o", "ro", "work"], "MOUNTPOINT"),
    (["mount"], "SOURCE and MOUNTPOINT"),
    (["mount", "-f"], "SOURCE and MOUNTPOINT"),
])
def test_missing_arguments_one_line(imapfs_bin, args, missing):
    """Not the whole --help on stderr: one line saying what is missing."""
    r = run_imapfs(args, timeout=30)
    lines = [ln for ln in r.stderr.decode().splitlines() if ln.strip()]
    line = _one_line(r, lines, 1)
    assert line == ("imapfs: missing %s (usage: imapfs mount SOURCE "
                    "MOUNTPOINT; see imapfs --help)" % missing), line
    assert r.stdout == b""


@pytest.mark.parametrize("word,meant", [
    ("moutn", "mount"), ("mout", "mount"), ("umuont", "umount"),
    ("stauts", "status"), ("unmont", "unmount"),
])
def test_mistyped_command(imapfs_bin, word, meant):
    d, mp = _workdir()
    r = run_imapfs([word, "imaps://u@127.0.0.1:1/", mp], timeout=30)
    lines = [ln for ln in r.stderr.decode().splitlines() if ln.strip()]
    line = _one_line(r, lines, 1)
    assert line.startswith("imapfs: unknown command %s: did you mean %s?"
                           % (word, meant)), line
    assert not in_proc_mounts(mp)


def test_account_named_like_a_command_mounts(slash_server, imapfs_bin):
    """mount.fuse3 runs "imapfs SOURCE MOUNTPOINT -o OPTS": an account
    called "mont" (one letter from mount) is an account there, not a
    typo, and mounts."""
    d, mp = _workdir()
    home = os.path.join(d, "config")
    os.makedirs(os.path.join(home, "imapfs"))
    with open(os.path.join(home, "imapfs", "config"), "w") as f:
        f.write("[account mont]\nurl = %s\ncafile = %s\n"
                % (slash_server.url(), slash_server.cafile))
    pw = mountutil.write_password_file(d, slash_server.password)
    r = run_imapfs(["mont", mp, "-o", "password_file=" + pw],
                   env={"XDG_CONFIG_HOME": home}, timeout=60)
    try:
        assert r.returncode == 0, r.stderr
        assert in_proc_mounts(mp)
        assert "INBOX" in os.listdir(mp)
    finally:
        mountutil.unmount(mp)

"""imapfs status from anywhere in the mount, the capabilities it really
uses, where the log goes, and live activity (issue 13 items 5, 6 and 7).

  - `imapfs status PATH` finds the mount root above PATH (as df does): a
    mailbox directory or a message file works; a path outside any imapfs
    mount is refused in one line, exit 1.
  - "capabilities used" names QRESYNC, IDLE and NOTIFY on a Dovecot that
    offers them (the watcher IDLEs and has NOTIFY SET on; resync asks
    VANISHED), and not on one that does not advertise them.
  - -o logfile=PATH gets every line (the "mounted" line, errors), mode
    0600; a symlink or another user's file is refused. Detached with no
    syslog socket, the log goes to $XDG_STATE_HOME/imapfs/USER@HOST.log
    (the test points the socket check at a path of its own with
    IMAPFS_SYSLOG_SOCKET, so it does not depend on this machine's
    /dev/log); status says where ("log:").
  - `imapfs status --watch PATH` prints a line a second, also into a
    pipe: while `cat` reads many messages through a slow link it shows a
    non-zero fetch rate and a busy connection's UID FETCH.

What was fetched is checked against the server with imaplib.
"""

import errno
import os
import re
import socket
import stat
import subprocess
import tempfile
import threading
import time

import pytest

import imaputil
from fakeserver import FakeServer, Message
from faultproxy import FaultProxy
from faultutil import proxy_url
from mountutil import imapfs_bin, local_url, run_imapfs
from test_status import _field, _status
from waitutil import poll

BULK = "Bulk"
NBULK = 120
BULK_SIZE = 24 * 1024


def _wait_status(path, pred, timeout=20):
    out = ""

    def matches():
        nonlocal out
        rc, out, err = _status(path)
        assert rc == 0, err
        return pred(out)

    if not poll(matches, timeout)[0]:
        raise AssertionError("status never matched:\n%s" % out)
    return out


@pytest.fixture(scope="module")
def bulk_server(fresh_servers):
    """A Dovecot of this module with mailbox Bulk: NBULK messages."""
    d = fresh_servers("slash")
    c = imaputil.connect(d)
    imaputil.check(c.create(BULK), "CREATE")
    for i in range(NBULK):
        body = ("From: s%d@example.org\r\nSubject: bulk %d\r\n\r\n" % (i, i)).encode() + \
            (b"%05d " % i) * (BULK_SIZE // 6) + b"\r\n"
        imaputil.check(imaputil.append(c, BULK, [], None, body), "APPEND")
    c.logout()
    return d


# ---- item 5: status from inside the mount, capabilities used ----

def test_status_from_inside(slash_server, mount):
    m = mount(slash_server)
    inbox = os.path.join(m.path, "INBOX")
    names = sorted(os.listdir(inbox))
    assert names, "the corpus INBOX is empty"
    msg = os.path.join(inbox, names[0])
    rc, root_out, err = _status(m.path)
    assert rc == 0, err
    for p in (inbox, msg, os.path.relpath(inbox)):
        rc, out, err = _status(p)
        assert rc == 0, (p, err)
        assert _field(out, "mountpoint") == m.path, out
        assert _field(out, "server") == _field(root_out, "server")


def test_status_dead_mount(slash_server, mount):
    """The daemon was killed: status from inside names the mount point to
    unmount, in one line, exit 1."""
    m = mount(slash_server)
    inbox = os.path.join(m.path, "INBOX")
    os.listdir(inbox)
    m.proc.kill()
    m.proc.wait(20)
    for p in (inbox, m.path):
        rc, out, err = _status(p)
        assert rc == 1 and err.count("\n") == 1, err
        assert err == ("imapfs: the imapfs process behind %s is gone: run imapfs umount %s and "
                       "mount again\n" % (m.path, m.path)), err


def test_status_outside_refused(imapfs_bin):
    d = tempfile.mkdtemp(prefix="imapfs-status-out-")
    sub = os.path.join(d, "a", "b")
    os.makedirs(sub)
    for p in (d, sub):
        rc, out, err = _status(p)
        assert rc == 1 and out == ""
        assert err.count("\n") == 1, err
        assert err.startswith("imapfs: %s is not inside an imapfs mount" % p), err
    rc, out, err = _status(os.path.join(d, "missing"))
    assert rc == 1 and err.count("\n") == 1 and "No such file" in err, err
    r = run_imapfs(["status", "--bogus", d])
    assert r.returncode == 1 and b"usage" in r.stderr


def _used(out):
    return _field(out, "capabilities used").split()


def test_caps_used(slash_server, fresh_servers, mount):
    """Dovecot offers QRESYNC, IDLE and NOTIFY and imapfs uses them; on a
    Dovecot that does not advertise them they are not named."""
    m = mount(slash_server)
    os.listdir(os.path.join(m.path, "INBOX"))
    # IDLE and NOTIFY are in use once the watcher has connected
    out = _wait_status(m.path, lambda o: "NOTIFY" in _used(o) and "IDLE" in _used(o))
    used = _used(out)
    for cap in ("UIDPLUS", "MOVE", "CONDSTORE", "QRESYNC", "IDLE", "NOTIFY", "NAMESPACE"):
        assert cap in used, (cap, out)
    assert _field(out, "watch INBOX") == "IDLE (within seconds)", out

    bare = fresh_servers("slash", drop_caps=("QRESYNC", "IDLE", "NOTIFY"))
    m = mount(bare, opts=["poll=2"])
    os.listdir(os.path.join(m.path, "INBOX"))
    # the watcher has connected when it says how it watches
    out = _wait_status(m.path, lambda o: "not connected yet" not in o)
    used = _used(out)
    for cap in ("QRESYNC", "IDLE", "NOTIFY"):
        assert cap not in used, (cap, out)
    assert "UIDPLUS" in used and "CONDSTORE" in used and "NAMESPACE" in used, out
    assert _field(out, "watch INBOX").startswith("STATUS poll"), out


# ---- item 6: logfile= and the default log file ----

SECRET = "Secret-Pw-4711"


def _fake(pki, name):
    body = b"From: a@b.example\r\nSubject: x\r\n\r\n" + b"y" * 5000 + b"\r\n"
    fs = FakeServer("imaps", cert=pki.leaf(name), password=SECRET,
                    mailboxes={b"INBOX": {"attrs": ["\\HasNoChildren"],
                                          "messages": [Message(1, body)]}})
    fs.start()
    return fs


def test_logfile_option(pki, mount):
    fs = _fake(pki, "fake-logfile")
    d = tempfile.mkdtemp(prefix="imapfs-logfile-")
    os.chmod(d, 0o700)
    log = os.path.join(d, "imapfs.log")
    try:
        old = os.umask(0o022)
        try:
            m = mount(url=local_url("alice", fs.port), cafile=pki.cafile,
                      password=SECRET, opts=["logfile=" + log, "timeout=10", "imap_trace"])
        finally:
            os.umask(old)
        st = os.stat(log)
        assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
        inbox = os.path.join(m.path, "INBOX")
        assert os.listdir(inbox) == ["1.eml"]
        fs.garbage = {"body"}
        with pytest.raises(OSError) as ei:
            with open(os.path.join(inbox, "1.eml"), "rb") as f:
                f.read()
        assert ei.value.errno == errno.EIO, ei.value
        rc, out, err = _status(os.path.join(m.path, "INBOX"))
        assert rc == 0, err
        assert _field(out, "log").startswith(log), out
        text = open(log).read()
        lines = text.splitlines()
        assert any(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} imapfs\[\d+\]: mounted ", ln)
                   for ln in lines), text
        assert any("unparsable" in ln for ln in lines), text
        # the protocol trace goes there too, the password redacted
        assert any(re.search(r"imap\[\d+\] C: \S+ LOGIN <redacted>$", ln) for ln in lines), text
        assert SECRET not in text
        # the line status shows as the last error is the one in the file
        last = _field(out, "last error").split(" ", 2)[2]
        assert last in text, (last, text)
    finally:
        fs.stop()


def test_logfile_refusals(pki):
    """A symlink, another user's file and a directory others may write are
    refused before anything connects: one line, exit 1."""
    d = tempfile.mkdtemp(prefix="imapfs-logref-")
    os.chmod(d, 0o700)
    victim = os.path.join(d, "victim")
    with open(victim, "w") as f:
        f.write("precious\n")
    link = os.path.join(d, "link.log")
    os.symlink(victim, link)
    other = os.path.join(d, "other.log")
    with open(other, "w"):
        pass
    os.chown(other, 65534, 65534)
    hard = os.path.join(d, "hard.log")
    os.link(victim, hard)
    open_dir = os.path.join(d, "open")
    os.mkdir(open_dir)
    os.chmod(open_dir, 0o777)
    url = "imaps://alice@127.0.0.1:1/"
    mnt = tempfile.mkdtemp(prefix="imapfs-logref-mnt-")
    for path, why in ((link, "symbolic link"), (other, "belongs to uid 65534"),
                      (hard, "hard links"), (os.path.join(open_dir, "x.log"), "writable by other")):
        r = run_imapfs(["mount", "-f", "-o", "logfile=" + path, url, mnt], timeout=20)
        err = r.stderr.decode()
        assert r.returncode == 1, (path, err)
        assert err.count("\n") == 1 and why in err, (path, err)
    assert open(victim).read() == "precious\n"
    assert not os.path.exists(os.path.join(open_dir, "x.log"))


@pytest.mark.parametrize("syslog", ["missing", "stale"])
def test_default_logfile_without_syslog(slash_server, mount, syslog):
    """No syslog socket, or a stale one (its daemon gone: the socket file
    is left, nobody reads it): the log goes to the default file."""
    state = tempfile.mkdtemp(prefix="imapfs-state-")
    sock_path = os.path.join(state, "no-log")
    if syslog == "stale":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        sock.close()
        assert stat.S_ISSOCK(os.stat(sock_path).st_mode)
    m = mount(slash_server, foreground=False,
              env={"XDG_STATE_HOME": state, "IMAPFS_SYSLOG_SOCKET": sock_path})
    os.listdir(os.path.join(m.path, "INBOX"))
    path = os.path.join(state, "imapfs", "%s@127.0.0.1.log" % slash_server.user)
    assert os.path.isfile(path), os.listdir(state)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert " mounted " in open(path).read()
    # and the terminal was told before the daemon detached
    assert "the log goes to %s" % path in m.log(), m.log()
    rc, out, err = _status(m.path)
    assert rc == 0, err
    assert _field(out, "log") == path, out


def test_syslog_when_socket_exists(slash_server, mount):
    """With a syslog socket (here one of the test's own) nothing is written
    under $XDG_STATE_HOME, and status says syslog."""
    state = tempfile.mkdtemp(prefix="imapfs-state-")
    sock_path = os.path.join(state, "log")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    try:
        m = mount(slash_server, foreground=False,
                  env={"XDG_STATE_HOME": state, "IMAPFS_SYSLOG_SOCKET": sock_path})
        rc, out, err = _status(m.path)
        assert rc == 0, err
        assert _field(out, "log").startswith("syslog"), out
        assert not os.path.exists(os.path.join(state, "imapfs"))
    finally:
        sock.close()


# ---- item 7: live activity ----

def test_status_watch_reader_gone(slash_server, mount):
    """--watch into a pipe whose reader stops (| head) ends by itself,
    exit 0, instead of writing into the void for ever."""
    m = mount(slash_server)
    inbox = os.path.join(m.path, "INBOX")
    msg = os.path.join(inbox, sorted(os.listdir(inbox))[0])
    w = subprocess.Popen([imapfs_bin(), "status", "--watch", msg],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = w.stdout.readline().decode()
        # the next line of rates (each may be followed by busy connections)
        second = w.stdout.readline().decode()
        while second.startswith("  conn "):
            second = w.stdout.readline().decode()
        w.stdout.close()
        assert w.wait(15) == 0, w.stderr.read()
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()
    assert first.split(" ", 3)[1:3] == ["watching", m.path + ":"], first
    assert re.match(r"^\d\d:\d\d:\d\d [\d.]+ msg/s [\d.]+ MiB/s; read-ahead queue \d+; "
                    r"connections \d+ busy of \d+ open$", second), second

class SlowProxy(FaultProxy):
    """FaultProxy whose trickle sends 4 KiB pieces (its own sends one byte
    at a time, far below the rate asked for): a link of about BPS bytes a
    second per connection."""

    def _send_slowly(self, dst, data):
        while data and self._trickle and not self._stopping:
            piece, data = data[:4096], data[4096:]
            dst.sendall(piece)
            with self._lock:
                self.down += len(piece)
            time.sleep(len(piece) / max(self._trickle, 1))
        return data


@pytest.mark.timeout_s(240)
def test_status_watch_activity(bulk_server, mount, imap):
    p = SlowProxy(bulk_server.imaps_port).start()
    try:
        _watch_activity(bulk_server, p, mount, imap)
    finally:
        p.stop()


def _watch_activity(bulk_server, p, mount, imap):
    m = mount(bulk_server, url=proxy_url(bulk_server, p), opts=["max_conns=4"])
    box = os.path.join(m.path, BULK)
    names = sorted(os.listdir(box), key=lambda n: int(n.split(".")[0]))
    assert len(names) == NBULK
    rc, out, err = _status(box)
    assert rc == 0, err
    assert _field(out, "fetched").startswith("0 messages"), out
    assert _field(out, "read-ahead queue") == "0 messages", out

    # a slow link: the reads take seconds, long enough to be watched
    p.trickle(256 * 1024)
    watch = subprocess.Popen([imapfs_bin(), "status", "--watch", box],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # (when read, line) of what --watch prints (flushed once a second)
    got = []
    reader = threading.Thread(target=lambda: got.extend(
        (time.monotonic(), ln) for ln in iter(watch.stdout.readline, b"")))
    reader.start()
    cat = subprocess.Popen(["cat"] + names, cwd=box, stdout=subprocess.PIPE)
    try:
        data = cat.stdout.read()
        assert cat.wait(120) == 0
        # one more report after the reads ended (it prints every second)
        end = time.monotonic()
        assert poll(lambda: [t for t, _ in list(got) if t > end], 1 + 10,
                    interval=0.1)[0], "--watch printed nothing after 1 s"
    finally:
        watch.terminate()
        reader.join(20)
    werr = watch.communicate(timeout=20)[1]
    p.resume()
    assert watch.returncode == 0, werr
    lines = [ln.decode().rstrip("\n") for _, ln in got]
    assert lines and lines[0].split(" ", 2)[1] == "watching", lines
    rates = [ln for ln in lines[1:] if not ln.startswith("  ")]
    assert len(rates) >= 2, lines
    msg_rates = [float(re.search(r" ([\d.]+) msg/s ", ln).group(1)) for ln in rates]
    byte_rates = [float(re.search(r" ([\d.]+) MiB/s;", ln).group(1)) for ln in rates]
    assert max(msg_rates) > 0 and max(byte_rates) > 0, lines
    conns = [ln for ln in lines if re.match(r"^  conn \d+: UID FETCH Bulk [\d:]+ .*\(\d+\.\d s\)$", ln)]
    assert conns, lines
    assert any(re.search(r" busy of \d+ open$", ln) and not re.search(r" 0 busy", ln) for ln in rates), lines

    # what came through the mount is what the server holds
    c = imap(bulk_server)
    imaputil.check(c.select(BULK, readonly=True), "SELECT")
    typ, dat = c.uid("FETCH", "1:*", "(BODY.PEEK[])")
    bodies = b"".join(part[1] for part in dat if isinstance(part, tuple))
    assert data == bodies
    rc, out, err = _status(m.path)
    fetched = _field(out, "fetched")
    nmsg, nbytes = re.match(r"(\d+) messages, (\d+) bytes", fetched).groups()
    assert int(nbytes) >= len(data) and int(nmsg) >= 1, out

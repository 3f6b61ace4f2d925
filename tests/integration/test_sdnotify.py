"""The service manager's notification socket (fs/sdnotify.c), as systemd's
Type=notify reads it: with NOTIFY_SOCKET naming an AF_UNIX datagram socket
(a path, or '@name' in the abstract namespace), `imapfs mount -f` sends
READY=1 only once the mount answers (the root is in /proc/self/mountinfo
and lists INBOX when the datagram is read), STOPPING=1 when it is
unmounted; a refused login sends nothing and exits 3; helpers
(password_command) do not inherit NOTIFY_SOCKET; without the variable
nothing is sent. Here a Python socket stands in for systemd, which is
not running in the test container."""

import os
import shlex
import socket
import subprocess
import tempfile
import uuid

import pytest

import mountutil
from mountutil import Mount


class Manager:
    """A datagram socket where systemd's would be."""

    def __init__(self, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "imapfs-test-%s" % uuid.uuid4().hex
            self.sock.bind("\0" + name)
            self.env = "@" + name
        else:
            d = tempfile.mkdtemp(prefix="imapfs-notify-")
            self.env = os.path.join(d, "notify")
            self.sock.bind(self.env)

    def recv(self, timeout):
        """-> dict of the next datagram's KEY=VALUE lines, or None."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return None
        return dict(ln.split("=", 1) for ln in data.decode().split("\n"))

    def close(self):
        self.sock.close()


def _start(m):
    """Start M's imapfs -f as systemd would, without waiting for it."""
    Mount.all_mounts.append(m)
    log = open(m.logfile, "ab")
    m.proc = subprocess.Popen(m.argv(), stdin=subprocess.DEVNULL,
                              stdout=log, stderr=log, env=m._env(),
                              start_new_session=True)
    return m


def _ready_and_mounted(mgr, m):
    msg = mgr.recv(mountutil.MOUNT_TIMEOUT)
    # looked at the moment READY=1 is read: the mount must be there
    entry = mountutil.mount_entry(m.path)
    assert msg is not None, "no READY=1 within %ss\n%s" \
        % (mountutil.MOUNT_TIMEOUT, m.log())
    assert msg.get("READY") == "1", msg
    assert entry is not None and entry["fstype"] == "fuse.imapfs", entry
    assert "INBOX" in os.listdir(m.path)
    assert msg["STATUS"] == "Mounted %s on %s" % (m.url, m.path), msg
    return msg


@pytest.mark.parametrize("abstract", [False, True],
                         ids=["path", "abstract"])
def test_ready_then_stopping(slash_server, mount, abstract):
    mgr = Manager(abstract)
    try:
        m = _start(mount(slash_server, start=False,
                         env={"NOTIFY_SOCKET": mgr.env}))
        _ready_and_mounted(mgr, m)
        assert m.proc.poll() is None
        # nothing else until it goes
        assert mgr.recv(0.5) is None
        assert mountutil.unmount(m.path)
        msg = mgr.recv(20)
        assert msg == {"STOPPING": "1",
                       "STATUS": "Unmounted %s" % m.path}, msg
        assert m.proc.wait(20) == 0, m.log()
    finally:
        mgr.close()


def test_helpers_do_not_inherit_notify_socket(slash_server, mount):
    """password_command runs without NOTIFY_SOCKET (it could otherwise
    tell systemd the mount is ready, or stopping, in imapfs's name)."""
    mgr = Manager()
    d = tempfile.mkdtemp(prefix="imapfs-notify-")
    seen = os.path.join(d, "seen")
    pw = mountutil.write_password_file(d, slash_server.password)
    cmd = "printf '%%s' \"${NOTIFY_SOCKET-unset}\" > %s; cat %s" \
        % (shlex.quote(seen), shlex.quote(pw))
    try:
        m = _start(mount(slash_server, start=False, password=None,
                         cafile=slash_server.cafile,
                         opts=["password_command=" + cmd],
                         env={"NOTIFY_SOCKET": mgr.env}))
        _ready_and_mounted(mgr, m)
        with open(seen) as f:
            assert f.read() == "unset"
    finally:
        mgr.close()


def test_wrong_password_exits_3_without_ready(slash_server, mount):
    """What RestartPreventExitStatus=3 in imapfs@.service stops from being
    retried (test_packaging checks the unit)."""
    mgr = Manager()
    try:
        m = _start(mount(slash_server, start=False, password="wrong",
                         env={"NOTIFY_SOCKET": mgr.env}))
        assert m.proc.wait(60) == 3, m.log()
        assert "authentication" in m.log().lower() or \
            "login" in m.log().lower(), m.log()
        assert mgr.recv(0.5) is None
        assert not mountutil.is_mounted(m.path)
    finally:
        mgr.close()


def test_nothing_sent_without_notify_socket(slash_server, mount):
    mgr = Manager()
    try:
        m = mount(slash_server)            # NOTIFY_SOCKET not set
        assert "NOTIFY_SOCKET" not in m._env()
        assert "INBOX" in os.listdir(m.path)
        assert m.stop(cleanup=False) == 0
        assert mgr.recv(0.5) is None
    finally:
        mgr.close()

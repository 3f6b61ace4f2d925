"""imapfs status MOUNTPOINT: the running daemon's account, capabilities in
use, connections, cache and last error, read through the read-only
attribute user.imapfs.status of the mount root. The errors shown are the
daemon's own log_err lines (a malformed reply from a scripted server),
and the attribute cannot be written or removed, nor is it listed."""

import errno
import os
import tempfile
import time

import pytest

from fakeserver import FakeServer, Message
from mountutil import local_url, run_imapfs

BODY = b"From: a@b.example\r\nSubject: two\r\n\r\n" + b"y" * 20000 + b"\r\n"


def _status(mp):
    r = run_imapfs(["status", mp])
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def _field(out, key):
    for ln in out.splitlines():
        if ln.startswith(key + ":"):
            return ln[len(key) + 1:].strip()
    raise AssertionError("no %r line in:\n%s" % (key, out))


def test_status_dovecot(slash_server, mount):
    m = mount(slash_server, opts=["max_conns=3"])
    os.listdir(os.path.join(m.path, "INBOX"))
    rc, out, err = _status(m.path)
    assert rc == 0, err
    assert _field(out, "mountpoint") == m.path
    assert _field(out, "account").startswith("(none")
    assert "%s@127.0.0.1:%d" % (slash_server.user, slash_server.imaps_port) \
        in _field(out, "server")
    assert _field(out, "login") == "LOGIN"
    used = _field(out, "capabilities used").split()
    # Dovecot has these; the status must say they are in use
    assert "UIDPLUS" in used and "MOVE" in used and "CONDSTORE" in used, out
    conns = _field(out, "connections")
    assert "max 3" in conns, conns
    assert int(conns.split()[0]) >= 1, conns
    assert _field(out, "cache")
    assert _field(out, "last error") == "none"
    assert _field(out, "errors").startswith("0 ")
    # Dovecot offers IDLE, NOTIFY and CONDSTORE: how changes by others come
    for _ in range(50):
        if "not connected yet" not in out:
            break
        time.sleep(0.2)
        out = _status(m.path)[1]
    assert _field(out, "watch INBOX") == "IDLE (within seconds)", out
    assert _field(out, "watch other mailboxes").startswith("NOTIFY (within seconds), and LIST and "
                                                           "STATUS of the "), out
    assert _field(out, "watch flags").startswith("CHANGEDSINCE (CONDSTORE)"), out

    # read-only, and not part of getfattr -d / rsync -X
    with pytest.raises(OSError) as ei:
        os.setxattr(m.path, "user.imapfs.status", b"x")
    assert ei.value.errno == errno.EPERM
    with pytest.raises(OSError) as ei:
        os.removexattr(m.path, "user.imapfs.status")
    assert ei.value.errno == errno.EPERM
    assert "user.imapfs.status" not in os.listxattr(m.path)
    # only the root has it
    with pytest.raises(OSError) as ei:
        os.getxattr(os.path.join(m.path, "INBOX"), "user.imapfs.status")
    assert ei.value.errno == errno.ENODATA, ei.value


def test_status_last_error(pki, mount):
    fs = FakeServer("imaps", cert=pki.leaf("fake-status"), password="pw",
                    mailboxes={b"INBOX": {"attrs": ["\\HasNoChildren"],
                                          "messages": [Message(1, BODY)]}})
    fs.start()
    try:
        m = mount(url=local_url("alice", fs.port),
                  cafile=pki.cafile, password="pw", opts=["timeout=10"])
        inbox = os.path.join(m.path, "INBOX")
        assert os.listdir(inbox) == ["1.eml"]
        rc, out, err = _status(m.path)
        assert rc == 0 and _field(out, "last error") == "none", out
        missing = _field(out, "capabilities missing")
        assert "MOVE" in missing and "CONDSTORE" in missing, out

        fs.garbage = {"body"}
        with pytest.raises(OSError) as ei:
            with open(os.path.join(inbox, "1.eml"), "rb") as f:
                f.read()
        assert ei.value.errno == errno.EIO, ei.value
        rc, out, err = _status(m.path)
        assert rc == 0, err
        last = _field(out, "last error")
        assert "unparsable" in last, out
        assert int(_field(out, "errors").split()[0]) >= 1
        # the same line the daemon logged
        assert last.split(" ", 2)[2] in m.log(), (last, m.log())
    finally:
        fs.stop()


def test_status_not_imapfs(imapfs_bin):
    d = tempfile.mkdtemp(prefix="imapfs-status-")
    rc, out, err = _status(d)
    assert rc == 1
    assert err.startswith("imapfs: ") and "is not inside an imapfs mount" in err
    r = run_imapfs(["status"])
    assert r.returncode == 1 and b"usage" in r.stderr

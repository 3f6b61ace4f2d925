"""A malformed server reply becomes EIO for that one operation: the daemon
stays up, the mount keeps answering, and the next operation works once the
server behaves again."""

import errno
import os

import pytest

from fakeserver import FakeServer, Message
from mountutil import local_url

BODY1 = b"From: a@b.example\r\nSubject: one\r\n\r\nfirst body\r\n"
BODY2 = (b"From: a@b.example\r\nSubject: two\r\n\r\n" + b"y" * 20000 +
         b"\r\n")


@pytest.fixture
def fake(pki):
    mbs = {
        b"INBOX": {"attrs": ["\\HasNoChildren"], "messages": [
            Message(1, BODY1, ["\\Seen"]), Message(2, BODY2, [])]},
    }
    fs = FakeServer("imaps", cert=pki.leaf("fake-bad"), password="pw",
                    mailboxes=mbs).start()
    yield fs
    fs.stop()


def _mount(fake, pki, mount):
    return mount(url=local_url("alice", fake.port),
                 cafile=pki.cafile, password="pw", opts=["timeout=10", "imap_trace"])


def test_garbage_metadata_fetch(fake, pki, mount):
    # Garbage from the start, so nothing can have been cached: listing the
    # root needs only LIST.
    fake.garbage = {"meta"}
    m = _mount(fake, pki, mount)
    assert os.listdir(m.path) == ["INBOX"]
    with pytest.raises(OSError) as ei:
        os.listdir(os.path.join(m.path, "INBOX"))
    assert ei.value.errno == errno.EIO, ei.value
    assert fake.saw("UID FETCH", "FETCH"), fake.transcript()
    assert m.alive(), "daemon died on a malformed reply\n" + m.log()
    assert os.listdir(m.path) == ["INBOX"]
    fake.garbage = set()
    assert sorted(os.listdir(os.path.join(m.path, "INBOX"))) == \
        ["1.eml", "2.eml"]
    assert m.alive()


def test_garbage_body_fetch(fake, pki, mount):
    m = _mount(fake, pki, mount)
    inbox = os.path.join(m.path, "INBOX")
    assert sorted(os.listdir(inbox)) == ["1.eml", "2.eml"]
    assert os.stat(os.path.join(inbox, "2.eml")).st_size == len(BODY2)
    fake.garbage = {"body"}
    with pytest.raises(OSError) as ei:
        with open(os.path.join(inbox, "2.eml"), "rb") as f:
            f.read()
    assert ei.value.errno == errno.EIO, ei.value
    assert m.alive(), "daemon died on a malformed reply\n" + m.log()
    assert os.listdir(m.path) == ["INBOX"]
    fake.garbage = set()
    with open(os.path.join(inbox, "2.eml"), "rb") as f:
        assert f.read() == BODY2
    with open(os.path.join(inbox, "1.eml"), "rb") as f:
        assert f.read() == BODY1
    assert m.alive()


@pytest.mark.parametrize("mode", ["body-nil-no", "body-empty-no"])
def test_unreadable_body_is_not_cached(fake, pki, mount, mode):
    """BODY[] NIL (or an empty literal) followed by NO: the read fails,
    and nothing is cached: once the server can read it again, the real
    bytes come back, not an empty file."""
    m = _mount(fake, pki, mount)
    inbox = os.path.join(m.path, "INBOX")
    assert sorted(os.listdir(inbox)) == ["1.eml", "2.eml"]
    fake.garbage = {mode}
    with pytest.raises(OSError) as ei:
        with open(os.path.join(inbox, "2.eml"), "rb") as f:
            f.read()
    assert ei.value.errno in (errno.EIO, errno.ENOENT), ei.value
    fake.garbage = set()
    with open(os.path.join(inbox, "2.eml"), "rb") as f:
        assert f.read() == BODY2
    assert m.alive()


def test_garbage_unterminated_string(fake, pki, mount):
    """A quoted string cut off by CRLF: the parser may wait for the rest,
    so a timeout (ETIMEDOUT) is as acceptable as EIO; what matters is that
    the operation fails within the timeout and the mount survives."""
    m = _mount(fake, pki, mount)
    inbox = os.path.join(m.path, "INBOX")
    assert sorted(os.listdir(inbox)) == ["1.eml", "2.eml"]
    fake.garbage = {"body-quote"}
    with pytest.raises(OSError) as ei:
        with open(os.path.join(inbox, "2.eml"), "rb") as f:
            f.read()
    assert ei.value.errno in (errno.EIO, errno.ETIMEDOUT), ei.value
    assert m.alive(), "daemon died on a malformed reply\n" + m.log()
    assert os.listdir(m.path) == ["INBOX"]
    fake.garbage = set()
    with open(os.path.join(inbox, "2.eml"), "rb") as f:
        assert f.read() == BODY2

"""Existing messages are immutable: opening one for writing, truncating,
chmod and chown all fail, and the server's message is unchanged."""

import os
import time

import pytest

import corpus
import imaputil
from imaputil import personal_name, personal_rel


@pytest.fixture
def one_message(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    box = "Immutable%d" % time.monotonic_ns()
    sname = personal_name(s, box)
    imaputil.create(c, sname)
    body = corpus.msg_plain("immutable", ["do not touch"],
                            msgid="imm-%d" % time.monotonic_ns())
    uid = imaputil.append_uid(c, sname, body, ["\\Seen"])
    m = mount(s)
    p = os.path.join(m.path, personal_rel(s, box), "%d.eml" % uid)
    yield p
    assert imaputil.bodies(c, sname) == {uid: body}, \
        "the server's message changed"
    assert imaputil.flags_of(c, sname, uid) == {"\\Seen"}
    with open(p, "rb") as f:
        assert f.read() == body
    assert os.stat(p).st_size == len(body)


@pytest.mark.parametrize("mode", ["r+b", "ab", "wb"])
def test_open_for_writing_fails(one_message, mode):
    with pytest.raises(OSError):
        f = open(one_message, mode)
        try:
            f.write(b"X")
        finally:
            f.close()


def test_truncate_fails(one_message):
    with pytest.raises(OSError):
        os.truncate(one_message, 0)
    with pytest.raises(OSError):
        os.truncate(one_message, 10)


def test_chmod_fails(one_message):
    mode = os.stat(one_message).st_mode & 0o7777
    with pytest.raises(OSError):
        os.chmod(one_message, mode ^ 0o077 | 0o002)
    assert os.stat(one_message).st_mode & 0o7777 == mode


def test_chown_fails(one_message):
    st = os.stat(one_message)
    with pytest.raises(OSError):
        os.chown(one_message, st.st_uid + 1234, st.st_gid + 1234)
    st2 = os.stat(one_message)
    assert (st2.st_uid, st2.st_gid) == (st.st_uid, st.st_gid)

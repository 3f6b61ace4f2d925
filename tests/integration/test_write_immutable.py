"""Existing messages are immutable: opening one for writing without
O_TRUNC, truncating, setting another time and chown to someone else all
fail, chmod changes nothing, and the server's message is unchanged.
Written over whole (O_TRUNC, as cp onto it does) it is replaced: the new
bytes are APPENDed and only then the old UID is expunged; an empty write
or the same bytes change nothing."""

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


@pytest.mark.parametrize("mode", ["r+b", "ab"])
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


def test_chmod_changes_nothing(one_message):
    """IMAP keeps no modes: chmod is accepted (cp -a, tar and rsync -a set
    them) and the mode shown stays."""
    mode = os.stat(one_message).st_mode & 0o7777
    os.chmod(one_message, mode ^ 0o077 | 0o002)
    assert os.stat(one_message).st_mode & 0o7777 == mode


def test_other_time_fails(one_message):
    """INTERNALDATE cannot change once stored; setting the one it has is
    fine (rsync -t on a restored message)."""
    st = os.stat(one_message)
    os.utime(one_message, (st.st_atime, st.st_mtime))
    with pytest.raises(OSError):
        os.utime(one_message, (st.st_atime, st.st_mtime - 3600))
    assert os.stat(one_message).st_mtime == st.st_mtime


def test_empty_or_same_write_changes_nothing(one_message):
    with open(one_message, "rb") as f:
        body = f.read()
    with open(one_message, "wb"):
        pass
    with open(one_message, "wb") as f:
        f.write(body)


def test_chown_fails(one_message):
    st = os.stat(one_message)
    with pytest.raises(OSError):
        os.chown(one_message, st.st_uid + 1234, st.st_gid + 1234)
    st2 = os.stat(one_message)
    assert (st2.st_uid, st2.st_gid) == (st.st_uid, st.st_gid)


def test_write_over_replaces(fresh_server, mount, imap):
    """open(O_WRONLY|O_TRUNC) + write + close: one APPEND of the new bytes,
    then UID EXPUNGE of the old UID only; nothing else touched. The old
    name resolves to the new message."""
    s = fresh_server
    c = imap(s)
    box = "Overwrite%d" % time.monotonic_ns()
    sname = personal_name(s, box)
    imaputil.create(c, sname)
    bodies = [corpus.msg_plain("over %d" % i, ["body %d" % i],
                               msgid="ow-%d-%d" % (i, time.monotonic_ns()))
              for i in range(3)]
    uids = [imaputil.append_uid(c, sname, b, ["\\Seen"]) for b in bodies]
    m = mount(s)
    d = os.path.join(m.path, personal_rel(s, box))
    new = bodies[1].replace(b"body 1", b"body one, edited")
    with open(os.path.join(d, "%d.eml" % uids[1]), "wb") as f:
        f.write(new)
    got = imaputil.bodies(c, sname)
    assert uids[1] not in got, "the old message is still there"
    assert got[uids[0]] == bodies[0] and got[uids[2]] == bodies[2]
    added = [u for u in got if u not in uids]
    assert len(added) == 1 and got[added[0]] == new, sorted(got)
    with open(os.path.join(d, "%d.eml" % uids[1]), "rb") as f:
        assert f.read() == new, "the old name does not read the new message"
    assert sorted(os.listdir(d)) == sorted("%d.eml" % u for u in got)

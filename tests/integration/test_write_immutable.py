"""Existing messages' bytes never change: truncating by name, setting
another time and chown to someone else fail, chmod changes nothing, and
the server's message is unchanged. Written over (whole with O_TRUNC, as
cp onto it does, or in place, as vim and rsync --inplace do) it is
replaced: the new bytes are APPENDed and only then the old UID is
expunged; an empty write, no write, or the same bytes change nothing."""

import errno
import os
import subprocess
import time

import pytest

import corpus
import imaputil
from imaputil import personal_name, personal_rel


class _OneMessage:
    """The message a test works on: PATH on the mount; check() asserts
    what must hold whatever the test did to it (called at the end of each
    test, so a violation is a failure of that test, not a teardown
    error)."""

    def __init__(self, c, sname, uid, body, path):
        self.c, self.sname, self.uid, self.body = c, sname, uid, body
        self.path = path

    def check(self):
        assert imaputil.bodies(self.c, self.sname) == {self.uid: self.body}, \
            "the server's message changed"
        assert imaputil.flags_of(self.c, self.sname, self.uid) == {"\\Seen"}
        with open(self.path, "rb") as f:
            assert f.read() == self.body
        assert os.stat(self.path).st_size == len(self.body)


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
    return _OneMessage(c, sname, uid, body, p)


@pytest.mark.parametrize("mode", ["r+b", "ab"])
def test_open_for_writing_without_a_write_changes_nothing(one_message, mode):
    """Opened for writing in place (r+, append) and closed unwritten: the
    new file starts as the message and stores nothing."""
    with open(one_message.path, mode) as f:
        if mode == "r+b":
            assert f.read(5) == b"From:"
    one_message.check()


def test_truncate_fails(one_message):
    with pytest.raises(OSError) as ei:
        os.truncate(one_message.path, 0)
    assert ei.value.errno == errno.EPERM, ei.value
    with pytest.raises(OSError) as ei:
        os.truncate(one_message.path, 10)
    assert ei.value.errno == errno.EPERM, ei.value
    one_message.check()


def test_chmod_changes_nothing(one_message):
    """IMAP keeps no modes: chmod is accepted (cp -a, tar and rsync -a set
    them) and the mode shown stays."""
    mode = os.stat(one_message.path).st_mode & 0o7777
    os.chmod(one_message.path, mode ^ 0o077 | 0o002)
    assert os.stat(one_message.path).st_mode & 0o7777 == mode
    one_message.check()


def test_other_time_fails(one_message):
    """INTERNALDATE cannot change once stored; setting the one it has is
    fine (rsync -t on a restored message)."""
    st = os.stat(one_message.path)
    os.utime(one_message.path, (st.st_atime, st.st_mtime))
    with pytest.raises(OSError) as ei:
        os.utime(one_message.path, (st.st_atime, st.st_mtime - 3600))
    assert ei.value.errno == errno.EPERM, ei.value
    assert os.stat(one_message.path).st_mtime == st.st_mtime
    one_message.check()


def test_empty_or_same_write_changes_nothing(one_message):
    with open(one_message.path, "rb") as f:
        body = f.read()
    with open(one_message.path, "wb"):
        pass
    with open(one_message.path, "wb") as f:
        f.write(body)
    one_message.check()


def test_chown_fails(one_message):
    st = os.stat(one_message.path)
    with pytest.raises(OSError) as ei:
        os.chown(one_message.path, st.st_uid + 1234, st.st_gid + 1234)
    assert ei.value.errno == errno.EPERM, ei.value
    st2 = os.stat(one_message.path)
    assert (st2.st_uid, st2.st_gid) == (st.st_uid, st.st_gid)
    one_message.check()


def _three(s, c, tag):
    """A new mailbox TAG<n> with three \\Seen messages "over 0..2".
    -> (box, server name, bodies, uids)."""
    box = "%s%d" % (tag, time.monotonic_ns())
    sname = personal_name(s, box)
    imaputil.create(c, sname)
    bodies = [corpus.msg_plain("over %d" % i, ["body %d" % i],
                               msgid="%s-%d-%d" % (tag, i, time.monotonic_ns()))
              for i in range(3)]
    uids = [imaputil.append_uid(c, sname, b, ["\\Seen"]) for b in bodies]
    return box, sname, bodies, uids


def test_write_over_replaces(fresh_server, mount, imap):
    """open(O_WRONLY|O_TRUNC) + write + close: one APPEND of the new bytes,
    then UID EXPUNGE of the old UID only; nothing else touched. The old
    name resolves to the new message."""
    s = fresh_server
    c = imap(s)
    box, sname, bodies, uids = _three(s, c, "Overwrite")
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


@pytest.mark.parametrize("tool", [
    "vim -E -s -c '%s/^Subject: over 1/Subject: over 1, in vim/' -c 'wq' {f}",
    "printf '%s\\n' '/^Subject: over 1/s/over 1/over 1, in ed/' w q | ed -s {f}",
    "python3 -c 'import sys; f = open(sys.argv[1], \"r+b\"); d = f.read(); "
    "f.seek(0); f.write(d.replace(b\"over 1\", b\"over 1, in place\")); f.close()' {f}",
])
def test_edit_in_place_replaces(fresh_server, mount, imap, tool):
    """Editors that write a message where it is (vim, ed, an r+ write):
    the file starts as the message, the edit is one APPEND, then the old
    UID goes (same Message-ID) and its flags stay."""
    s = fresh_server
    c = imap(s)
    box, sname, bodies, uids = _three(s, c, "InPlace")
    m = mount(s)
    f = os.path.join(m.path, personal_rel(s, box), "%d.eml" % uids[1])
    r = subprocess.run(["bash", "-c", tool.format(f=f)], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    got = imaputil.bodies(c, sname)
    assert uids[1] not in got and got[uids[0]] == bodies[0] and got[uids[2]] == bodies[2]
    added = [u for u in got if u not in uids]
    assert len(added) == 1, sorted(got)
    assert b"Subject: over 1, in " in got[added[0]]
    assert b"body 1" in got[added[0]]
    assert imaputil.flags_of(c, sname, added[0]) == {"\\Seen"}

"""The exact IMAP commands behind the write path, read from Dovecot's
rawlog (what each session sent): rm is UID STORE +FLAGS.SILENT (\\Deleted)
plus UID EXPUNGE of that one UID, never EXPUNGE or CLOSE; cp is exactly
one APPEND; a server that does not advertise UIDPLUS is never sent UID
EXPUNGE (nor EXPUNGE/CLOSE).

The test's own imaplib sessions identify themselves with ID so that their
commands are left out.
"""

import os
import re
import subprocess
import tempfile

import pytest

import corpus
import imaputil
from imaputil import personal_name, personal_rel
from waitutil import poll

from transcript import LINE, MARK, connect as _connect, find as _find


def _imapfs_commands(s):
    """Commands (tag stripped, upper-cased verb) the non-test sessions
    sent, in order per session. Dovecot writes a rawlog_dir .in file as
    it reads (unbuffered), so a command it has answered is there."""
    out = []
    for name, data in s.imap_sessions():
        if MARK in data:
            continue
        for line in data.split(b"\r\n"):
            m = LINE.match(line)
            if m:
                out.append(m.group(2))
    return out


def _open_files():
    """The paths every process here holds open."""
    out = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                out.add(os.readlink("/proc/%s/fd/%s" % (pid, fd)))
            except OSError:
                pass
    return out


def _all_commands(s, m, bound=20):
    """Every command mount M sent, once it is unmounted and Dovecot has
    closed the rawlog of each of its sessions (it read all there was):
    nothing the mount sent in the background is missed. BOUND is the
    failure's, not a wait: Dovecot sees the daemon's sockets close when
    it exits."""
    m.stop(cleanup=False)
    d = os.path.join(s.dir, "rawlog")

    def closed():
        held = _open_files()
        return not [n for n, data in s.imap_sessions()
                    if MARK not in data and os.path.join(d, n) in held]
    assert poll(closed, bound)[0], "a session of the mount still open"
    return _imapfs_commands(s)


_msg = corpus.tagged("protocol", "pr", ["p"])


def _setup(c, s, box, n=3):
    sname = personal_name(s, box)
    imaputil.create(c, sname)
    uids = [imaputil.append_uid(c, sname, _msg("%s-%d" % (box, i)))
            for i in range(n)]
    return sname, personal_rel(s, box), uids


@pytest.fixture(scope="module", params=["slash", "dot"])
def raw_server(request, fresh_servers):
    return fresh_servers(request.param, rawlog=True)


def test_rm_sends_uid_store_and_uid_expunge(raw_server, mount):
    s = raw_server
    c = _connect(s)
    sname, rel, (u1, u2, u3) = _setup(c, s, "ProtoRm")
    m = mount(s)
    os.unlink(os.path.join(m.path, rel, "%d.eml" % u2))
    cmds = _all_commands(s, m)
    store = _find(cmds, rb"^UID STORE %d \+FLAGS(\.SILENT)? \(\\Deleted\)$"
                  % u2)
    expunge = _find(cmds, rb"^UID EXPUNGE %d$" % u2)
    assert store, "no UID STORE %d +FLAGS.SILENT (\\Deleted): %r" % (u2,
                                                                     cmds)
    assert len(expunge) == 1, "UID EXPUNGE %d sent %d times: %r" % (
        u2, len(expunge), cmds)
    assert not _find(cmds, rb"^(EXPUNGE|CLOSE)$"), cmds
    others = [x for x in _find(cmds, rb"^UID STORE .*\\Deleted")
              if not re.match(rb"^UID STORE %d " % u2, x)]
    assert not others, "\\Deleted stored on other messages: %r" % others
    assert imaputil.uids(c, sname) == [u1, u3]
    c.logout()


def test_cp_sends_exactly_one_append(raw_server, mount):
    s = raw_server
    c = _connect(s)
    sname, rel, _ = _setup(c, s, "ProtoCp", n=0)
    d = tempfile.mkdtemp(prefix="imapfs-src-")
    with open(os.path.join(d, "one.eml"), "wb") as f:
        f.write(_msg("one-append"))
    m = mount(s)
    r = subprocess.run(["cp", os.path.join(d, "one.eml"),
                        os.path.join(m.path, rel) + "/"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    appends = _find(_all_commands(s, m), rb"^APPEND ")
    assert len(appends) == 1, "APPEND sent %d times: %r" % (len(appends),
                                                            appends)
    assert len(imaputil.uids(c, sname)) == 1
    c.logout()


# ---------------------------------------------------------------- no UIDPLUS


def _no_unadvertised(cmds):
    bad = _find(cmds, rb"^(UID EXPUNGE|EXPUNGE$|CLOSE$)")
    assert not bad, "sent to a server without UIDPLUS: %r" % bad


def test_nouidplus_rm_uses_move_only(fresh_servers, mount):
    s = fresh_servers("slash", drop_caps=("UIDPLUS",), rawlog=True)
    c = _connect(s)
    sname, rel, (u1, u2, u3) = _setup(c, s, "ProtoNoUidplus")
    m = mount(s)
    os.unlink(os.path.join(m.path, rel, "%d.eml" % u2))
    cmds = _all_commands(s, m)
    _no_unadvertised(cmds)
    assert _find(cmds, rb"^UID MOVE %d " % u2), cmds
    assert imaputil.uids(c, sname) == [u1, u3]
    c.logout()


def test_nouidplus_nomove_mv_message(fresh_servers, mount):
    """Neither UIDPLUS nor MOVE: moving a message must not rely on UID
    EXPUNGE (not advertised) nor EXPUNGE/CLOSE (would remove other
    \\Deleted messages). Whatever the outcome, no mail is lost and the
    source message is not left marked \\Deleted."""
    s = fresh_servers("slash", drop_caps=("UIDPLUS", "MOVE"), rawlog=True)
    c = _connect(s)
    a, arel, (a1,) = _setup(c, s, "ProtoNmA", n=1)
    b, brel, _ = _setup(c, s, "ProtoNmB", n=0)
    body = imaputil.bodies(c, a)[a1]
    m = mount(s)
    try:
        os.rename(os.path.join(m.path, arel, "%d.eml" % a1),
                  os.path.join(m.path, brel, "%d.eml" % a1))
        moved = True
    except OSError:
        moved = False
    cmds = _all_commands(s, m)
    _no_unadvertised(cmds)
    in_a = imaputil.bodies(c, a)
    in_b = imaputil.bodies(c, b)
    assert body in list(in_a.values()) + list(in_b.values()), "mail lost"
    if moved:
        assert in_a == {} and list(in_b.values()) == [body]
    else:
        assert in_a == {a1: body}
        assert "\\Deleted" not in imaputil.flags_of(c, a, a1)
    c.logout()

"""rm MBOX/N.eml = UID STORE N +FLAGS.SILENT (\\Deleted) + UID EXPUNGE N.

Never a bare EXPUNGE: a message another client marked \\Deleted (and did
not expunge) survives the rm of a different message. Without UIDPLUS, rm
moves the message to the \\Trash special-use mailbox when the server has
MOVE, and otherwise fails with EPERM, changing nothing.
"""

import errno
import imaplib
import os
import subprocess

import pytest

import corpus
import imaputil
from imaputil import personal_name, personal_rel


_msg = corpus.tagged("unlink test", "u", ["bye"])


def _setup(c, server, box):
    """BOX with three messages; the third marked \\Deleted by this other
    client (not expunged). -> (sname, rel, [u1, u2, u3], {uid: body})."""
    sname = personal_name(server, box)
    if box != "INBOX":
        imaputil.create(c, sname)
    bodies = {}
    uids = []
    for i in range(3):
        b = _msg("%s-%d" % (box, i))
        u = imaputil.append_uid(c, sname, b, ["\\Seen"] if i == 0 else [])
        uids.append(u)
        bodies[u] = b
    imaputil.store_flags(c, sname, uids[2], "+FLAGS.SILENT", ["\\Deleted"])
    c.unselect()   # not CLOSE: that would expunge
    return sname, personal_rel(server, box), uids, bodies


def _check_bystander(c, sname, uid, body):
    meta = imaputil.fetch_meta(c, sname)
    assert uid in meta, "the bystander \\Deleted message UID %d was " \
        "expunged (a bare EXPUNGE?)" % uid
    assert "\\Deleted" in meta[uid]["FLAGS"], meta[uid]["FLAGS"]
    assert imaputil.fetch_body(c, uid) == body


@pytest.mark.parametrize("box", ["RmBox", "INBOX"])
def test_rm_expunges_only_that_message(fresh_server, mount, imap, box):
    s = fresh_server
    c = imap(s)
    sname, rel, (u1, u2, u3), bodies = _setup(c, s, box)
    others_before = set(imaputil.uids(c, sname)) - {u1, u2, u3}
    trash = personal_name(s, "Trash")
    trash_before = imaputil.uids(c, trash)
    m = mount(s)
    d = os.path.join(m.path, rel)
    assert "%d.eml" % u2 in os.listdir(d)
    r = subprocess.run(["rm", os.path.join(d, "%d.eml" % u2)],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # The mount, immediately.
    assert "%d.eml" % u2 not in os.listdir(d)
    assert not os.path.exists(os.path.join(d, "%d.eml" % u2))
    # The server.
    left = set(imaputil.uids(c, sname))
    assert u2 not in left, "UID %d still on the server after rm" % u2
    assert left == {u1, u3} | others_before, left
    _check_bystander(c, sname, u3, bodies[u3])
    assert imaputil.fetch_body(c, u1) == bodies[u1]
    assert imaputil.flags_of(c, sname, u1) == {"\\Seen"}
    assert imaputil.uids(c, trash) == trash_before, \
        "with UIDPLUS, rm expunges: nothing goes to Trash"


def test_rm_missing_file(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    sname, rel, uids, bodies = _setup(c, s, "RmMissing")
    m = mount(s)
    with pytest.raises(FileNotFoundError):
        os.unlink(os.path.join(m.path, rel, "%d.eml" % (max(uids) + 100)))
    assert imaputil.uids(c, sname) == sorted(uids)


def test_rm_message_expunged_elsewhere(fresh_server, mount, imap):
    """The message vanished on the server after the mount listed it: rm
    must not expunge anything else (bystander \\Deleted survives)."""
    s = fresh_server
    c = imap(s)
    sname, rel, (u1, u2, u3), bodies = _setup(c, s, "RmGoneAlready")
    m = mount(s)
    d = os.path.join(m.path, rel)
    assert "%d.eml" % u2 in os.listdir(d)
    # Another client removes u2 (UID EXPUNGE, leaving u3 \Deleted).
    imaputil.store_flags(c, sname, u2, "+FLAGS.SILENT", ["\\Deleted"])
    imaputil.check(c.uid("EXPUNGE", str(u2)), "UID EXPUNGE")
    c.unselect()   # not CLOSE: that would expunge
    try:
        os.unlink(os.path.join(d, "%d.eml" % u2))
    except FileNotFoundError:
        pass
    assert imaputil.uids(c, sname) == [u1, u3]
    _check_bystander(c, sname, u3, bodies[u3])


# ---------------------------------------------------------------- no UIDPLUS


@pytest.fixture(scope="module", params=["slash", "dot"])
def nouidplus_server(request, fresh_servers):
    return fresh_servers(request.param, drop_caps=("UIDPLUS",))


def _trash(server):
    return personal_name(server, "Trash")


def test_nouidplus_rm_moves_to_trash(nouidplus_server, mount, imap):
    s = nouidplus_server
    c = imap(s)
    assert "\\Trash" in imaputil.list_special_use(c).get(
        _trash(s).encode(), []), "Dovecot config: no \\Trash mailbox"
    sname, rel, (u1, u2, u3), bodies = _setup(c, s, "NoUidplusTrash")
    trash_before = set(imaputil.uids(c, _trash(s)))
    m = mount(s)
    d = os.path.join(m.path, rel)
    os.unlink(os.path.join(d, "%d.eml" % u2))
    assert "%d.eml" % u2 not in os.listdir(d)
    assert imaputil.uids(c, sname) == [u1, u3], \
        "without UIDPLUS, rm must MOVE the message to \\Trash"
    _check_bystander(c, sname, u3, bodies[u3])
    new = set(imaputil.uids(c, _trash(s))) - trash_before
    assert len(new) == 1, "Trash got %d messages" % len(new)
    assert imaputil.fetch_body(c, new.pop()) == bodies[u2]


def _check_refused(c, s, sname, rel, m, uids, bodies):
    u1, u2, u3 = uids
    flags_before = {u: imaputil.flags_of(c, sname, u) for u in uids}
    trash = None
    if s.special_use:
        trash = set(imaputil.uids(c, _trash(s)))
    d = os.path.join(m.path, rel)
    with pytest.raises(OSError) as ei:
        os.unlink(os.path.join(d, "%d.eml" % u2))
    assert ei.value.errno == errno.EPERM, ei.value

    def verify(c):
        assert imaputil.uids(c, sname) == [u1, u2, u3]
        for u in uids:
            assert imaputil.flags_of(c, sname, u) == flags_before[u], \
                "UID %d: flags changed by a refused rm: %r -> %r" % (
                    u, flags_before[u], imaputil.flags_of(c, sname, u))
            assert imaputil.fetch_body(c, u) == bodies[u]
        _check_bystander(c, sname, u3, bodies[u3])
        if trash is not None:
            assert set(imaputil.uids(c, _trash(s))) == trash
    try:
        verify(c)
    except imaplib.IMAP4.abort:
        # Dovecot's process for this check connection panicked on a lock
        # order deadlock over its own dovecot.list.index.log with the
        # mount's IDLE session (fcntl EDEADLK; twice in about 30 full
        # runs, both here): the check, read-only, on a new connection
        verify(imaputil.connect(s))
    assert "%d.eml" % u2 in os.listdir(d)


def test_nouidplus_nomove_rm_refused(fresh_servers, mount, imap):
    s = fresh_servers("slash", drop_caps=("UIDPLUS", "MOVE"))
    c = imap(s)
    sname, rel, uids, bodies = _setup(c, s, "NoMove")
    m = mount(s)
    _check_refused(c, s, sname, rel, m, uids, bodies)


def test_nouidplus_notrash_rm_refused(fresh_servers, mount, imap):
    s = fresh_servers("slash", drop_caps=("UIDPLUS",), special_use=False)
    c = imap(s)
    assert not any("\\Trash" in a for a in
                   imaputil.list_special_use(c).values())
    sname, rel, uids, bodies = _setup(c, s, "NoTrash")
    m = mount(s)
    _check_refused(c, s, sname, rel, m, uids, bodies)

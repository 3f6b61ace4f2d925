"""A mailbox directory's mtime is the time imapfs last saw its content
change (imapfs.1, THE TREE): a message added, expunged or re-flagged, by
this mount or by another client (seen by the watcher), and a child mailbox
made or removed; before any change, the mount time. Issue 12: it stayed at
the mount time, so `ls -lt` and `find -newer stamp -type d` could not show
the folders with new mail.

Every check first stats the directory, so the kernel holds its attributes
(cached for the attribute timeout, 30 s by default): a new mtime that shows
within seconds proves the kernel was told to ask again. Changes by "another
client" are made with imaplib; what the server holds is checked with it.
"""

import os
import subprocess
import tempfile
import time

import imaputil
from liveutil import OPTS, POLL, POLL_BOUND, new_mailbox, msg, wait_for
import transcript
from waitutil import poll


def _stamp(tag):
    """A file whose mtime is now, to the nanosecond (touch(1) and the
    kernel's coarse clock could put it a little in the past) -> (path, ns)."""
    p = os.path.join(tempfile.mkdtemp(prefix="imapfs-stamp-"), "stamp-" + tag)
    with open(p, "w"):
        pass
    ns = time.time_ns()
    os.utime(p, ns=(ns, ns))
    return p, ns


def _mtime(path):
    return os.stat(path).st_mtime_ns


def _moved_past(path, ns, bound, what):
    """Wait (polling, stat each time) for PATH's mtime to pass NS."""
    return wait_for(lambda: _mtime(path) > ns, bound,
                    lambda: "%s: mtime of %s stayed at %d, stamp %d" % (what, path, _mtime(path), ns))


def _two_mailboxes(server, imap):
    c = imap(server)
    busy = new_mailbox(server, imap, "Busy", [msg("busy one")])
    quiet = new_mailbox(server, imap, "Quiet", [msg("quiet one")])
    return c, busy, quiet


def test_other_client_append_moves_mtime(fresh_server, imap, mount):
    """APPEND from outside: the folder's mtime moves past a stamp once the
    watcher saw it, and find -newer lists that folder, not an untouched
    one; the untouched one keeps the mount time."""
    c, (bname, brel, _), (qname, qrel, _) = _two_mailboxes(fresh_server, imap)
    t0 = time.time()
    m = mount(fresh_server, opts=OPTS)
    busy, quiet = os.path.join(m.path, brel), os.path.join(m.path, qrel)
    assert len(os.listdir(busy)) == 1 and len(os.listdir(quiet)) == 1
    q0 = _mtime(quiet)
    # before any change: the mount time
    assert int(t0) - 1 <= q0 // 10**9 <= time.time() + 1, (q0, t0)
    stamp, ns = _stamp("append")
    assert _mtime(busy) <= ns
    uid = imaputil.append_uid(c, bname, msg("busy two", ["new mail"]))
    # stat only (no listing, which would make the kernel ask anyway): the
    # watcher's news reaches the kernel's cached attributes
    _moved_past(busy, ns, POLL_BOUND, "APPEND by another client")
    assert _mtime(busy) <= time.time_ns()
    assert "%d.eml" % uid in os.listdir(busy)
    r = subprocess.run(["find", m.path, "-newer", stamp, "-type", "d"],
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    found = r.stdout.decode().splitlines()
    assert busy in found and quiet not in found, (found, busy, quiet)
    assert _mtime(quiet) == q0
    # ls -lt shows the folder with new mail first
    r = subprocess.run(["ls", "-t", os.path.dirname(busy)], capture_output=True, timeout=60)
    names = r.stdout.decode().splitlines()
    assert names.index(os.path.basename(busy)) < names.index(os.path.basename(quiet)), names


def test_rm_via_mount_moves_mtime(fresh_server, imap, mount):
    c, (bname, brel, (uid,)), (qname, qrel, _) = _two_mailboxes(fresh_server, imap)
    m = mount(fresh_server, opts=OPTS)
    busy, quiet = os.path.join(m.path, brel), os.path.join(m.path, qrel)
    assert os.listdir(busy) == ["%d.eml" % uid]
    q0 = _mtime(quiet)
    _, ns = _stamp("rm")
    assert _mtime(busy) <= ns
    os.unlink(os.path.join(busy, "%d.eml" % uid))
    assert _mtime(busy) > ns, "rm did not move the folder's mtime"
    assert imaputil.uids(c, bname) == []
    assert _mtime(quiet) == q0


def test_other_client_flag_change_moves_mtime(fresh_server, imap, mount):
    """UID STORE +FLAGS (\\Flagged) from outside: once the mount sees it
    (user.imap.flags shows it), the folder's mtime has moved."""
    c, (bname, brel, (uid,)), (qname, qrel, _) = _two_mailboxes(fresh_server, imap)
    m = mount(fresh_server, opts=OPTS)
    busy, quiet = os.path.join(m.path, brel), os.path.join(m.path, qrel)
    f = os.path.join(busy, "%d.eml" % uid)
    assert os.listdir(busy) == ["%d.eml" % uid]
    q0 = _mtime(quiet)
    _, ns = _stamp("flag")
    assert _mtime(busy) <= ns
    imaputil.store_flags(c, bname, uid, "+FLAGS", ["\\Flagged"])
    assert "\\Flagged" in imaputil.flags_of(c, bname, uid)
    _moved_past(busy, ns, POLL_BOUND, "STORE by another client")
    assert b"\\Flagged" in os.getxattr(f, "user.imap.flags")
    assert _mtime(quiet) == q0


def test_flag_change_via_mount_moves_mtime(fresh_server, imap, mount):
    """setfattr user.imap.flags on a message: the kernel drops only the
    file's attributes by itself; the folder's new mtime shows as soon as
    the notice imapfs queues for it has reached the kernel."""
    c, (bname, brel, (uid,)), _ = _two_mailboxes(fresh_server, imap)
    m = mount(fresh_server, opts=OPTS)
    busy = os.path.join(m.path, brel)
    f = os.path.join(busy, "%d.eml" % uid)
    assert os.listdir(busy) == ["%d.eml" % uid]
    _, ns = _stamp("setflag")
    assert _mtime(busy) <= ns
    os.setxattr(f, "user.imap.flags", b"\\Flagged")
    assert "\\Flagged" in imaputil.flags_of(c, bname, uid)
    _moved_past(busy, ns, 10, "a flag set through the mount")
    # setting what is already set changes nothing
    _, ns2 = _stamp("same")
    was = _mtime(busy)
    os.setxattr(f, "user.imap.flags", b"\\Flagged")
    assert _mtime(busy) == was and was <= ns2


def test_child_mailbox_moves_parent_mtime(fresh_server, imap, mount):
    """mkdir, mv and rmdir of a child mailbox move the parents' mtimes;
    mv of a message moves both folders'."""
    c, (bname, brel, (uid,)), (qname, qrel, _) = _two_mailboxes(fresh_server, imap)
    m = mount(fresh_server, opts=OPTS)
    busy, quiet = os.path.join(m.path, brel), os.path.join(m.path, qrel)
    os.listdir(busy)
    os.listdir(quiet)
    delim = fresh_server.delimiter
    _, ns = _stamp("mkdir")
    assert _mtime(busy) <= ns and _mtime(quiet) <= ns
    child = os.path.join(busy, "Child")
    os.mkdir(child)
    assert (bname + delim + "Child").encode() in imaputil.mailbox_names(c)
    t1 = _mtime(busy)
    assert t1 > ns, "mkdir of a child did not move the parent's mtime"
    assert _mtime(quiet) <= ns
    _, ns2 = _stamp("mv")
    moved = os.path.join(quiet, "Child")
    os.rename(child, moved)
    assert (qname + delim + "Child").encode() in imaputil.mailbox_names(c)
    assert _mtime(busy) > ns2 and _mtime(quiet) > ns2, "mv of a mailbox"
    _, ns3 = _stamp("rmdir")
    os.rmdir(moved)
    assert (qname + delim + "Child").encode() not in imaputil.mailbox_names(c)
    assert _mtime(quiet) > ns3 and _mtime(busy) < ns3
    _, ns4 = _stamp("mvmsg")
    os.rename(os.path.join(busy, "%d.eml" % uid), os.path.join(quiet, "%d.eml" % uid))
    assert imaputil.uids(c, bname) == [] and len(imaputil.uids(c, qname)) == 2
    assert _mtime(busy) > ns4 and _mtime(quiet) > ns4, "mv of a message"


def test_other_client_child_mailbox_moves_parent_mtime(fresh_server, imap, mount):
    """CREATE and DELETE of a child by another client: once the watcher's
    LIST saw it, the parent's mtime has moved (stat only, no listing)."""
    c, (bname, brel, _), _ = _two_mailboxes(fresh_server, imap)
    m = mount(fresh_server, opts=OPTS)
    busy = os.path.join(m.path, brel)
    os.listdir(busy)
    child = bname + fresh_server.delimiter + "Born"
    _, ns = _stamp("create")
    assert _mtime(busy) <= ns
    imaputil.create(c, child)
    _moved_past(busy, ns, POLL_BOUND, "CREATE of a child by another client")
    assert "Born" in os.listdir(busy)
    _, ns2 = _stamp("delete")
    imaputil.check(c.delete(imaputil.quote(child)), "DELETE")
    _moved_past(busy, ns2, POLL_BOUND, "DELETE of a child by another client")
    assert "Born" not in os.listdir(busy)


def test_flag_poll_moves_mtime(fresh_servers, imap, mount):
    """Without CONDSTORE (and NOTIFY) a flag change by another client is
    found only by the flag poll (src/flagpoll.c): that moves the mtime
    too. A poll that finds nothing new does not."""
    bare = fresh_servers("slash", drop_caps=("CONDSTORE", "QRESYNC", "NOTIFY"),
                         rawlog=True)
    c, (bname, brel, (uid,)), _ = _two_mailboxes(bare, imap)
    m = mount(bare, opts=OPTS)
    busy = os.path.join(m.path, brel)
    assert os.listdir(busy) == ["%d.eml" % uid]
    _, ns = _stamp("poll")
    t0 = _mtime(busy)
    assert t0 <= ns
    # several polls that find no change leave it (a negative: it takes
    # waiting through them, as Dovecot's rawlog counts them: three polls
    # done, one period late at worst, plus slack)
    before = transcript.commands(bare)
    assert poll(lambda: transcript.relisted(bare, before, 3),
                4 * POLL + 8)[0], "no three polls\n" + m.log()
    assert _mtime(busy) == t0
    imaputil.store_flags(c, bname, uid, "+FLAGS", ["$Poll"])
    _moved_past(busy, ns, POLL_BOUND, "STORE found by the flag poll")
    assert "$Poll" in os.getxattr(os.path.join(busy, "%d.eml" % uid), "user.imap.flags").decode()

"""One round trip per file operation (issue 15, target 3) for rm and for
setfattr of user.imap.flags, and `imapfs flag` for many files at once;
and a folder's first listing (cold ls -l, target 2) in one flight too:
SELECT, UID FETCH 1:* and MYRIGHTS sent together.

Against the real Dovecot through delayproxy.py (each direction delayed),
in a steady state (the folder listed, a warm-up operation done, the
link quiet: settle()), the connection that carried the operation makes
one flight between the operation's start and its return: rm sends UID
STORE +FLAGS.SILENT (\\Deleted) and UID EXPUNGE together; setfattr sends
UID STORE and the UID FETCH of the flags (and MODSEQ) that shows the
result together; `imapfs flag` sends one UID STORE with a UID set for N
files of a folder, and its FETCH. What was sent is also read from
Dovecot's rawlog (transcript.py), and the result from imaplib.

Against the scripted server (fakeserver.py): every outcome of rm's
flight. A refused STORE leaves the message (the EXPUNGE sent with it
names only that UID); a refused EXPUNGE leaves it without \\Deleted; a
connection dropped after the flight is checked on a new connection, not
sent again: a message found gone was removed, one found still there
keeps no \\Deleted. And `imapfs flag`: a name that is not a message of
the folder stops everything before anything is sent, a hostile value
written to the attribute directly is refused, and a partial failure is
reported per file.
"""

import os
import subprocess
import tempfile
import time

import pytest

import imaputil
import profileutil
import transcript
from delayproxy import DelayProxy
from flightutil import DELAY, c, link, s, session_with, steady  # noqa: F401 (fixtures)
from mountutil import imapfs_bin, local_url
from profileutil import flags

def fill(c, box, n, flags=()):
    """Folder BOX with N messages: -> their UIDs."""
    imaputil.create(c, box)
    body = (b"From: a@example.org\r\nSubject: flight %d\r\nMessage-ID: "
            b"<flight-%d-%d@example.org>\r\n\r\nbody\r\n")
    return [imaputil.append_uid(c, box, body % (i, i, time.monotonic_ns()),
                                flags) for i in range(n)]


def fill_one(c, box):
    """One more message in BOX: -> its UID."""
    body = b"From: a@example.org\r\nSubject: one more\r\nMessage-ID: <one-%d@example.org>\r\n\r\nb\r\n"
    return imaputil.append_uid(c, box, body % time.monotonic_ns())


def listed(c, link, box, n):
    """Folder BOX with N messages, a mount through the delayed link that
    has listed it: -> (UIDs, proxy, the folder's path)."""
    uids = fill(c, box, n)
    p, m = link()
    d = os.path.join(m.path, box)
    assert sorted(os.listdir(d)) == sorted("%d.eml" % u for u in uids)
    return uids, p, d


# ---- the delayed link, real Dovecot ------------------------------------

def test_rm_one_flight(s, c, link):
    uids, p, d = listed(c, link, "FlightRm", 3)
    os.unlink(os.path.join(d, "%d.eml" % uids[0]))      # warm-up
    raw, snap = steady(p, s)
    os.unlink(os.path.join(d, "%d.eml" % uids[1]))
    ops = p.op_flights(snap)
    assert list(ops.values()) == [1], \
        "rm: flights per connection %r (all: %r)" % (ops, p.flights(snap))
    sent = session_with(s, raw, rb"^UID EXPUNGE ")
    assert sent == [b"UID STORE %d +FLAGS.SILENT (\\Deleted)" % uids[1],
                    b"UID EXPUNGE %d" % uids[1]], sent
    assert imaputil.uids(c, "FlightRm") == [uids[2]]
    assert not os.path.exists(os.path.join(d, "%d.eml" % uids[1]))


def test_first_listing_one_flight(s, c, link):
    uids = fill(c, "FlightLs", 40)
    imaputil.store_flags(c, "FlightLs", uids[3], "+FLAGS", ["\\Flagged", "$Todo"])
    p, m = link()
    d = os.path.join(m.path, "FlightLs")
    raw, snap = steady(p, s)
    r = subprocess.run(["ls", "-l", "--time-style=+%s", d], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    ops = p.op_flights(snap)
    assert list(ops.values()) == [1], \
        "ls -l: flights per connection %r (all: %r)" % (ops, p.flights(snap))
    sent = session_with(s, raw, rb"^MYRIGHTS ")
    assert sent == [b'SELECT "FlightLs" (CONDSTORE)',
                    b"UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS MODSEQ)",
                    b'MYRIGHTS "FlightLs"'], sent
    # what it listed is what the server holds (imaplib, not the mount)
    sizes = {u: v["RFC822.SIZE"] for u, v in imaputil.fetch_meta(c, "FlightLs").items()}
    shown = {ln.split()[-1]: int(ln.split()[4]) for ln in r.stdout.splitlines()[1:]}
    assert shown == {"%d.eml" % u: sizes[u] for u in uids}, (shown, sizes)
    assert os.getxattr(os.path.join(d, "%d.eml" % uids[3]), "user.imap.flags") \
        == b"\\Flagged $Todo"
    # MYRIGHTS came with it: the folder is writable (Dovecot grants all)
    assert os.stat(d).st_mode & 0o777 == 0o700


def test_warm_remount_listing_one_flight(s, c, mount):
    """A folder listed by an earlier mount on this cache (issue 17: kept
    listings): the next mount's `ls -l` brings it up to date in one flight
    -- SELECT, the messages after the last one known, and the flags changed
    and messages expunged since (CHANGEDSINCE ... VANISHED) -- not the
    full listing, and shows what another client did meanwhile."""
    uids = fill(c, "FlightWarm", 30)
    cache = os.path.join(tempfile.mkdtemp(prefix="warm-"), "cache")
    # one link for both mounts: the cache is the account's, port included
    p = DelayProxy(s.imaps_port, delay=DELAY).start()
    m = mount(s, url=local_url(s.user, p.port), opts=["cache_dir=" + cache])
    d = os.path.join(m.path, "FlightWarm")
    assert sorted(os.listdir(d)) == sorted("%d.eml" % u for u in uids)
    m.stop()
    imaputil.check(c.select(imaputil.quote("FlightWarm")), "SELECT")
    for u in uids[3:5]:
        c.uid("STORE", str(u), "+FLAGS", "(\\Deleted)")
    c.uid("EXPUNGE", "%d:%d" % (uids[3], uids[4]))
    c.uid("STORE", str(uids[10]), "+FLAGS", "(\\Flagged)")
    new = fill_one(c, "FlightWarm")
    m = mount(s, url=local_url(s.user, p.port), opts=["cache_dir=" + cache])
    d = os.path.join(m.path, "FlightWarm")
    raw, snap = steady(p, s)
    r = subprocess.run(["ls", "-l", d], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    ops = p.op_flights(snap)
    assert list(ops.values()) == [1], \
        "ls -l: flights per connection %r (all: %r)" % (ops, p.flights(snap))
    sent = session_with(s, raw, rb"VANISHED\)$")
    assert sent[0] == b'SELECT "FlightWarm" (CONDSTORE)', sent
    assert sent[1] == b"UID FETCH %d:* (UID RFC822.SIZE INTERNALDATE FLAGS MODSEQ)" % (uids[-1] + 1), sent
    assert sent[2].startswith(b"UID FETCH 1:%d (UID FLAGS RFC822.SIZE MODSEQ) (CHANGEDSINCE " % uids[-1]), sent
    assert len(sent) == 3, sent
    want = sorted(set(uids) - set(uids[3:5]) | {new})
    assert sorted(int(n[:-4]) for n in os.listdir(d)) == want == imaputil.uids(c, "FlightWarm")
    assert b"\\Flagged" in os.getxattr(os.path.join(d, "%d.eml" % uids[10]), "user.imap.flags")
    p.stop()


def test_setfattr_one_flight(s, c, link):
    uids, p, d = listed(c, link, "FlightFlag", 2)
    f = os.path.join(d, "%d.eml" % uids[1])
    os.setxattr(os.path.join(d, "%d.eml" % uids[0]), "user.imap.flags",
                b"+\\Seen")                                # warm-up
    raw, snap = steady(p, s)
    os.setxattr(f, "user.imap.flags", b"+\\Flagged +$Todo")
    ops = p.op_flights(snap)
    assert list(ops.values()) == [1], \
        "setfattr: flights per connection %r (all: %r)" % (ops, p.flights(snap))
    sent = session_with(s, raw, rb"^UID STORE ", more=1)
    assert sent == [b"UID STORE %d +FLAGS.SILENT (\\Flagged $Todo)" % uids[1],
                    b"UID FETCH %d (UID FLAGS MODSEQ)" % uids[1]], sent
    # what the xattr shows is the server's answer: flags and MODSEQ
    assert imaputil.flags_of(c, "FlightFlag", uids[1]) == {"\\Flagged", "$Todo"}
    meta = imaputil.fetch_items(imaputil.check(
        c.uid("FETCH", str(uids[1]), "(UID MODSEQ)"), "FETCH"))
    shown = os.getxattr(f, "user.imap.flags").decode().split()
    assert set(shown) == {"\\Flagged", "$Todo"}, shown
    assert os.getxattr(f, "user.imap.modseq").decode() == \
        str(meta[0]["MODSEQ"][0]), meta
    # a change already made (Dovecot answers such a STORE with no FETCH
    # of its own): the same flight
    raw, snap = steady(p, s)
    os.setxattr(f, "user.imap.flags", b"+\\Flagged")
    ops = p.op_flights(snap)
    assert list(ops.values()) == [1], ops
    # + and - together: still one flight
    raw, snap = steady(p, s)
    os.setxattr(f, "user.imap.flags", b"+\\Seen -$Todo")
    ops = p.op_flights(snap)
    assert list(ops.values()) == [1], ops
    assert set(os.getxattr(f, "user.imap.flags").decode().split()) == \
        {"\\Flagged", "\\Seen"}
    assert imaputil.flags_of(c, "FlightFlag", uids[1]) == {"\\Flagged", "\\Seen"}


def flag(*args):
    return subprocess.run([imapfs_bin(), "flag"] + list(args),
                          capture_output=True, text=True, timeout=60)


def test_flag_command_one_store(s, c, link):
    uids, p, d = listed(c, link, "FlightMany", 8)
    files = [os.path.join(d, "%d.eml" % u) for u in uids]
    r = flag("+$Warm", files[7])                          # warm-up
    assert r.returncode == 0, r.stderr
    raw, snap = steady(p, s)
    r = flag("+\\Seen", *files[:6])
    ops = p.op_flights(snap)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert list(ops.values()) == [1], ops
    sent = transcript.find(transcript.since(s, raw), rb"^UID (STORE|FETCH) %d:" % uids[0])
    assert sent == [b"UID STORE %d:%d +FLAGS.SILENT (\\Seen)" % (uids[0], uids[5]),
                    b"UID FETCH %d:%d (UID FLAGS MODSEQ)" % (uids[0], uids[5])], sent
    for u in uids:
        want = {"\\Seen"} if u in uids[:6] else set()
        assert set(imaputil.flags_of(c, "FlightMany", u)) - {"$Warm"} == want
    for f in files[:6]:
        assert "\\Seen" in os.getxattr(f, "user.imap.flags").decode().split()
    # "=" sets exactly; "-" takes off; a UID set with holes
    r = flag("=\\Answered $Done", files[0], files[2], files[5])
    assert r.returncode == 0, r.stderr
    r = flag("-\\Seen", *files[:4])
    assert r.returncode == 0, r.stderr
    assert set(imaputil.flags_of(c, "FlightMany", uids[2])) == {"\\Answered", "$Done"}
    assert set(imaputil.flags_of(c, "FlightMany", uids[1])) == set()
    assert set(imaputil.flags_of(c, "FlightMany", uids[4])) == {"\\Seen"}
    cmds = transcript.find(transcript.since(s, raw), rb"^UID STORE ")
    assert b"UID STORE %d,%d,%d FLAGS.SILENT (\\Answered $Done)" % (uids[0], uids[2], uids[5]) \
        in cmds, cmds


def test_flag_command_checks_before_sending(s, c, link):
    uids, p, d = listed(c, link, "FlightBad", 2)
    good = os.path.join(d, "%d.eml" % uids[0])
    raw, snap = steady(p, s)
    for bad in (os.path.join(d, "999.eml"),
                os.path.join(d, "1.eml\r\nA1 DELETE INBOX"),
                d, os.path.join(d, ".."), "/etc/passwd"):
        r = flag("+\\Seen", good, bad)
        assert r.returncode == 1, (bad, r.stderr)
        assert "nothing changed" in r.stderr, r.stderr
    # written straight to the attribute: a name that is no message, a
    # hostile flag, a path, an empty name; each refused, nothing sent
    for val in (b"+\\Seen\x00%d.eml\x00999.eml" % uids[0],
                b"+\\Seen)\r\nA1 DELETE INBOX\x00%d.eml" % uids[0],
                b"+\\Seen\x00../FlightRm/%d.eml" % uids[0],
                b"+\\Seen\x00%d.eml\x00\x00" % uids[0],
                b"=+\\Seen\x00%d.eml" % uids[0],
                b"+\\Seen"):
        with pytest.raises(OSError):
            os.setxattr(d, "user.imapfs.flag", val)
    assert p.settle()
    assert p.flights(snap) == {}, "something was sent"
    assert not transcript.find(transcript.since(s, raw), rb"^UID STORE ")
    assert imaputil.flags_of(c, "FlightBad", uids[0]) == set()


# ---- every outcome of rm's flight (scripted server) ------------------------

@pytest.fixture
def fake(pki, mount):
    """A profile server (profileutil.py: INBOX holds 1, 2 and 3, the last
    \\Deleted by another client) and a mount that has listed INBOX."""
    fs = profileutil.start(pki, "dovecotlike")
    m = profileutil.mount_fake(mount, pki, fs)
    os.listdir(os.path.join(m.path, "INBOX"))
    yield fs, m
    fs.stop()


def assert_kept(fs):
    """UID 2, whose rm failed, is there without \\Deleted (no other
    client's EXPUNGE will take it), and the bystander is untouched."""
    assert fs.uids("INBOX") == [1, 2, 3], fs.transcript()
    assert flags(fs, "INBOX", 2) == set(), \
        "a message whose rm failed has \\Deleted:\n" + fs.transcript()
    assert flags(fs, "INBOX", 3) == {"\\Deleted"}


def rm(m, uid):
    try:
        os.unlink(os.path.join(m.path, "INBOX", "%d.eml" % uid))
        return 0
    except OSError as e:
        return e.errno


def test_rm_store_refused_leaves_it(fake):
    fs, m = fake
    fs.refusals["UID STORE"] = "NO [CANNOT] not in this folder"
    assert rm(m, 2) != 0
    # the EXPUNGE went in the same flight and names only UID 2, which
    # has no \Deleted: it stays, and so does the bystander (UID 3)
    sent = [(c[0], c[2]) for c in fs.commands if c[2] in ("UID STORE", "UID EXPUNGE")]
    assert [n for _, n in sent] == ["UID STORE", "UID EXPUNGE"] and \
        sent[0][0] == sent[1][0], fs.transcript()
    assert_kept(fs)


def test_rm_expunge_refused_takes_deleted_off(fake):
    fs, m = fake
    fs.refusals["UID EXPUNGE"] = "NO [CANNOT] not now"
    assert rm(m, 2) != 0
    assert_kept(fs)


def test_rm_dropped_after_done_is_checked(fake):
    fs, m = fake
    fs.drop_at["UID EXPUNGE"] = "after"
    assert rm(m, 2) == 0, m.log()
    assert fs.uids("INBOX") == [1, 3]
    assert "checked: UID 2 is gone" in m.log()
    # checked, not sent again
    assert fs.command_names().count("UID EXPUNGE") == 1, fs.transcript()


def test_rm_dropped_before_expunge_is_checked(fake):
    fs, m = fake
    fs.drop_at["UID EXPUNGE"] = "before"
    assert rm(m, 2) != 0
    assert_kept(fs)
    assert fs.command_names().count("UID EXPUNGE") == 1, fs.transcript()
    fs.drop_at.clear()
    assert rm(m, 2) == 0      # and the next rm works
    assert fs.uids("INBOX") == [1, 3]


def _unseen_deleted(fs, uid, restore_after):
    """Before the next UID EXPUNGE: UID's \\Deleted is not there yet (as
    when Dovecot runs the EXPUNGE beside the STORE), and with
    RESTORE_AFTER it is there again for the EXPUNGE after that."""
    def first():
        fs.set_flags("INBOX", uid, [])
        if restore_after:
            fs.before_cmd["UID EXPUNGE"] = lambda: fs.set_flags("INBOX", uid, ["\\Deleted"])
        else:
            fs.before_cmd["UID EXPUNGE"] = lambda: fs.set_flags("INBOX", uid, [])
    fs.before_cmd["UID EXPUNGE"] = first


def test_rm_expunge_that_missed_the_store_is_sent_again(fake):
    """Both OK, no answer says UID 2 went (the EXPUNGE ran before the
    STORE's \\Deleted showed): one more UID EXPUNGE 2, alone, and the rm
    succeeds only once UID 2 is gone."""
    fs, m = fake
    _unseen_deleted(fs, 2, True)
    assert rm(m, 2) == 0, m.log()
    assert fs.uids("INBOX") == [1, 3]
    assert fs.command_names().count("UID EXPUNGE") == 2, fs.transcript()


def test_rm_that_the_server_does_not_do_fails(fake):
    """Both EXPUNGEs answered OK and UID 2 still there: EIO, and it is
    left without \\Deleted (no other client's EXPUNGE takes it)."""
    fs, m = fake
    _unseen_deleted(fs, 2, False)
    assert rm(m, 2) != 0
    assert_kept(fs)
    assert "answered OK twice and the message is still there" in m.log()


def test_flag_command_partial_failure(fake):
    fs, m = fake
    d = os.path.join(m.path, "INBOX")
    # another client expunges 2 right when the STORE arrives: the flag
    # command's checks all passed, and only its FETCH finds 2 gone (an
    # expunge made before the command may be seen by the mount first:
    # then 2.eml is no file, "nothing changed")
    fs.before_cmd["UID STORE"] = lambda: fs.expunge("INBOX", 2)
    r = flag("+$Done", os.path.join(d, "1.eml"), os.path.join(d, "2.eml"))
    assert r.returncode == 1
    assert "2.eml" in r.stderr and "1.eml" not in r.stderr, r.stderr
    assert flags(fs, "INBOX", 1) == {"\\Seen", "$Done"}
    # one STORE for both; the one its FETCH did not return, once more
    stores = [c[3].split(b" ", 1)[1] for c in fs.commands if c[2] == "UID STORE"]
    assert stores == [b"UID STORE 1:2 +FLAGS.SILENT ($Done)",
                      b"UID STORE 2 +FLAGS.SILENT ($Done)"], stores
    # refused for the folder: every file named
    fs.refusals["UID STORE"] = "NO [CANNOT] not now"
    r = flag("-\\Seen", os.path.join(d, "1.eml"), os.path.join(d, "3.eml"))
    assert r.returncode == 1
    assert "1.eml: not changed" in r.stderr and "3.eml: not changed" not in r.stderr, \
        r.stderr    # (3 has no \Seen: it shows what was asked)
    assert flags(fs, "INBOX", 1) == {"\\Seen", "$Done"}

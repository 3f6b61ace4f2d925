"""The watcher and our own changes (src/vfs_watch_news.c, issue 15).

The server tells the watcher of every change, ours too: an rm, a mv or a
setfattr through the mount comes back as IDLE news (and, with NOTIFY, a
STATUS of the other mailbox) about half a second later. What imapfs did
itself is in the tree already, so that news must cost no round trip:
no LIST, no STATUS, no EXAMINE, no resync (SELECT and UID FETCH of a
range or CHANGEDSINCE); the watcher only ends the IDLE (DONE) and begins
the next. Measured on the server's side (Dovecot's rawlog, transcript.py),
in a steady state: the mount has listed the mailboxes and the watcher
idles. -o poll=3600 keeps the timed look at every mailbox (LIST and
STATUS, every 30 s by default) out of the few seconds measured; NOTIFY
stays on.

Another client's change made in the same moment as ours arrives in the
same news, and must still be fetched and shown (imapfs.1, CHANGES BY
OTHER CLIENTS): the second test makes one of each kind next to ours and
checks every one shows, with imaplib as the independent witness.
"""

import os
import re

import imaputil
import transcript
from liveutil import IDLE_BOUND, msg, uniq, wait_for

OPTS = ["poll=3600", "timeout=10"]

# what only the watcher's looking around sends: never needed by an rm, a
# mv or a setfattr itself
BACKGROUND = [rb"^LIST ", rb"^LSUB ", rb"^STATUS ", rb"^EXAMINE ", rb"^NOOP",
              rb"^UID SEARCH ", rb"CHANGEDSINCE", rb"^UID FETCH \d+:",
              rb"^FETCH "]


def _steady(s, imap, mount, n_inbox, n_archive):
    """Fresh messages in INBOX and Archive, a mount that has listed both
    and a watcher in IDLE -> (mount, other client, inbox uids, archive
    uids, snapshot)."""
    c = transcript.connect(s)
    tag = uniq("own")
    inbox = [imaputil.append_uid(c, "INBOX", msg("%s in %d" % (tag, i)))
             for i in range(n_inbox)]
    archive = [imaputil.append_uid(c, "Archive", msg("%s ar %d" % (tag, i)))
               for i in range(n_archive)]
    m = mount(s, opts=OPTS)
    for box, want in (("INBOX", inbox), ("Archive", archive)):
        names = os.listdir(os.path.join(m.path, box))
        assert {"%d.eml" % u for u in want} <= set(names), (box, names)
    wait_for(lambda: transcript.sent(s, {}, b"NOTIFY", b"IDLE"), 30,
             lambda: "the watcher did not start\n" + m.log())
    return m, c, inbox, archive, transcript.mark(s)


def _background(cmds):
    return [c for c in cmds if any(re.search(p, c) for p in BACKGROUND)]


def _after(s, snap):
    """What the mount sent since SNAP, once the news of it has come and
    gone (Dovecot tells the watcher about half a second later)."""
    transcript.settled(s, quiet=2.0, bound=20)
    return transcript.since(s, snap)


def test_own_changes_cost_no_background(fresh_servers, imap, mount):
    s = fresh_servers("slash", rawlog=True)
    m, c, inbox, archive, snap = _steady(s, imap, mount, 10, 2)
    ib, ar = os.path.join(m.path, "INBOX"), os.path.join(m.path, "Archive")
    rm, mv, fl = inbox[0:4], inbox[4:7], inbox[7:10]
    for u in rm:
        os.unlink(os.path.join(ib, "%d.eml" % u))
    for u in mv:
        os.rename(os.path.join(ib, "%d.eml" % u), os.path.join(ar, "%d.eml" % u))
    for u in fl:
        os.setxattr(os.path.join(ib, "%d.eml" % u), "user.imap.flags", b"+\\Flagged")
    cmds = _after(s, snap)
    # what the server holds: the operations happened
    left = imaputil.uids(c, "INBOX")
    assert not set(rm + mv) & set(left) and set(fl) <= set(left)
    assert len(imaputil.uids(c, "Archive")) == len(archive) + len(mv)
    for u in fl:
        assert "\\Flagged" in imaputil.flags_of(c, "INBOX", u)
    bad = _background(cmds)
    assert not bad, "the news of our own %d changes cost %d more commands: %r\n(all: %r)" % (
        len(rm + mv + fl), len(bad), bad, cmds)
    # each SELECT at most one an operation needed
    selects = transcript.find(cmds, rb"^SELECT ")
    assert len(selects) <= len(rm + mv + fl), cmds
    # the watcher went back to IDLE after each piece of news
    assert transcript.find(cmds, rb"^IDLE$"), cmds


def test_other_client_in_the_same_moment(fresh_servers, imap, mount):
    """Each of ours is followed at once (well within the half second the
    server gathers news in) by another client's change of the same kind:
    in INBOX, which the watcher idles on, a flag on another message, a
    flag on the message we just flagged, an expunge, an append; in
    Archive, known to it by NOTIFY's STATUS only, a flag next to our mv
    into it. All of theirs must show; and even so nothing is asked of
    any mailbox but the two that changed (no LIST, no STATUS)."""
    s = fresh_servers("slash", rawlog=True)
    m, c, inbox, archive, snap = _steady(s, imap, mount, 6, 2)
    ib, ar = os.path.join(m.path, "INBOX"), os.path.join(m.path, "Archive")
    ours_rm, theirs_flag, ours_flag, theirs_rm, ours_mv, _ = inbox
    gone = os.path.join(ib, "%d.eml" % theirs_rm)
    os.stat(gone)       # the kernel holds it: must be told
    expunge = lambda u: (imaputil.check(c.select("INBOX"), "SELECT"),
                         imaputil.check(c.uid("STORE", str(u), "+FLAGS.SILENT", "(\\Deleted)"), "STORE"),
                         imaputil.check(c.uid("EXPUNGE", str(u)), "UID EXPUNGE"))

    os.unlink(os.path.join(ib, "%d.eml" % ours_rm))
    imaputil.store_flags(c, "INBOX", theirs_flag, "+FLAGS", ["\\Answered"])
    os.setxattr(os.path.join(ib, "%d.eml" % ours_flag), "user.imap.flags", b"+\\Flagged")
    imaputil.store_flags(c, "INBOX", ours_flag, "+FLAGS", ["$Theirs"])
    expunge(theirs_rm)
    new = imaputil.append_uid(c, "INBOX", msg("theirs " + uniq("new")))
    os.rename(os.path.join(ib, "%d.eml" % ours_mv), os.path.join(ar, "%d.eml" % ours_mv))
    imaputil.store_flags(c, "Archive", archive[0], "+FLAGS", ["\\Answered"])

    def flags(d, u):
        return os.getxattr(os.path.join(d, "%d.eml" % u), "user.imap.flags").split()

    wait_for(lambda: b"\\Answered" in flags(ib, theirs_flag), IDLE_BOUND,
             lambda: "their flag next to our rm not shown\n" + m.log())
    wait_for(lambda: b"$Theirs" in flags(ib, ours_flag) and b"\\Flagged" in flags(ib, ours_flag),
             IDLE_BOUND, lambda: "their flag on the message we flagged not shown: %r" % flags(ib, ours_flag))
    wait_for(lambda: not os.path.exists(gone), IDLE_BOUND,
             "their expunge next to ours not shown (kernel still has the name)")
    wait_for(lambda: "%d.eml" % new in os.listdir(ib), IDLE_BOUND,
             "their append not shown")
    wait_for(lambda: b"\\Answered" in flags(ar, archive[0]), IDLE_BOUND,
             lambda: "their flag in Archive next to our mv into it not shown\n" + m.log())
    # our mv shows in Archive under its new UID, as the server has it
    assert sorted(os.listdir(ar)) == sorted("%d.eml" % u for u in imaputil.uids(c, "Archive"))
    cmds = _after(s, snap)
    bad = transcript.find(cmds, rb"^(LIST|LSUB|STATUS|EXAMINE|NOOP) ")
    assert not bad, "asked of every mailbox for news of two: %r" % bad


def test_own_changes_free_after_others(fresh_servers, imap, mount):
    """Another client's expunge and append in INBOX are fetched (one
    resync); after that our own changes there cost nothing again: what
    that resync dropped must not be taken for something still to come."""
    s = fresh_servers("slash", rawlog=True)
    m, c, inbox, archive, snap = _steady(s, imap, mount, 6, 0)
    ib = os.path.join(m.path, "INBOX")
    imaputil.check(c.select("INBOX"), "SELECT")
    imaputil.check(c.uid("STORE", str(inbox[0]), "+FLAGS.SILENT", "(\\Deleted)"), "STORE")
    imaputil.check(c.uid("EXPUNGE", str(inbox[0])), "UID EXPUNGE")
    new = imaputil.append_uid(c, "INBOX", msg("theirs " + uniq("new")))
    wait_for(lambda: "%d.eml" % new in os.listdir(ib) and "%d.eml" % inbox[0] not in os.listdir(ib),
             IDLE_BOUND, lambda: "their expunge and append not shown\n" + m.log())
    snap = transcript.mark(s)
    for u in inbox[1:3]:
        os.unlink(os.path.join(ib, "%d.eml" % u))
    os.setxattr(os.path.join(ib, "%d.eml" % inbox[3]), "user.imap.flags", b"+\\Seen")
    cmds = _after(s, snap)
    bad = _background(cmds)
    assert not bad, "our own changes after theirs cost %r\n(all: %r)" % (bad, cmds)

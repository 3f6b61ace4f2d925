"""Helpers for tests/integration/test_profiles.py: a profile server with a
known set of mailboxes, a mount of it, and what each profile's
capabilities make the outcome of rm and mv (so a new profile in
fakeserver.PROFILES needs no change here).

The mailboxes of every server (NAME joined with the profile's delimiter;
the child only where there is one):
    INBOX            1 (\\Seen), 2, 3 (\\Deleted by another client, not
                     expunged: a bystander no command of ours may remove)
    Trash            \\Trash, empty
    Archive          1 message
    Projects         empty parent ...
    Projects/Q1      ... with one message (hierarchical profiles only)
"""

import errno
import os
import time

from fakeserver import FakeServer, Message
from mountutil import local_url
from waitutil import poll

USER, PASSWORD = "alice", "secret"


def body(tag):
    return (b"From: other@example.org\r\nTo: alice@example.org\r\n"
            b"Subject: profile %s\r\nMessage-ID: <%s.%d@profiles.example>\r\n"
            b"\r\nbody of %s\r\n" % (tag.encode(), tag.encode(),
                                    time.monotonic_ns(), tag.encode()))


def name(fs, *parts):
    """Server name of the mailbox PARTS (bytes), in FS's hierarchy."""
    assert len(parts) == 1 or fs.delim, "a flat server has no children"
    return (fs.delim or b"").join(p.encode() for p in parts)


def start(pki, profile):
    """A started FakeServer of PROFILE with the mailboxes above."""
    mbs = {
        b"INBOX": {"attrs": [], "messages": [
            Message(1, body("inbox-1"), ["\\Seen"]),
            Message(2, body("inbox-2"), []),
            Message(3, body("bystander"), ["\\Deleted"])]},
        b"Trash": {"attrs": ["\\Trash"], "messages": []},
        b"Archive": {"attrs": [], "messages": [
            Message(1, body("archive-1"), [])]},
    }
    fs = FakeServer("imaps", cert=pki.leaf("fake-profiles"), user=USER,
                    password=PASSWORD, mailboxes=mbs, profile=profile)
    if fs.delim:
        mbs[b"Projects"] = {"attrs": [], "messages": []}
        mbs[name(fs, "Projects", "Q1")] = {"attrs": [], "messages": [
            Message(1, body("q1-1"), [])]}
    return fs.start()


def mount_fake(mount, pki, fs, opts=()):
    return mount(url=local_url(USER, fs.port),
                 cafile=pki.cafile, password=PASSWORD,
                 opts=["timeout=10", "poll=1", "max_conns=1"] + list(opts))


def has(fs, cap):
    return cap in fs.caps_auth


def rm_outcome(fs):
    """What rm of a message does on FS (imapfs.1, SERVERS): "expunge"
    (UID EXPUNGE), "trash" (moved to \\Trash) or errno.EPERM."""
    if has(fs, "UIDPLUS"):
        return "expunge"
    return "trash" if has(fs, "MOVE") else errno.EPERM


def mv_outcome(fs):
    """mv of a message to another mailbox: "moved" or errno.EPERM (no
    MOVE and no UIDPLUS: removing the original would need a bare
    EXPUNGE)."""
    return "moved" if has(fs, "MOVE") or has(fs, "UIDPLUS") else errno.EPERM


def bodies(fs, mailbox):
    return {m.uid: m.body for m in fs._box(mailbox)["messages"]}


def flags(fs, mailbox, uid):
    m = fs.message(mailbox, uid)
    return set(m.flags) if m is not None else None


def rw_closes(fs):
    """CLOSEs this server saw after a read-write SELECT (each expunges
    every \\Deleted message): imapfs must never send one."""
    return [e for e in fs.events if e[0] == "close-expunged"]


def wait_for(fn, timeout=15, what="condition"):
    """Poll FN() until true; -> its last value (assert it)."""
    return poll(fn, timeout)[0]


def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as e:
        return "error %s" % errno.errorcode.get(e.errno, e.errno)

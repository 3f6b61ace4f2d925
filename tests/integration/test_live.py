"""Changes made by another client while mounted (src/vfs_watch.c, src/vfs_resync.c).

A second, independent IMAP client (imaplib) appends, flags, expunges,
creates, deletes, renames and recreates mailboxes on the module's own
Dovecot while imapfs has it mounted; the mount must show each change:

  INBOX (watched by IDLE)          within IDLE_BOUND seconds
  other loaded mailboxes, LIST     within POLL_BOUND seconds (-o poll=POLL)

Names that vanish are invalidated in the kernel (notify_inval_entry): the
tests stat a name first (so the kernel caches it for the 30 s entry and
attribute timeout) and then expect stat to fail well before that.
Every expectation is polled up to its bound and then fails.
"""

import ctypes
import errno
import os
import platform
import time

import pytest

import imaputil
from imaputil import personal_name, personal_rel
from liveutil import (IDLE_BOUND, OPTS, POLL_BOUND, msg, new_mailbox, uniq,
                      wait_for)


def exists(path):
    try:
        os.stat(path)
        return True
    except FileNotFoundError:
        return False


def read(path):
    with open(path, "rb") as f:
        return f.read()


_SYS_GETDENTS64 = {"x86_64": 217, "aarch64": 61}


def getdents(fd, size=2048):
    """One getdents64(2) call on the directory FD with a SIZE-byte buffer
    -> the names it returned ([] at the end). os.listdir reads a whole
    directory at once; this reads it in pieces, as a long ls does."""
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(size)
    n = libc.syscall(_SYS_GETDENTS64[platform.machine()], fd, buf, size)
    if n < 0:
        raise OSError(ctypes.get_errno(), "getdents64")
    raw, names, off = buf.raw[:n], [], 0
    while off < n:
        reclen = int.from_bytes(raw[off + 16:off + 18], "little")
        names.append(raw[off + 19:off + reclen].split(b"\0", 1)[0].decode())
        off += reclen
    return names


def expunge(c, name, uid):
    imaputil.check(c.select(imaputil.quote(name)), "SELECT")
    imaputil.check(c.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)"),
                   "STORE")
    imaputil.check(c.uid("EXPUNGE", str(uid)), "UID EXPUNGE")
    c.close()


@pytest.fixture
def live(fresh_server, mount):
    return mount(fresh_server, opts=OPTS)


# ---------------------------------------------------------------- INBOX


def test_inbox_append_shows_by_idle(fresh_server, live, imap):
    c = imap(fresh_server)
    inbox = os.path.join(live.path, "INBOX")
    before = set(os.listdir(inbox))          # loaded: the watcher may resync
    body = msg("live append " + uniq("a"), ["pushed by IDLE"])
    uid = imaputil.append_uid(c, "INBOX", body)
    name = "%d.eml" % uid
    assert name not in before
    wait_for(lambda: name in os.listdir(inbox), IDLE_BOUND,
             lambda: "INBOX/%s appended by another client not listed; "
             "listing %r\n%s" % (name, sorted(os.listdir(inbox)), live.log()))
    p = os.path.join(inbox, name)
    assert os.stat(p).st_size == len(body)
    assert read(p) == body
    n = imaputil.status(c, "INBOX")["MESSAGES"]
    wait_for(lambda: os.getxattr(inbox, "user.imap.messages") ==
             str(n).encode(), 5, "user.imap.messages of INBOX != %d" % n)


def test_inbox_expunge_vanishes_by_idle(fresh_server, live, imap):
    c = imap(fresh_server)
    body = msg("live expunge " + uniq("e"))
    uid = imaputil.append_uid(c, "INBOX", body)
    inbox = os.path.join(live.path, "INBOX")
    p = os.path.join(inbox, "%d.eml" % uid)
    wait_for(lambda: "%d.eml" % uid in os.listdir(inbox), IDLE_BOUND,
             "new message not listed")
    assert os.stat(p).st_size == len(body)   # the kernel now caches it
    expunge(c, "INBOX", uid)
    assert uid not in imaputil.uids(c, "INBOX")
    wait_for(lambda: not exists(p), IDLE_BOUND,
             lambda: "stat of %s still works after another client expunged "
             "it (kernel not told?)\n%s" % (p, live.log()))
    assert "%d.eml" % uid not in os.listdir(inbox)
    with pytest.raises(OSError) as ei:
        os.getxattr(p, "user.imap.flags")
    assert ei.value.errno == errno.ENOENT


def test_inbox_flag_change_by_idle(fresh_server, live, imap):
    c = imap(fresh_server)
    uid = imaputil.append_uid(c, "INBOX", msg("live flags " + uniq("f")))
    inbox = os.path.join(live.path, "INBOX")
    p = os.path.join(inbox, "%d.eml" % uid)
    wait_for(lambda: exists(p), IDLE_BOUND, "new message not shown")
    assert b"\\Flagged" not in os.getxattr(p, "user.imap.flags")
    imaputil.store_flags(c, "INBOX", uid, "+FLAGS", ["\\Flagged", "$Live"])
    assert {"\\Flagged", "$Live"} <= imaputil.flags_of(c, "INBOX", uid)

    def flagged():
        fl = os.getxattr(p, "user.imap.flags").split()
        return b"\\Flagged" in fl and b"$Live" in fl
    wait_for(flagged, IDLE_BOUND,
             lambda: "flags set by another client not shown: %r\n%s"
             % (os.getxattr(p, "user.imap.flags"), live.log()))
    imaputil.store_flags(c, "INBOX", uid, "-FLAGS", ["\\Flagged"])
    wait_for(lambda: b"\\Flagged" not in os.getxattr(p, "user.imap.flags"),
             IDLE_BOUND, "flag removed by another client still shown")


# ------------------------------------------------------- other mailboxes


def test_polled_mailbox_append_flags_expunge(fresh_server, imap, mount):
    c = imap(fresh_server)
    b1 = msg("polled one")
    b2 = msg("polled two", ["second"])
    name, rel, (u1, u2) = new_mailbox(fresh_server, imap, "Polled", [b1, b2])
    m = mount(fresh_server, opts=OPTS)
    d = os.path.join(m.path, rel)
    assert sorted(os.listdir(d)) == sorted(["%d.eml" % u1, "%d.eml" % u2])
    p1 = os.path.join(d, "%d.eml" % u1)
    assert os.stat(p1).st_size == len(b1)

    # append
    b3 = msg("polled three", ["third"])
    u3 = imaputil.append_uid(c, name, b3)
    wait_for(lambda: "%d.eml" % u3 in os.listdir(d), POLL_BOUND,
             lambda: "%s/%d.eml appended by another client not listed: %r\n%s"
             % (rel, u3, os.listdir(d), m.log()))
    assert read(os.path.join(d, "%d.eml" % u3)) == b3

    # flags
    imaputil.store_flags(c, name, u2, "+FLAGS", ["\\Answered"])
    p2 = os.path.join(d, "%d.eml" % u2)
    wait_for(lambda: b"\\Answered" in os.getxattr(p2, "user.imap.flags"),
             POLL_BOUND, lambda: "flag set by another client not shown: %r"
             % os.getxattr(p2, "user.imap.flags"))

    # expunge
    expunge(c, name, u1)
    assert imaputil.uids(c, name) == sorted([u2, u3])
    wait_for(lambda: not exists(p1), POLL_BOUND,
             lambda: "expunged %s still stat-able\n%s" % (p1, m.log()))
    assert sorted(os.listdir(d)) == sorted(["%d.eml" % u2, "%d.eml" % u3])
    wait_for(lambda: os.getxattr(d, "user.imap.messages") == b"2", 5,
             "user.imap.messages of the polled mailbox")


def test_expunged_during_a_long_listing_stays_gone(fresh_server, imap, mount):
    """A listing read in several getdents calls from one handle (ls, find
    or rsync in a big mailbox) spans an expunge by another client: the
    kernel is told to forget the name between two calls, and the rest of
    the listing, read from the handle's snapshot, must not make the kernel
    cache that name again (READDIRPLUS) for the entry timeout, 60 s here.
    (Seen in CI as test_tree_many's watcher check failing after 30 s.)"""
    n = 300
    name, rel, uids = new_mailbox(fresh_server, imap, "Listed",
                                  [msg("listed %d" % i) for i in range(n)])
    m = mount(fresh_server, opts=["poll=1", "timeout=60"])
    d = os.path.join(m.path, rel)
    assert len(os.listdir(d)) == n
    gone = "%d.eml" % uids[-10]
    target = os.path.join(d, gone)
    assert exists(target)            # now cached by the kernel for 60 s
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        first = getdents(fd)
        assert 0 < len(first) < n - 20 and gone not in first, len(first)
        expunge(imap(fresh_server), name, uids[-10])
        wait_for(lambda: not exists(target), POLL_BOUND,
                 lambda: "expunged %s still stat-able\n%s" % (gone, m.log()))
        rest = []
        while True:
            got = getdents(fd)
            if not got:
                break
            rest += got
    finally:
        os.close(fd)
    # an open listing may show what it held when opened (POSIX) ...
    assert gone in rest and len(first) + len(rest) == n + 2
    # ... but the name must not come back after it
    assert not exists(target), "the rest of a listing brought back " + gone
    assert gone not in os.listdir(d)


def _parent(server, m):
    return os.path.join(m.path, "" if server.layout == "slash" else "INBOX")


def test_mailbox_created_by_other_client(fresh_server, imap, live):
    c = imap(fresh_server)
    parent = _parent(fresh_server, live)
    before = os.listdir(parent)
    leaf = uniq("Born")
    assert leaf not in before
    imaputil.create(c, personal_name(fresh_server, leaf))
    u = imaputil.append_uid(c, personal_name(fresh_server, leaf),
                            msg("in a new mailbox"))
    wait_for(lambda: leaf in os.listdir(parent), POLL_BOUND,
             lambda: "mailbox %s created by another client not shown: %r\n%s"
             % (leaf, os.listdir(parent), live.log()))
    d = os.path.join(parent, leaf)
    assert os.path.isdir(d)
    assert os.listdir(d) == ["%d.eml" % u]


def test_mailbox_deleted_by_other_client(fresh_server, imap, mount):
    c = imap(fresh_server)
    name, rel, _ = new_mailbox(fresh_server, imap, "Doomed")
    m = mount(fresh_server, opts=OPTS)
    d = os.path.join(m.path, rel)
    assert os.path.isdir(d)
    assert os.listdir(d) == []               # loaded, and cached by the kernel
    imaputil.check(c.delete(imaputil.quote(name)), "DELETE")
    # When the mount's connection opens the mailbox at the moment of the
    # DELETE, Dovecot can leave its directory behind, listed as \Noselect
    # (seen once in CI): the server still has a directory of that name,
    # which the mount rightly shows. The test is about a mailbox gone from
    # the server, so the leftover is deleted too.
    for _ in range(50):
        attrs = imaputil.mailbox_names(c).get(name.encode())
        if attrs is None:
            break
        if "\\Noselect" in attrs:
            c.delete(imaputil.quote(name))
        time.sleep(0.1)
    assert name.encode() not in imaputil.mailbox_names(c)
    wait_for(lambda: not exists(d), POLL_BOUND,
             lambda: "stat of %s still works after another client deleted "
             "the mailbox\n%s" % (d, m.log()))
    assert os.path.basename(d) not in os.listdir(os.path.dirname(d))
    with pytest.raises(OSError) as ei:
        os.getxattr(d, "user.imap.messages")
    assert ei.value.errno == errno.ENOENT
    # the mount stays usable
    assert "INBOX" in os.listdir(m.path)
    assert m.alive()


def test_mailbox_renamed_by_other_client(fresh_server, imap, mount):
    c = imap(fresh_server)
    body = msg("travels with its mailbox")
    name, rel, (uid,) = new_mailbox(fresh_server, imap, "OldName", [body])
    m = mount(fresh_server, opts=OPTS)
    old = os.path.join(m.path, rel)
    assert os.listdir(old) == ["%d.eml" % uid]
    leaf = uniq("NewName")
    new_name = personal_name(fresh_server, leaf)
    imaputil.check(c.rename(imaputil.quote(name), imaputil.quote(new_name)),
                   "RENAME")
    new = os.path.join(m.path, personal_rel(fresh_server, leaf))
    wait_for(lambda: exists(new) and not exists(old), POLL_BOUND,
             lambda: "after RENAME by another client: old exists %s, new "
             "exists %s\n%s" % (exists(old), exists(new), m.log()))
    assert os.path.basename(old) not in os.listdir(os.path.dirname(old))
    newuids = imaputil.uids(c, new_name)
    assert os.listdir(new) == ["%d.eml" % u for u in newuids]
    assert read(os.path.join(new, "%d.eml" % newuids[0])) == body


# ------------------------------------------------------------ UIDVALIDITY


def _same_shape(body, marker):
    """A message of exactly len(BODY) bytes with different content."""
    out = body.replace(b"ORIGINAL", marker)
    assert len(out) == len(body) and out != body
    return out


def test_uidvalidity_change(fresh_server, imap, mount):
    c = imap(fresh_server)
    date = imaputil.internaldate_str(1704103200)
    a1 = msg("uidvalidity ORIGINAL one", ["ORIGINAL first"])
    a2 = msg("uidvalidity ORIGINAL two", ["ORIGINAL %06d" % i
                                          for i in range(20000)])  # >64 KiB
    a3 = msg("uidvalidity ORIGINAL three")
    leaf = uniq("Again")
    name = personal_name(fresh_server, leaf)
    imaputil.create(c, name)
    olduids = [imaputil.append_uid(c, name, b, date=date)
               for b in (a1, a2, a3)]
    assert olduids == [1, 2, 3]
    old_uv = imaputil.status(c, name)["UIDVALIDITY"]

    m = mount(fresh_server, opts=OPTS)
    d = os.path.join(m.path, personal_rel(fresh_server, leaf))
    assert sorted(os.listdir(d)) == ["1.eml", "2.eml", "3.eml"]
    assert read(os.path.join(d, "1.eml")) == a1     # now in the page cache
    assert os.stat(os.path.join(d, "3.eml")).st_size == len(a3)
    f1 = os.open(os.path.join(d, "1.eml"), os.O_RDONLY)
    f2 = os.open(os.path.join(d, "2.eml"), os.O_RDONLY)
    try:
        assert os.pread(f1, 1 << 20, 0) == a1
        assert os.pread(f2, 4096, 0) == a2[:4096]

        # another client deletes and recreates the mailbox: same name, new
        # UIDVALIDITY, UIDs 1 and 2 now name other messages; the new 1 has
        # the old 1's size and date
        b1 = _same_shape(a1, b"REPLACED")
        b2 = msg("uidvalidity NEW two", ["new second"])
        for attempt in range(5):
            imaputil.check(c.delete(imaputil.quote(name)), "DELETE")
            imaputil.create(c, name)
            if imaputil.status(c, name)["UIDVALIDITY"] != old_uv:
                break
            time.sleep(1.1)
        assert [imaputil.append_uid(c, name, b, date=date)
                for b in (b1, b2)] == [1, 2]
        # read after the APPENDs: Dovecot answers a STATUS right after
        # CREATE with UIDVALIDITY 0 while another client (the mount's
        # watcher) opens the new mailbox at the same moment (2 in 60 tries
        # here); the test once waited for that 0
        new_uv = imaputil.status(c, name)["UIDVALIDITY"]
        assert new_uv not in (0, old_uv), \
            "Dovecot reused UIDVALIDITY (or sent 0): %d" % new_uv

        p3 = os.path.join(d, "3.eml")
        wait_for(lambda: not exists(p3) and
                 sorted(os.listdir(d)) == ["1.eml", "2.eml"], POLL_BOUND,
                 lambda: "recreated mailbox not re-listed: %r\n%s"
                 % (os.listdir(d), m.log()))
        # a STATUS answer is reused for 2 s (STATUS_TTL); the bound is the
        # poll's, as for the listing above (5 s failed once under load,
        # showing the old value; the message then shows what it was)
        wait_for(lambda: os.getxattr(d, "user.imap.uidvalidity") ==
                 str(new_uv).encode(), POLL_BOUND,
                 lambda: "user.imap.uidvalidity %r, not %d\n%s"
                 % (os.getxattr(d, "user.imap.uidvalidity"), new_uv, m.log()))

        # the new messages under their names, never the old bytes. Right
        # after the switch the kernel may still hold the old inode (same
        # number, old generation) for a name and fail it once with EIO or
        # ENOENT before it looks the name up again: a clean error, allowed
        # once.
        def read_new(path):
            try:
                return read(path)
            except OSError as e:
                assert e.errno in (errno.EIO, errno.ENOENT), e
                time.sleep(0.5)
                return read(path)
        got1 = read_new(os.path.join(d, "1.eml"))
        assert got1 != a1, "the old message 1 (page cache) is served under " \
            "the new mailbox's 1.eml"
        assert got1 == b1
        assert read_new(os.path.join(d, "2.eml")) == b2
        assert os.stat(os.path.join(d, "2.eml")).st_size == len(b2)

        # files opened before: the old bytes or a clean error, never the
        # new message's bytes
        for fd, old, new, off in ((f1, a1, b1, 0), (f2, a2, b2, 70000)):
            try:
                got = os.pread(fd, 4096, off)
            except OSError as e:
                assert e.errno in (errno.ESTALE, errno.EIO, errno.ENOENT), e
            else:
                assert got == old[off:off + 4096], \
                    "a file opened before the change read %r" % got[:80]
    finally:
        for fd in (f1, f2):
            try:
                os.close(fd)
            except OSError as e:
                # the kernel marks an inode whose generation (UIDVALIDITY)
                # changed as bad: every later call on it, close included,
                # is EIO; that is the clean failure we want
                assert e.errno == errno.EIO, e
    assert m.alive()


# ------------------------------------------------------- expunged while open


def test_expunged_while_open(fresh_server, imap, live):
    c = imap(fresh_server)
    body = msg("expunged while open", ["line %06d of a big message" % i
                                       for i in range(12000)])
    assert len(body) > 300_000
    uid = imaputil.append_uid(c, "INBOX", body)
    inbox = os.path.join(live.path, "INBOX")
    p = os.path.join(inbox, "%d.eml" % uid)
    wait_for(lambda: exists(p), IDLE_BOUND, "new message not shown")
    fd = os.open(p, os.O_RDONLY)
    try:
        head = os.pread(fd, 65536, 0)
        assert head == body[:65536]
        expunge(c, "INBOX", uid)
        wait_for(lambda: "%d.eml" % uid not in os.listdir(inbox),
                 IDLE_BOUND, "expunged message still listed")
        for off in (200_000, 0):
            try:
                got = os.pread(fd, 65536, off)
            except OSError as e:
                assert e.errno in (errno.EIO, errno.ESTALE, errno.ENOENT), e
            else:
                assert got == body[off:off + 65536]
    finally:
        os.close(fd)
    assert live.alive(), live.log()
    assert not exists(p)
    # still usable: a new message shows and reads
    b2 = msg("after the expunge")
    u2 = imaputil.append_uid(c, "INBOX", b2)
    p2 = os.path.join(inbox, "%d.eml" % u2)
    wait_for(lambda: exists(p2), IDLE_BOUND, "mount stopped following INBOX")
    assert read(p2) == b2

"""Servers that behave in ways Dovecot does not (issue 11, items 5 and 6),
scripted with fakeserver.FakeServer and checked against its own state.

APPEND refused for the message's content ("NO Message contains invalid
header", [OVERQUOTA], [LIMIT], [TOOBIG]): close() fails with the errno
errmap_append_code gives (EINVAL, EDQUOT, EFBIG), the APPEND is sent
once more only after leaving the mailbox where the connection had it open
(some servers refuse APPEND there), then never again, nothing is stored (a BAD, which libetpan cannot tell
from a reply out of step, is checked by Message-ID, sent once more, and
then fails with EIO), the server's text is in the log
(escaped) and in `imapfs status`; the file's name goes, as for a stored
one (a file the server does not have must not look stored to a later rsync
or mv), and writing it again once the server takes it stores it.

A message whose bytes change under the same UID (an mbox server rewriting
Status: and X-Status: when its flags change): when the server's
RFC822.SIZE for it moves, the mount drops the cached copy and fetches it
once more, both at the next poll of a running mount and at the first open
after a remount over the same cache. A server whose RFC822.SIZE merely
differs from the real size (always the same) keeps its cached copies.

A SELECT answered NO [ALREADYEXISTS] (Dovecot, when the SELECT that
creates INBOX races another client's session creating it): the mount
asks once more and lists the mailbox; a second such answer is an error
for that one listing (EEXIST), and nothing is asked a third time. Only
an answer the mount could not recover from counts as an error in
`imapfs status`.

A CREATE answered NO [ALREADYEXISTS] for a mailbox no one else made
(Dovecot does, now and then, having created it): mkdir succeeds when the
mailbox is there and empty; a mailbox that holds mail (made by another
client meanwhile) stays EEXIST (test_write_mailbox checks that on Dovecot).
"""

import errno
import glob
import os
import subprocess
import tempfile
import time

import pytest

from fakeserver import FakeServer, Message
from lieserver import LieServer
from mountutil import local_url, run_imapfs

UIDVALIDITY = 1234567   # FakeServer's

HEAD = (b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\n"
        b"Subject: rewritten by the server\r\n"
        b"Message-ID: <quirk-1@example.org>\r\n")
BODY = HEAD + b"\r\n" + b"the body of the message, unchanged\r\n" * 40
# what an mbox server stores once a client has read (and answered) it
LONGER = HEAD + b"Status: RO\r\nX-Status: A\r\n\r\n" + \
    b"the body of the message, unchanged\r\n" * 40
# ... and once a client removed those headers again: shorter than BODY
SHORTER = HEAD.replace(b"Subject: rewritten by the server\r\n",
                       b"Subject: short\r\n") + b"\r\n" + \
    b"the body of the message, unchanged\r\n" * 40

NEW = (b"From: Carol <carol@example.org>\r\nTo: bob@example.org\r\n"
       b"Subject: a new message\r\nMessage-ID: <quirk-new@example.org>\r\n"
       b"\r\nwritten through the mount\r\n")


def _fake(pki, bodies, flags=()):
    mbs = {b"INBOX": {"attrs": ["\\HasNoChildren"], "messages": [
        Message(u, b, list(flags)) for u, b in sorted(bodies.items())]}}
    return FakeServer("imaps", cert=pki.leaf("fake-quirks"), password="pw",
                      mailboxes=mbs).start()


def _mount(fs, pki, mount, opts=()):
    return mount(url=local_url("alice", fs.port),
                 cafile=pki.cafile, password="pw",
                 opts=["timeout=10"] + list(opts))


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _server_bodies(fs):
    return {m.uid: m.body for m in fs.mailboxes[b"INBOX"]["messages"]}


def _count(fs, cmd, needle=b""):
    with fs._lock:
        return sum(1 for c in fs.commands if c[2] == cmd and needle in c[3])


def _refused_twice_at_most(fs):
    """The mount lists INBOX on its one connection, so INBOX is open
    there when the APPEND goes out: after the NO it leaves INBOX
    (UNSELECT) and sends once more, in case the server refuses APPEND to
    the open mailbox; after the second NO, never again."""
    with fs._lock:
        seq = [c[2] for c in fs.commands if c[2] in ("APPEND", "UNSELECT")]
    assert seq == ["APPEND", "UNSELECT", "APPEND"], \
        "refused APPENDs: %r\n%s" % (seq, fs.transcript())


def _status_field(mp, key):
    r = run_imapfs(["status", mp])
    assert r.returncode == 0, r.stderr
    for ln in r.stdout.decode().splitlines():
        if ln.startswith(key + ":"):
            return ln[len(key) + 1:].strip()
    raise AssertionError("no %r in:\n%s" % (key, r.stdout.decode()))


def _write_close(path, data):
    """open, write, close -> the errno close (or write) failed with, or
    None."""
    f = open(path, "wb")
    try:
        f.write(data)
        f.flush()
    except OSError as e:
        try:
            f.close()
        except OSError:
            pass
        return e.errno
    try:
        f.close()
    except OSError as e:
        return e.errno
    return None


# ---------------------------------------------------- item 5: refused APPEND

@pytest.fixture
def refusing(pki, mount):
    """A fake server holding UID 1 and a mount of it (poll=0):
    (server, mount, the INBOX directory, the server's bodies before)."""
    fs = _fake(pki, {1: BODY})
    try:
        m = _mount(fs, pki, mount, ["poll=0", "max_conns=1"])
        inbox = os.path.join(m.path, "INBOX")
        assert os.listdir(inbox) == ["1.eml"]
        yield fs, m, inbox, _server_bodies(fs)
    finally:
        fs.stop()


def test_refused_append_cp_fails_and_retries(refusing):
    """`cp msg.eml INBOX/` to a server that answers "NO Message contains
    invalid header": cp fails with EINVAL at close, one APPEND, nothing
    stored; the reason is in the log and in `imapfs status`; the mount
    shows nothing the server does not have; once the server takes it,
    writing it again appends it (and it shows under its UID)."""
    fs, m, inbox, before = refusing
    src = os.path.join(tempfile.mkdtemp(prefix="imapfs-src-"), "msg.eml")
    with open(src, "wb") as f:
        f.write(NEW)
    fs.append_refusal = b"NO Message contains invalid header"
    r = subprocess.run(["cp", src, inbox + "/"], capture_output=True,
                       timeout=60)
    assert r.returncode != 0, "cp succeeded although the server said NO"
    assert b"Invalid argument" in r.stderr, r.stderr
    assert fs.refused == [(b"INBOX", NEW)] * 2, fs.transcript()
    _refused_twice_at_most(fs)
    assert fs.appended == [] and _server_bodies(fs) == before

    log = m.log()
    assert "Message contains invalid header" in log, log
    line = [ln for ln in log.splitlines()
            if "APPEND of msg.eml refused" in ln]
    assert line and "INBOX" in line[0] and "Invalid argument" in line[0], log
    last = _status_field(m.path, "last error")
    assert "APPEND" in last and "INBOX" in last and \
        "Message contains invalid header" in last, last

    # the mount shows what the server has: no message that is not there
    assert sorted(os.listdir(inbox)) == ["1.eml"]
    assert not os.path.exists(os.path.join(inbox, "msg.eml"))
    # a read of the body needs the server, on the one connection
    # (max_conns=1): whatever the mount had queued on it went first
    with fs._lock:
        seen = len(fs.commands)
    with open(os.path.join(inbox, "1.eml"), "rb") as f:
        assert f.read() == BODY
    with fs._lock:
        assert len(fs.commands) > seen, "the read did not reach the server"
    assert _count(fs, "APPEND") == 2, "APPEND repeated on its own"

    # the server takes it now: writing it again sends it again
    fs.append_refusal = None
    r = subprocess.run(["cp", src, inbox + "/"], capture_output=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert fs.appended == [(b"INBOX", NEW)], fs.transcript()
    new = [u for u, b in _server_bodies(fs).items() if b == NEW]
    assert len(new) == 1, _server_bodies(fs)
    assert sorted(os.listdir(inbox)) == ["1.eml", "%d.eml" % new[0]]
    assert _read(os.path.join(inbox, "%d.eml" % new[0])) == NEW
    assert m.alive()


@pytest.mark.parametrize("reply,err", [
    (b"NO Message contains invalid header", errno.EINVAL),
    (b"NO [OVERQUOTA] Quota exceeded (mailbox for user is full)",
     errno.EDQUOT),
    (b"NO [LIMIT] Message size exceeds the limit", errno.EFBIG),
    (b"NO [TOOBIG] Message too large", errno.EFBIG),
])
def test_refused_append_errno(refusing, reply, err):
    """Each refusal is its errno at close, sent at most twice (see above), stored nowhere, and
    the name is gone (nothing listed that the server does not have)."""
    fs, m, inbox, before = refusing
    fs.append_refusal = reply
    got = _write_close(os.path.join(inbox, "new.eml"), NEW)
    assert got == err, "close failed with %s, expected %s" % (
        errno.errorcode.get(got, got), errno.errorcode[err])
    assert len(fs.refused) == 2, fs.transcript()
    _refused_twice_at_most(fs)
    assert fs.appended == [] and _server_bodies(fs) == before
    text = reply.split(b"] ", 1)[-1].split(b" ", 1)[-1].decode()
    assert text in m.log(), m.log()
    assert os.listdir(inbox) == ["1.eml"]
    assert _server_bodies(fs) == before and _count(fs, "APPEND") == 2
    assert m.alive()


def test_bad_append_fails(refusing):
    """A tagged BAD to APPEND: libetpan cannot tell it from a reply out of
    step with the command (MAILIMAP_ERROR_PROTOCOL), so it counts as an
    APPEND whose outcome is unknown: looked for by Message-ID (not there),
    sent once more, BAD again. close() must then fail, and the log say the
    outcome is unknown; it used to succeed with nothing stored."""
    fs, m, inbox, before = refusing
    fs.append_refusal = b"BAD [PARSE] Invalid message header"
    got = _write_close(os.path.join(inbox, "bad.eml"), NEW)
    assert got == errno.EIO, "close() gave %s with nothing stored" % (
        errno.errorcode.get(got, got))
    assert fs.appended == [] and _server_bodies(fs) == before
    assert _count(fs, "APPEND") == 2, fs.transcript()
    assert _count(fs, "UID SEARCH") >= 1, fs.transcript()
    assert "APPEND of bad.eml: the outcome is unknown" in m.log(), m.log()
    assert sorted(os.listdir(inbox)) == ["1.eml"]
    assert m.alive()


def test_refusal_text_escaped(refusing):
    """The server's text reaches the log and the status with its control
    bytes escaped, never raw (a terminal escape, a bell)."""
    fs, m, inbox, before = refusing
    fs.append_refusal = b"NO Invalid header \x1b[2J\x07 in message"
    got = _write_close(os.path.join(inbox, "esc.eml"), NEW)
    assert got == errno.EINVAL, got
    log = m.log()
    assert "Invalid header \\x1b[2J\\x07 in message" in log, log
    assert "\x1b" not in log and "\x07" not in log
    last = _status_field(m.path, "last error")
    assert "\\x1b[2J\\x07" in last and "\x1b" not in last, last
    assert m.alive()


# ------------------------------------ item 6: bytes changed under one UID

def _cache_files(cache_root):
    return glob.glob(os.path.join(cache_root, "**", "%d.1" % UIDVALIDITY),
                     recursive=True)


def _cached_body(cache_root):
    files = _cache_files(cache_root)
    assert len(files) == 1, files
    with open(files[0], "rb") as f:
        return f.read()[64:]    # CACHE_DATA_OFF


@pytest.mark.parametrize("new", [LONGER, SHORTER], ids=["longer", "shorter"])
def test_rewritten_message_seen_at_poll(pki, mount, new):
    """The mount has read (and cached) UID 1; the server then rewrites it
    under the same UID as an mbox server does when its flags change. At
    the next poll the new RFC822.SIZE is seen: the next read returns the
    server's new bytes, with the new size, fetched exactly once more, and
    the cache file holds the new bytes."""
    fs = _fake(pki, {1: BODY})
    try:
        cache = tempfile.mkdtemp(prefix="imapfs-quirks-cache-")
        m = _mount(fs, pki, mount, ["poll=1", "cache_dir=" + cache])
        p = os.path.join(m.path, "INBOX", "1.eml")
        assert _read(p) == BODY
        assert _cached_body(cache) == BODY
        fetches = _count(fs, "UID FETCH", b"BODY")
        assert fetches >= 1
        assert _read(p) == BODY                 # from the cache
        assert _count(fs, "UID FETCH", b"BODY") == fetches

        msg = fs.mailboxes[b"INBOX"]["messages"][0]
        msg.body = new
        msg.flags = ["\\Seen", "\\Answered"]
        deadline = time.monotonic() + 20
        got = _read(p)
        while got != new and time.monotonic() < deadline:
            time.sleep(0.3)
            got = _read(p)
        assert got == new == _server_bodies(fs)[1], \
            "the mount still serves %d bytes, the server has %d" % (
                len(got), len(new))
        assert os.stat(p).st_size == len(new)
        assert _count(fs, "UID FETCH", b"BODY") == fetches + 1, \
            fs.transcript()
        assert _cached_body(cache) == new
        assert "changed on the server under the same UID" in m.log()
        assert "1 changed on the server and refetched" in \
            _status_field(m.path, "cache use")
        assert m.alive()
    finally:
        fs.stop()


@pytest.mark.parametrize("new", [LONGER, SHORTER], ids=["longer", "shorter"])
def test_rewritten_message_seen_after_remount(pki, mount, new):
    """Cached by one mount, rewritten while unmounted, read by the next
    mount over the same cache: the cached copy is dropped at open (the
    server's RFC822.SIZE moved) and the new bytes are fetched and cached."""
    fs = _fake(pki, {1: BODY})
    try:
        cache = tempfile.mkdtemp(prefix="imapfs-quirks-cache-")
        m = _mount(fs, pki, mount, ["poll=0", "cache_dir=" + cache])
        assert _read(os.path.join(m.path, "INBOX", "1.eml")) == BODY
        m.stop(cleanup=False)
        assert _cached_body(cache) == BODY
        fetches = _count(fs, "UID FETCH", b"BODY")

        fs.mailboxes[b"INBOX"]["messages"][0].body = new
        m = _mount(fs, pki, mount, ["poll=0", "cache_dir=" + cache])
        p = os.path.join(m.path, "INBOX", "1.eml")
        got = _read(p)
        assert got == new == _server_bodies(fs)[1], \
            "read %d bytes (the old copy is %d), the server has %d" % (
                len(got), len(BODY), len(new))
        with open(p, "rb") as f:
            assert os.fstat(f.fileno()).st_size == len(new)
        assert _count(fs, "UID FETCH", b"BODY") == fetches + 1, \
            fs.transcript()
        assert _cached_body(cache) == new
        assert "1 changed on the server and refetched" in \
            _status_field(m.path, "cache use")
        assert _read(p) == new
        assert _count(fs, "UID FETCH", b"BODY") == fetches + 1
        assert m.alive()
    finally:
        fs.stop()


def test_size_lie_stays_cached_across_mounts(pki, mount):
    """A server whose RFC822.SIZE is always off (it counts its own way) is
    not a changed message: the second mount serves the cached copy without
    fetching the body again."""
    mbs = {b"INBOX": {"attrs": ["\\HasNoChildren"], "messages": [
        Message(1, BODY, [])]}}
    liar = LieServer("imaps", cert=pki.leaf("liar-quirks"), password="pw",
                     mailboxes=mbs).start()
    try:
        liar.size_lie = {1: len(BODY) + 37}
        cache = tempfile.mkdtemp(prefix="imapfs-quirks-cache-")
        m = _mount(liar, pki, mount, ["poll=0", "cache_dir=" + cache])
        assert _read(os.path.join(m.path, "INBOX", "1.eml")) == BODY
        m.stop(cleanup=False)
        assert liar.body_fetches == 1
        m = _mount(liar, pki, mount, ["poll=0", "cache_dir=" + cache])
        assert _read(os.path.join(m.path, "INBOX", "1.eml")) == BODY
        assert liar.body_fetches == 1, "a lying RFC822.SIZE made the " \
            "mount fetch the cached message again"
        assert "changed on the server" not in m.log()
    finally:
        liar.stop()


# ------------- answers a second asking corrects: SELECT answered NO
# [ALREADYEXISTS], STATUS answered with UIDVALIDITY 0

def _listdir_inbox(fs, inbox):
    assert os.listdir(inbox) == ["1.eml"]


def _uidvalidity_inbox(fs, inbox):
    assert os.getxattr(inbox, "user.imap.uidvalidity") == \
        str(fs._uidvalidity).encode()


ASKED_TWICE = {
    # knob: (action, commands counted, errno after two lies, log line,
    #        two lies count as an error in imapfs status)
    "select_alreadyexists": (_listdir_inbox, ("SELECT", "EXAMINE"),
                             errno.EEXIST,
                             "already exists when asked to open it", True),
    # a 0 twice is "not known", a warning: the count in it is still good
    "status_uidvalidity0": (_uidvalidity_inbox, ("STATUS",), errno.EAGAIN,
                            "answered STATUS with UIDVALIDITY 0", False),
}


@pytest.mark.parametrize("knob", sorted(ASKED_TWICE))
@pytest.mark.parametrize("lies", [1, 2], ids=["once", "twice"])
def test_asked_once_more(pki, mount, knob, lies):
    action, counted, err, line, an_error = ASKED_TWICE[knob]
    fs = _fake(pki, {1: BODY})
    try:
        m = _mount(fs, pki, mount, ["poll=0", "max_conns=1"])
        setattr(fs, knob, lies)
        inbox = os.path.join(m.path, "INBOX")
        if lies == 1:
            action(fs, inbox)
        else:
            with pytest.raises(OSError) as e:
                action(fs, inbox)
            assert e.value.errno == err
        with fs._lock:
            asked = [c[2] for c in fs.commands if c[2] in counted]
        assert len(asked) == 2, "%r\n%s" % (asked, fs.transcript())
        assert line in m.log()
        # a refusal that the second try recovers from is not an error
        errors = _status_field(m.path, "errors").split()[0]
        assert (errors == "0") == (lies == 1 or not an_error), m.log()
    finally:
        fs.stop()


# ----------------------------------- CREATE answered NO [ALREADYEXISTS]

def test_create_alreadyexists_but_created(pki, mount):
    fs = _fake(pki, {1: BODY})
    try:
        m = _mount(fs, pki, mount, ["poll=0"])
        assert os.listdir(m.path) == ["INBOX"]
        fs.create_alreadyexists = 1
        os.mkdir(os.path.join(m.path, "Café"))
        assert os.path.isdir(os.path.join(m.path, "Café"))
        assert os.listdir(os.path.join(m.path, "Café")) == []
        assert fs.saw("CREATE") and fs.saw("STATUS"), fs.transcript()
        assert "taken as created" in m.log()
        errors = _status_field(m.path, "errors").split()[0]
        assert errors == "0", m.log()
    finally:
        fs.stop()


# ----------------------------------- DELETE answered OK, mailbox kept

@pytest.mark.parametrize("stuck", [False, True], ids=["deleted", "stuck"])
def test_delete_kept_is_checked(pki, mount, stuck):
    """Dovecot answers DELETE with OK and keeps the mailbox (\\Noselect)
    when another session opens it at that moment: rmdir lists the name
    again and deletes it once more; a leftover the server will not delete
    fails rmdir with EBUSY."""
    fs = _fake(pki, {1: BODY})
    try:
        m = _mount(fs, pki, mount, ["poll=0"])
        d = os.path.join(m.path, "Doomed")
        os.mkdir(d)
        fs.delete_keeps = 1
        fs.leftover_stuck = stuck
        if not stuck:
            os.rmdir(d)
            assert b"Doomed" not in fs.mailboxes, fs.transcript()
        else:
            with pytest.raises(OSError) as e:
                os.rmdir(d)
            assert e.value.errno == errno.EBUSY
            assert "keeps an empty Doomed" in m.log()
        assert "deleting it again" in m.log()
        with fs._lock:
            deletes = [c[2] for c in fs.commands if c[2] == "DELETE"]
        assert len(deletes) == 2, fs.transcript()
    finally:
        fs.stop()


# ------- a folder's first listing in one flight (session_load.c): a SELECT
# refused by a server that keeps the folder selected before

def _two_folders(pki, other):
    mbs = {b"INBOX": {"attrs": ["\\HasNoChildren"], "messages": [
               Message(u, BODY, []) for u in (1, 2, 3)]},
           b"Other": {"attrs": ["\\HasNoChildren"], "messages": [
               Message(7, other, [])]}}
    return FakeServer("imaps", cert=pki.leaf("fake-quirks"), password="pw",
                      mailboxes=mbs).start()


OTHER = b"From: o@example.org\r\nSubject: other\r\n\r\nother folder\r\n"


def test_refused_select_lists_nothing_of_the_folder_before(pki, mount):
    """SELECT, UID FETCH 1:* and MYRIGHTS go in one flight. This server
    refuses the SELECT and keeps INBOX selected (RFC 3501 says no mailbox
    is selected then), so it answers the FETCH sent with it from INBOX:
    none of that is listed as the other folder's, the operation fails
    with one logged refusal (not the FETCH's as well), and the next
    listing of the folder is right."""
    other = OTHER
    fs = _two_folders(pki, other)
    try:
        m = _mount(fs, pki, mount, ["poll=0", "max_conns=1"])
        assert sorted(os.listdir(os.path.join(m.path, "INBOX"))) == \
            ["1.eml", "2.eml", "3.eml"]
        fs.refusals["SELECT"] = "NO [UNAVAILABLE] try again later"
        n = len(fs.commands)
        with pytest.raises(OSError) as e:
            os.listdir(os.path.join(m.path, "Other"))
        assert e.value.errno in (errno.EAGAIN, errno.EIO), e.value
        with fs._lock:
            sent = [(c[0], c[2]) for c in fs.commands[n:]]
        # one flight: the SELECT and the FETCH (answered from INBOX) on
        # one connection (another may be logging in meanwhile)
        sel = [x for x in sent if x[1] == "SELECT"]
        assert len(sel) == 1, sent
        assert [x[1] for x in sent if x[0] == sel[0][0]][:2] == \
            ["SELECT", "UID FETCH"], sent
        log = m.log()
        assert "SELECT refused by the server: [UNAVAILABLE]" in log, log
        assert "UID FETCH (metadata) refused" not in log, log
        del fs.refusals["SELECT"]
        d = os.path.join(m.path, "Other")
        assert os.listdir(d) == ["7.eml"]
        assert _read(os.path.join(d, "7.eml")) == other
    finally:
        fs.stop()


def test_select_alreadyexists_asked_again_lists_only_that_folder(pki, mount):
    """The same server answers the flight's SELECT NO [ALREADYEXISTS]
    (which Dovecot says now and then) and the FETCH from INBOX: the
    flight is sent once more and the folder shows its own message only,
    none of what came before its SELECT's OK."""
    fs = _two_folders(pki, OTHER)
    try:
        m = _mount(fs, pki, mount, ["poll=0", "max_conns=1"])
        assert len(os.listdir(os.path.join(m.path, "INBOX"))) == 3
        fs.refusals["SELECT"] = "NO [ALREADYEXISTS] Mailbox already exists"
        fs.before_cmd["UID FETCH"] = lambda: fs.refusals.pop("SELECT", None)
        assert os.listdir(os.path.join(m.path, "Other")) == ["7.eml"]
        assert fs.command_names().count("SELECT") == 3, fs.transcript()
        assert "asking once more" in m.log()
    finally:
        fs.stop()

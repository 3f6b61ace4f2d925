"""A server that lies or misbehaves (lieserver.LieServer, a scripted fake
over TLS with the test CA): each oddity costs at most that one operation,
never the daemon, and never wrong bytes.

  RFC822.SIZE smaller / larger than BODY[]   stat after open == the real
                                             size, reads return the real bytes
  BYE before / after / in the middle of a body FETCH, a huge literal then
  a closed connection, garbage after a literal   that read fails with EIO
                                             (or, retried on a new
                                             connection, returns the right
                                             bytes); the next read works
  duplicate UIDs in the metadata FETCH       one file per UID
  UID 0                                      not shown
  [ALERT]                                    in the imapfs log
  unsolicited EXISTS / RECENT / FLAGS lines  tolerated
  "{N}" ending status text, then an empty    that read fails with EIO, the
  [ALERT]; a literal of 2^32 + 3 bytes       daemon lives (it crashed), the
                                             next read works
  a literal far larger than asked for,      refused before it is read: EIO,
  and 256 MiB sent into it                  peak RSS stays under 200 MiB
  UIDs above 2^32 - 1 in the metadata        the listing fails with EIO (they
                                             wrapped onto UIDs 2 and 7)
"""

import errno
import os
import subprocess
import time

import pytest

from fakeserver import Message
from lieserver import LieServer
from mountutil import local_url

TIMEOUT = 5


def _body(tag, size):
    head = (b"From: liar@b.example\r\nSubject: %s\r\n\r\n" % tag)
    line = b"%s filler line of the body, 48 bytes long......\r\n" % tag[:1]
    n = max(0, (size - len(head)) // len(line))
    return head + line * n + b"end\r\n"


SMALL = _body(b"small", 200)
MEDIUM = _body(b"medium", 20_000)
BIG = _body(b"big", 200_000)
BODIES = {1: SMALL, 2: MEDIUM, 3: BIG}


@pytest.fixture
def liar(pki):
    mbs = {b"INBOX": {"attrs": ["\\HasNoChildren"], "messages": [
        Message(u, b, []) for u, b in sorted(BODIES.items())]}}
    s = LieServer("imaps", cert=pki.leaf("liar"), password="pw",
                  mailboxes=mbs).start()
    yield s
    s.stop()


def _mount(liar, pki, mount, extra=()):
    return mount(url=local_url("alice", liar.port),
                 cafile=pki.cafile, password="pw",
                 opts=["timeout=%d" % TIMEOUT, "poll=0"] + list(extra))


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _read_or_errno(path):
    try:
        return _read(path)
    except OSError as e:
        return e.errno


# ---------------------------------------------------------------- sizes


@pytest.mark.parametrize("uid,claim", [
    (1, 50), (1, 5000), (2, 10_000), (2, 90_000), (3, 70_000),
    (3, 150_000), (3, 199_000), (3, 260_000), (3, 1_000_000)])
def test_size_lie(liar, pki, mount, uid, claim):
    body = BODIES[uid]
    assert claim != len(body)
    liar.size_lie = {uid: claim}
    m = _mount(liar, pki, mount)
    p = os.path.join(m.path, "INBOX", "%d.eml" % uid)
    assert sorted(os.listdir(os.path.join(m.path, "INBOX"))) == \
        ["1.eml", "2.eml", "3.eml"]
    os.stat(p)                      # the claim (cached by the kernel)
    with open(p, "rb") as f:
        assert os.fstat(f.fileno()).st_size == len(body), \
            "fstat after open shows %d, BODY[] has %d" % (
                os.fstat(f.fileno()).st_size, len(body))
        data = f.read()
    assert data == body, "read %d bytes, BODY[] has %d" % (len(data),
                                                          len(body))
    assert os.stat(p).st_size == len(body)
    r = subprocess.run("cat '%s' | wc -c" % p, shell=True,
                       capture_output=True, timeout=60)
    assert int(r.stdout) == len(body)
    r = subprocess.run(["cat", p], capture_output=True, timeout=60)
    assert r.returncode == 0 and r.stdout == body
    assert m.alive()


# ------------------------------------------------------------ body faults


@pytest.mark.parametrize("mode", ["bye", "bye-after", "bye-mid", "huge",
                                  "garbage-lit"])
@pytest.mark.parametrize("uid", [2, 3])
def test_body_fault_once(liar, pki, mount, mode, uid):
    """Once: the read fails with EIO or (retried on a new connection)
    returns the right bytes; never other bytes; the next read works."""
    m = _mount(liar, pki, mount)
    inbox = os.path.join(m.path, "INBOX")
    p = os.path.join(inbox, "%d.eml" % uid)
    assert os.stat(p).st_size == len(BODIES[uid])
    liar.fault_once = True
    liar.body_fault = {uid: mode}
    t = time.monotonic()
    got = _read_or_errno(p)
    el = time.monotonic() - t
    assert liar.faults_fired == [(uid, mode)], liar.transcript()
    assert got in (errno.EIO, BODIES[uid]), \
        "%s: read gave %r" % (mode, got if isinstance(got, int) else
                              got[:100])
    assert el <= 2 * TIMEOUT + 6, "%s: the read took %.1fs" % (mode, el)
    assert m.alive(), m.log()
    assert os.listdir(m.path) == ["INBOX"]
    assert _read(p) == BODIES[uid]
    assert _read(os.path.join(inbox, "1.eml")) == SMALL
    assert m.alive()


@pytest.mark.parametrize("mode", ["bye", "bye-after", "bye-mid", "huge",
                                  "garbage-lit"])
def test_body_fault_persistent(liar, pki, mount, mode):
    """Every time: the read fails with EIO (the retry fails too) within
    the timeout, no crash, no huge allocation; the mount recovers when
    the server behaves."""
    uid = 3
    m = _mount(liar, pki, mount)
    p = os.path.join(m.path, "INBOX", "%d.eml" % uid)
    assert os.stat(p).st_size == len(BIG)
    liar.body_fault = {uid: mode}
    t = time.monotonic()
    got = _read_or_errno(p)
    el = time.monotonic() - t
    assert (uid, mode) in liar.faults_fired, liar.transcript()
    assert got == errno.EIO, "%s: read gave %r" % (
        mode, got if isinstance(got, int) else got[:100])
    assert el <= 2 * TIMEOUT + 6, "%s: the read took %.1fs" % (mode, el)
    assert m.alive(), m.log()
    with open("/proc/%d/status" % m.proc.pid) as f:
        rss = [int(x.split()[1]) for x in f if x.startswith("VmRSS:")][0]
    assert rss < 200 * 1024, "imapfs uses %d kB after %s" % (rss, mode)
    assert os.listdir(m.path) == ["INBOX"]
    liar.body_fault = {}
    assert _read(p) == BIG
    assert m.alive()


# ------------------------------------------------------------- metadata


def test_duplicate_uids(liar, pki, mount):
    liar.dup_uids = {1, 3}
    m = _mount(liar, pki, mount)
    names = os.listdir(os.path.join(m.path, "INBOX"))
    assert sorted(names) == ["1.eml", "2.eml", "3.eml"], names
    for u, b in BODIES.items():
        assert _read(os.path.join(m.path, "INBOX", "%d.eml" % u)) == b
    assert m.alive()


def test_uid_zero_not_shown(liar, pki, mount):
    liar.uid_zero = True
    m = _mount(liar, pki, mount)
    names = os.listdir(os.path.join(m.path, "INBOX"))
    assert sorted(names) == ["1.eml", "2.eml", "3.eml"], names
    assert not os.path.exists(os.path.join(m.path, "INBOX", "0.eml"))
    assert _read(os.path.join(m.path, "INBOX", "2.eml")) == MEDIUM
    assert m.alive()


def test_alert_logged(liar, pki, mount):
    text = b"Mailbox is 99%% full XYZZY-%d" % os.getpid()
    liar.alert = text
    m = _mount(liar, pki, mount)
    # the listing needed a SELECT; the ALERT in its answer is logged (one
    # write(2)) before that answer is used
    os.listdir(os.path.join(m.path, "INBOX"))
    assert text.decode() in m.log(), m.log()
    assert "ALERT" in m.log()


def test_unsolicited_untagged(liar, pki, mount):
    liar.chatter = True
    m = _mount(liar, pki, mount)
    inbox = os.path.join(m.path, "INBOX")
    assert sorted(os.listdir(inbox)) == ["1.eml", "2.eml", "3.eml"]
    for u, b in BODIES.items():
        assert os.stat(os.path.join(inbox, "%d.eml" % u)).st_size == len(b)
        assert _read(os.path.join(inbox, "%d.eml" % u)) == b
    assert m.alive(), m.log()


# ------------------------------------- framing and number bounds (issue 10)


@pytest.mark.parametrize("mode", ["text-literal-alert", "literal-2p32"])
def test_body_framing_attack(liar, pki, mount, mode):
    """A "{N}" ending the text of a status line is no literal for
    libetpan, and a literal of 2^32 + 3 bytes is 3 bytes to it: the guard
    once framed both otherwise and let an empty [ALERT] reach libetpan's
    strdup(NULL) (SIGSEGV, mount gone). Now: a protocol error for that
    connection, EIO for that read, a log line, and the next read works."""
    uid = 2
    m = _mount(liar, pki, mount)
    inbox = os.path.join(m.path, "INBOX")
    p = os.path.join(inbox, "%d.eml" % uid)
    assert os.stat(p).st_size == len(MEDIUM)
    liar.body_fault = {uid: mode}
    got = _read_or_errno(p)
    assert (uid, mode) in liar.faults_fired, liar.transcript()
    assert m.alive(), "daemon died on %s\n%s" % (mode, m.log())
    assert got == errno.EIO, "%s: read gave %r" % (
        mode, got if isinstance(got, int) else got[:100])
    assert "protocol error from the server" in m.log(), m.log()
    assert _read(os.path.join(inbox, "1.eml")) == SMALL
    liar.body_fault = {}
    assert _read(p) == MEDIUM
    assert m.alive()


LARGE = _body(b"large", 400_000)     # read in windows (partial FETCH)
HUGE = _body(b"huge", 1_500_000)


@pytest.mark.parametrize("claim", [1000, 100_000])
def test_size_lie_far_too_small(pki, mount, claim):
    """RFC822.SIZE far below the real size (more than twice it plus 1 MiB):
    too large to take whole (the guard refuses the literal before it is
    buffered), so the message is read in windows, and right."""
    mbs = {b"INBOX": {"attrs": ["\\HasNoChildren"], "messages": [
        Message(1, SMALL, []), Message(5, HUGE, [])]}}
    liar = LieServer("imaps", cert=pki.leaf("liar"), password="pw",
                     mailboxes=mbs).start()
    try:
        liar.size_lie = {5: claim}
        m = _mount(liar, pki, mount)
        p = os.path.join(m.path, "INBOX", "5.eml")
        assert os.stat(p).st_size == claim
        with open(p, "rb") as f:
            assert os.fstat(f.fileno()).st_size == len(HUGE)
            data = f.read()
        assert data == HUGE, "read %d bytes of %d" % (len(data), len(HUGE))
        assert os.stat(p).st_size == len(HUGE)
        assert _read(os.path.join(m.path, "INBOX", "1.eml")) == SMALL
        assert m.alive()
    finally:
        liar.stop()


def _vmhwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return [int(x.split()[1]) for x in f if x.startswith("VmHWM:")][0]


@pytest.mark.parametrize("literal", [b"99999999999", b"4000000000"])
@pytest.mark.parametrize("uid", [2, 4])
def test_huge_literal_memory(pki, mount, uid, literal):
    """A body FETCH (whole: UID 2; partial: UID 4) answered with a literal
    far larger than asked for, and 256 MiB sent into it: refused at the
    "{N}" line, so the daemon's peak RSS stays within its 200 MiB budget
    (libetpan buffered 1.2 GB of such a reply before)."""
    mbs = {b"INBOX": {"attrs": ["\\HasNoChildren"], "messages": [
        Message(1, SMALL, []), Message(2, MEDIUM, []),
        Message(4, LARGE, [])]}}
    liar = LieServer("imaps", cert=pki.leaf("liar"), password="pw",
                     mailboxes=mbs).start()
    try:
        m = _mount(liar, pki, mount)
        inbox = os.path.join(m.path, "INBOX")
        p = os.path.join(inbox, "%d.eml" % uid)
        assert os.stat(p).st_size == len(LARGE if uid == 4 else MEDIUM)
        liar.flood_literal = literal
        liar.body_fault = {uid: "flood"}
        got = _read_or_errno(p)
        assert (uid, "flood") in liar.faults_fired, liar.transcript()
        assert m.alive(), m.log()
        hwm = _vmhwm_kb(m.proc.pid)
        print("peak RSS after the flood: %d kB" % hwm)
        assert hwm < 200 * 1024, "peak RSS %d kB after the flood" % hwm
        assert got == errno.EIO, "read gave %r" % (
            got if isinstance(got, int) else got[:100])
        assert "protocol error from the server" in m.log(), m.log()
        assert _read(os.path.join(inbox, "1.eml")) == SMALL
        liar.body_fault = {}
        assert _read(p) == (LARGE if uid == 4 else MEDIUM)
        assert m.alive()
    finally:
        liar.stop()


def test_uid_above_32_bits(liar, pki, mount):
    """UIDs 4294967298 and 18446744073709551623 in the metadata FETCH:
    libetpan wraps them onto 2 and 7 (a file 7.eml, UID 2 with another's
    size). Now the listing fails with EIO and shows nothing wrong; once
    the server stops, it is right."""
    liar.uid_huge = True
    m = _mount(liar, pki, mount)
    inbox = os.path.join(m.path, "INBOX")
    with pytest.raises(OSError) as ei:
        names = os.listdir(inbox)
        raise AssertionError("listing gave %r" % names)
    assert ei.value.errno == errno.EIO, ei.value
    assert m.alive(), m.log()
    assert "protocol error from the server" in m.log(), m.log()
    liar.uid_huge = False
    assert sorted(os.listdir(inbox)) == ["1.eml", "2.eml", "3.eml"]
    assert os.stat(os.path.join(inbox, "2.eml")).st_size == len(MEDIUM)
    assert m.alive()

"""Changes by other clients on servers without CONDSTORE or NOTIFY
(src/flagpoll.c, src/vfs_watch.c; issue 11 items 3 and 4).

Without CONDSTORE, STATUS does not move when another client sets
\\Flagged or a keyword, so the watcher refetches the flags (UID FETCH a:b
(FLAGS)) of the mailboxes in recent use at each poll, within the bounds
imapfs.1 states: at most FLAGPOLL_MAILBOXES mailboxes (the most recently
used), FLAGPOLL_MESSAGES messages a poll. The server is a real Dovecot that
does not advertise CONDSTORE, QRESYNC and NOTIFY, and the scripted server
(which has none of them). The other client is imaplib; what it set is read
back through the mount (getfattr user.imap.flags) and with imaplib.

`imapfs status` says how each kind of change reaches the mount: IDLE for
the watched mailbox, NOTIFY or the poll for the others, and flags by
CHANGEDSINCE or by refetching FLAGS.
"""

import os
import re
import time

import pytest

import imaputil
import transcript
from fakeserver import FakeServer, Message
from mountutil import local_url, run_imapfs
from proxy import Proxy
from liveutil import IDLE_BOUND, new_mailbox, msg, wait_for

POLL = 2
POLL_BOUND = 2 * POLL + 8
FLAGPOLL_MAILBOXES = 8          # src/vfs_internal.h
FLAGPOLL_MESSAGES = 4096
NOCAPS = ("CONDSTORE", "QRESYNC", "NOTIFY")

LINE = re.compile(rb"^\d+\.\d+ (\S+) (.*)$")   # rawlog: time, tag, command


@pytest.fixture(scope="module")
def bare(fresh_servers):
    """A Dovecot without CONDSTORE, QRESYNC and NOTIFY, logging commands."""
    return fresh_servers("slash", drop_caps=NOCAPS, rawlog=True)


def _flags(path):
    return set(os.getxattr(path, "user.imap.flags").decode().split())


def _status(mp):
    r = run_imapfs(["status", mp])
    assert r.returncode == 0, r.stderr
    return r.stdout.decode()


def _field(out, key):
    for ln in out.splitlines():
        if ln.startswith(key + ":"):
            return ln[len(key) + 1:].strip()
    raise AssertionError("no %r line in:\n%s" % (key, out))


UID_FLAGS = rb"(?i)UID FETCH \S+ \(UID FLAGS RFC822\.SIZE\)$"
SEQ_FLAGS = rb"(?i)FETCH \S+ \(UID FLAGS RFC822\.SIZE\)$"


def _flag_fetches(server, rx=UID_FLAGS):
    """{mailbox name (bytes): number of commands matching RX (default: UID
    FETCH ... (UID FLAGS)) sent with it selected} over every session's
    rawlog."""
    time.sleep(0.2)
    out = {}
    for _, data in server.imap_sessions():
        sel = None
        for line in data.split(b"\r\n"):
            m = LINE.match(line)
            if not m:
                continue
            cmd = m.group(2)
            s = re.match(rb'(?i)(SELECT|EXAMINE) "?([^"]*)"?', cmd)
            if s:
                sel = s.group(2)
            elif re.match(rx, cmd):
                out[sel] = out.get(sel, 0) + 1
    return out


def _first_polls_done():
    """The first STATUS poll after a mailbox is listed resyncs it in full
    (the watcher has no STATUS of it to compare yet), which would show any
    flag change made before it: let it pass, so that what follows can only
    be seen by the flag poll."""
    time.sleep(2 * POLL + 1)


def _other_client_flags(server, imap, name, uid, op, flags):
    c = imap(server)
    imaputil.store_flags(c, name, uid, op, flags)
    got = imaputil.flags_of(c, name, uid)
    for f in flags:
        assert (f in got) == (op.startswith("+")), (op, f, got)


def test_flag_change_by_other_client_seen_within_poll(bare, imap, mount):
    """A mailbox that is not IDLE-watched: \\Flagged and a keyword set, then
    cleared, by another client show in user.imap.flags within the poll
    bound. (Old code: STATUS does not move, the flags are never fetched.)"""
    name, rel, (u1, u2) = new_mailbox(bare, imap, "NoCsFlags", [msg("a"), msg("b")])
    m = mount(bare, opts=["poll=%d" % POLL, "timeout=10"])
    d = os.path.join(m.path, rel)
    assert sorted(os.listdir(d)) == sorted(["%d.eml" % u1, "%d.eml" % u2])
    p = os.path.join(d, "%d.eml" % u2)
    assert "\\Flagged" not in _flags(p)
    _first_polls_done()

    _other_client_flags(bare, imap, name, u2, "+FLAGS", ["\\Flagged", "$Work"])
    wait_for(lambda: {"\\Flagged", "$Work"} <= _flags(p), POLL_BOUND,
             lambda: "flags set by another client not shown: %r\n%s" % (_flags(p), m.log()))
    assert "\\Flagged" not in _flags(os.path.join(d, "%d.eml" % u1))

    _other_client_flags(bare, imap, name, u2, "-FLAGS", ["\\Flagged", "$Work"])
    wait_for(lambda: not ({"\\Flagged", "$Work"} & _flags(p)), POLL_BOUND,
             lambda: "flags cleared by another client not shown: %r" % (_flags(p),))
    out = _status(m.path)
    fl = _field(out, "watch flags")
    assert fl.startswith("FLAGS refetch every %d s (no CONDSTORE)" % POLL), out
    assert "up to %d mailboxes" % FLAGPOLL_MAILBOXES in fl, out


def test_flag_poll_bound_most_recent_mailboxes(bare, imap, mount):
    """One mailbox more than a poll refetches: the least recently used one
    is left out of the flag polls that follow, the most recent are in
    each of them."""
    boxes = [new_mailbox(bare, imap, "NoCsBound%d" % i, [msg("x%d" % i)])
             for i in range(FLAGPOLL_MAILBOXES + 1)]
    m = mount(bare, opts=["poll=%d" % POLL, "timeout=10"])
    old_name, old_rel, _ = boxes[0]
    assert os.listdir(os.path.join(m.path, old_rel))
    # the use time has a resolution of one second
    time.sleep(1.5)
    for name, rel, (uid,) in boxes[1:]:
        assert os.listdir(os.path.join(m.path, rel)) == ["%d.eml" % uid]
    _first_polls_done()
    before = _flag_fetches(bare).get(old_name.encode(), 0)
    recent = [b[0].encode() for b in boxes[1:]]
    start = _flag_fetches(bare)

    def every_recent_polled_thrice():
        got = _flag_fetches(bare)
        return all(got.get(n, 0) >= start.get(n, 0) + 3 for n in recent)
    wait_for(every_recent_polled_thrice, 4 * POLL + 10,
             lambda: "recent mailboxes not flag-polled: %r\n%r" % (
                 _flag_fetches(bare), [(n, d[-3000:]) for n, d in bare.imap_sessions()][-3:]))
    after = _flag_fetches(bare).get(old_name.encode(), 0)
    # (one more at most: the rawlog may be written late)
    assert after <= before + 1, \
        "least recently used mailbox (beyond %d) refetched: %d -> %d" % (
            FLAGPOLL_MAILBOXES, before, after)
    # the status line counts the last poll
    fl = _field(_status(m.path), "watch flags")
    assert "last poll: %d mailboxes" % FLAGPOLL_MAILBOXES in fl, fl


def test_idle_watched_mailbox_flags_without_condstore(bare, imap, mount):
    """INBOX (IDLE-watched) without CONDSTORE: the untagged FETCH FLAGS that
    IDLE reports makes the watcher refetch those messages' flags by
    sequence number (FETCH n (UID FLAGS)), not every flag of the mailbox
    (UID FETCH 1:n (UID FLAGS): megabytes for a large INBOX, at each new
    mail); with poll=3600 no poll can be what shows them."""
    c = imap(bare)
    uid = imaputil.append_uid(c, "INBOX", msg("idle flags"))
    m = mount(bare, opts=["poll=3600", "timeout=10"])
    p = os.path.join(m.path, "INBOX", "%d.eml" % uid)
    assert "\\Flagged" not in _flags(p)
    wait_for(lambda: _field(_status(m.path), "watch INBOX") == "IDLE (within seconds)", 10,
             lambda: "watcher not idling: %s" % _status(m.path))
    # the watcher's IDLE has reached the server (rawlog), so the change
    # below comes while it idles; bound: the watcher's SELECT and IDLE,
    # each within timeout=10
    wait_for(lambda: transcript.sent(bare, {}, b"IDLE"), 2 * 10 + 5,
             lambda: "no IDLE from the watcher:\n%s" % m.log())
    whole, seq = _flag_fetches(bare).get(b"INBOX", 0), _flag_fetches(bare, SEQ_FLAGS).get(b"INBOX", 0)
    _other_client_flags(bare, imap, "INBOX", uid, "+FLAGS", ["\\Flagged", "$Idle"])
    wait_for(lambda: {"\\Flagged", "$Idle"} <= _flags(p), IDLE_BOUND,
             lambda: "flags set in INBOX not shown via IDLE: %r\n%s" % (_flags(p), m.log()))
    _other_client_flags(bare, imap, "INBOX", uid, "-FLAGS", ["\\Flagged", "$Idle"])
    wait_for(lambda: not ({"\\Flagged", "$Idle"} & _flags(p)), IDLE_BOUND,
             lambda: "flags cleared in INBOX not shown via IDLE: %r" % (_flags(p),))
    assert _flag_fetches(bare).get(b"INBOX", 0) == whole, "every flag of INBOX fetched again"
    assert _flag_fetches(bare, SEQ_FLAGS).get(b"INBOX", 0) >= seq + 2


def _watch_lines(m):
    wait_for(lambda: "not connected yet" not in _status(m.path), 10,
             lambda: _status(m.path))
    out = _status(m.path)
    return (_field(out, "watch INBOX"), _field(out, "watch other mailboxes"),
            _field(out, "watch flags"))


def test_status_mechanisms_no_notify(fresh_servers, mount):
    """CONDSTORE but no NOTIFY: other mailboxes by the poll, flags by
    CHANGEDSINCE."""
    s = fresh_servers("slash", drop_caps=("NOTIFY",))
    m = mount(s, opts=["poll=7", "timeout=10"])
    os.listdir(os.path.join(m.path, "INBOX"))
    inbox, others, flags = _watch_lines(m)
    assert inbox == "IDLE (within seconds)"
    assert others.startswith("LIST and STATUS of the ") and others.endswith(
        "every 7 s (the server has no NOTIFY)"), others
    assert flags.startswith("CHANGEDSINCE (CONDSTORE)"), flags


def test_status_mechanisms_neither(bare, mount):
    """Neither CONDSTORE nor NOTIFY: the poll, and a FLAGS refetch."""
    m = mount(bare, opts=["poll=7", "timeout=10"])
    inbox, others, flags = _watch_lines(m)
    assert inbox == "IDLE (within seconds)"
    assert "(the server has no NOTIFY)" in others, others
    assert flags.startswith("FLAGS refetch every 7 s (no CONDSTORE)"), flags


def test_status_mechanisms_poll_off(bare, mount):
    m = mount(bare, opts=["poll=0", "timeout=10"])
    inbox, others, flags = _watch_lines(m)
    assert inbox == "IDLE (within seconds)"
    assert others == "not watched (poll=0)", others
    assert flags == "not polled (no CONDSTORE, and poll=0)", flags


def test_fakeserver_flag_change_seen_within_poll(pki, mount):
    """The scripted server (no CONDSTORE, no NOTIFY, no IDLE): a flag change
    made in its own state shows through the mount within the poll, and
    status says INBOX too is only polled."""
    box = {"attrs": ["\\HasNoChildren"],
           "messages": [Message(1, msg("f one")), Message(2, msg("f two"))]}
    fs = FakeServer("imaps", cert=pki.leaf("fake-flagpoll"), password="pw",
                    mailboxes={b"INBOX": {"attrs": ["\\HasNoChildren"], "messages": []},
                               b"Box": box})
    fs.start()
    try:
        m = mount(url=local_url("alice", fs.port), cafile=pki.cafile,
                  password="pw", opts=["poll=%d" % POLL, "timeout=10"])
        d = os.path.join(m.path, "Box")
        assert sorted(os.listdir(d)) == ["1.eml", "2.eml"]
        p = os.path.join(d, "2.eml")
        assert "\\Flagged" not in _flags(p)
        _first_polls_done()
        box["messages"][1].flags += ["\\Flagged", "$Fake"]
        wait_for(lambda: {"\\Flagged", "$Fake"} <= _flags(p), POLL_BOUND,
                 lambda: "flags changed on the server not shown: %r\n%s" % (_flags(p), m.log()))
        box["messages"][1].flags = []
        wait_for(lambda: not ({"\\Flagged", "$Fake"} & _flags(p)), POLL_BOUND,
                 lambda: "flags cleared on the server not shown: %r" % (_flags(p),))
        assert _flags(os.path.join(d, "1.eml")) <= {"\\Seen"}
        out = _status(m.path)
        assert _field(out, "watch INBOX") == "STATUS poll every %d s (the server has no IDLE)" % POLL
        assert _field(out, "watch flags").startswith("FLAGS refetch every %d s" % POLL), out
    finally:
        fs.stop()


def test_flag_poll_large_mailbox_in_slices(bare, imap, mount, capsys):
    """A mailbox of more messages than a poll asks for is refetched in
    slices of FLAGPOLL_MESSAGES, and every slice comes round. What one
    such poll costs is measured through a counting proxy and printed,
    against a baseline taken in the same run: the same mount's polls before
    the mailbox is listed (LIST, and IDLE on INBOX)."""
    n = 4500
    c = imap(bare)
    leaf = "NoCsCost"
    name = imaputil.personal_name(bare, leaf)
    imaputil.create(c, name)
    body = msg("cost")
    # MULTIAPPEND-free bulk: imaplib one APPEND at a time (loopback: fast)
    for _ in range(n):
        imaputil.check(c.append(imaputil.quote(name), None, None, body), "APPEND")
    px = Proxy(bare.imaps_port).start()
    try:
        m = mount(url=local_url(bare.user, px.port),
                  cafile=bare.cafile, password=bare.password,
                  opts=["poll=%d" % POLL, "timeout=10"])
        wait_for(lambda: "not connected yet" not in _status(m.path), 10, "watcher")

        def per_poll(polls=3):
            px.settle(quiet=0.3)
            px.reset()
            t0 = time.monotonic()
            time.sleep(polls * POLL)
            px.settle(quiet=0.3)
            down, up = px.counts()
            return down / (time.monotonic() - t0) * POLL, up / (time.monotonic() - t0) * POLL
        base_down, base_up = per_poll()
        assert len(os.listdir(os.path.join(m.path, imaputil.personal_rel(bare, leaf)))) == n
        _first_polls_done()
        fl_down, fl_up = per_poll()
        fl = _field(_status(m.path), "watch flags")
        with capsys.disabled():
            print("\nflag poll cost, %d messages, poll=%d s: baseline %.0f B down %.0f B up a "
                  "poll; with the mailbox in use %.0f B down %.0f B up a poll; status: %s"
                  % (n, POLL, base_down, base_up, fl_down, fl_up, fl))
        assert "last poll: 1 mailboxes, %d messages" % FLAGPOLL_MESSAGES in fl, fl
        # a slice of FLAGPOLL_MESSAGES, some 40 bytes each plus TLS: well
        # under what the whole mailbox would cost
        assert fl_down - base_down < FLAGPOLL_MESSAGES * 80, (fl_down, base_down)
        # every slice comes round: the first and the last message's flags
        # set by another client both show within a few polls
        d = os.path.join(m.path, imaputil.personal_rel(bare, leaf))
        uids = imaputil.uids(c, name)
        for u in (uids[0], uids[-1]):
            _other_client_flags(bare, imap, name, u, "+FLAGS", ["\\Flagged"])
        for u in (uids[0], uids[-1]):
            p = os.path.join(d, "%d.eml" % u)
            wait_for(lambda: "\\Flagged" in _flags(p), 3 * POLL + 8,
                     lambda: "flag on UID %d of %d not shown" % (u, n))
    finally:
        px.stop()

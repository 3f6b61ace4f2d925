"""One deadline per file operation, and connects tried again within it
(imapfs.1: timeout=, max_conns=, FAULTS).

  - a server that trickles (1 byte a second: no single wait ever runs
    out), one whose reply never ends, and one that sends half a literal
    and then goes quiet: open/read/ls fail with EIO or ETIMEDOUT within
    2 x timeout (+ slack), and the daemon serves other requests then and
    afterwards;
  - a reconnect whose TLS handshake is reset is tried again: reading a
    whole folder while every connection is reset before each message, and
    the next new one right after the server's first TLS bytes, gives every
    message's bytes (checked with imaplib) and no error, with one
    connection (max_conns=1) and with several read in parallel; a reset
    never lowers the connection limit (only a refusal by the server does).

Times are asserted only as upper bounds with generous slack.
"""

import os
import threading
import time

import pytest

import corpus
import imaputil
import liveutil
from fakeserver import FakeServer, Message
from faultutil import assert_reads_back, child_ls, child_read, proxy_url
from imaputil import personal_name, personal_rel
from mountutil import local_url, poll_until, run_imapfs

T = 3           # -o timeout for the deadline tests
SLACK = 4       # process start-up, a loaded machine

@pytest.fixture(scope="module")
def srv(fresh_servers):
    return fresh_servers("slash")


_n = [0]


def _mailbox(server, imap, tag, n, size):
    """A new mailbox of N messages of about SIZE bytes.
    -> (name, rel, {uid: bytes as imaplib reads them})."""
    _n[0] += 1
    leaf = "%s%d_%d" % (tag, os.getpid() % 1000, _n[0])
    name = personal_name(server, leaf)
    c = imap(server)
    imaputil.create(c, name)
    for i in range(n):
        lines = ["line %05d of message %d %s" % (j, i, "q" * 50)
                 for j in range(max(1, size // 80))]
        imaputil.append_uid(c, name, corpus.msg_plain("%s %d" % (tag, i),
                                                      lines))
    return name, personal_rel(server, leaf), imaputil.bodies(imap(server),
                                                             name)


# ------------------------------------------------------------ trickling


@pytest.mark.timeout_s(240)
def test_trickling_server_read_ends_by_deadline(srv, imap, mount, proxy):
    name, rel, bodies = _mailbox(srv, imap, "Trickle", 3, 3000)
    uids = sorted(bodies)
    p = proxy(srv)
    m = mount(srv, url=proxy_url(srv, p), opts=["timeout=%d" % T, "poll=0"])
    d = os.path.join(m.path, rel)
    assert sorted(os.listdir(d)) == sorted("%d.eml" % u for u in uids)
    p.trickle(1)
    try:
        status, _, el = child_read(os.path.join(d, "%d.eml" % uids[0]),
                                   2 * T + 60)
        print("read from a trickling server: %s after %.1fs" % (status, el))
        assert status in ("ERR EIO", "ERR ETIMEDOUT"), status
        assert el < 2 * T + SLACK, \
            "a read from a trickling server took %.1fs (timeout=%d)" % (el, T)
        assert "deadline" in m.log(), m.log()
        # what is in memory is still served meanwhile
        rc, names, el = child_ls(d, 2 * T + SLACK)
        assert rc == 0 and names == sorted("%d.eml" % u for u in uids)
        assert m.alive()
    finally:
        p.resume()
    assert_reads_back(d, uids, bodies, 2 * T + 60, m)


@pytest.mark.timeout_s(240)
def test_trickling_server_listing_ends_by_deadline(srv, imap, mount, proxy):
    name, rel, bodies = _mailbox(srv, imap, "TrickleLs", 2, 1000)
    p = proxy(srv)
    m = mount(srv, url=proxy_url(srv, p), opts=["timeout=%d" % T, "poll=0"])
    d = os.path.join(m.path, rel)
    assert os.path.isdir(d)
    p.trickle(1)
    try:
        rc, names, el = child_ls(d, 2 * T + 60)
        print("ls on a trickling server: rc %d after %.1fs" % (rc, el))
        assert rc != 0, "listing worked on a trickling server?"
        assert el < 2 * T + SLACK, "ls took %.1fs (timeout=%d)" % (el, T)
        rc, names, _ = child_ls(m.path, 2 * T + SLACK)
        assert rc == 0 and "INBOX" in names
    finally:
        p.resume()
    rc, names, _ = child_ls(d, 2 * T + 60)
    assert rc == 0 and names == sorted("%d.eml" % u for u in bodies), \
        (rc, names, m.log())


BODY1 = b"From: a@b.example\r\nSubject: one\r\n\r\nfirst body\r\n"
BODY2 = (b"From: a@b.example\r\nSubject: two\r\n\r\n" + b"y" * 20000 +
         b"\r\n")


@pytest.fixture
def fake(pki):
    mbs = {b"INBOX": {"attrs": ["\\HasNoChildren"], "messages": [
        Message(1, BODY1, ["\\Seen"]), Message(2, BODY2, [])]}}
    fs = FakeServer("imaps", cert=pki.leaf("fake-deadline"), password="pw",
                    mailboxes=mbs).start()
    yield fs
    fs.stop()


@pytest.mark.timeout_s(240)
@pytest.mark.parametrize("how", ["body-endless", "body-half-bye"])
def test_endless_or_unfinished_reply_ends_by_deadline(fake, pki, mount, how):
    """A reply of valid lines that never ends, and half a literal then
    "* BYE" on a connection left open: open()+read() ends in time."""
    m = mount(url=local_url("alice", fake.port),
              cafile=pki.cafile, password="pw", opts=["timeout=%d" % T])
    inbox = os.path.join(m.path, "INBOX")
    assert sorted(os.listdir(inbox)) == ["1.eml", "2.eml"]
    fake.garbage = {how}
    status, _, el = child_read(os.path.join(inbox, "2.eml"), 2 * T + 60)
    print("%s: %s after %.1fs" % (how, status, el))
    assert status in ("ERR EIO", "ERR ETIMEDOUT"), status
    assert el < 2 * T + SLACK, "%s: read took %.1fs (timeout=%d)" % (
        how, el, T)
    assert m.alive(), m.log()
    fake.garbage = set()
    status, data, _ = child_read(os.path.join(inbox, "1.eml"), 2 * T + 60)
    assert status == "OK %d" % len(BODY1) and data == BODY1, (status, m.log())


# ------------------------------------------------ reconnect after reset


@pytest.mark.timeout_s(240)
def test_reads_across_resets_one_connection(srv, imap, mount, proxy):
    """max_conns=1: before each read every connection is reset, and so is
    the reconnect's TLS handshake; every read still succeeds. One message
    per mailbox, so that read-ahead cannot have fetched the next one and
    every read needs the network."""
    boxes = [_mailbox(srv, imap, "Reset", 1, 6000) for _ in range(6)]
    p = proxy(srv)
    m = mount(srv, url=proxy_url(srv, p), opts=["timeout=10", "poll=0",
                                           "max_conns=1"])
    for name, rel, bodies in boxes:
        assert os.listdir(os.path.join(m.path, rel)) == \
            ["%d.eml" % u for u in bodies]
    for name, rel, bodies in boxes:
        (u, body), = bodies.items()
        p.reset_all(then_handshakes=0)
        # the watcher (a connection of its own) reconnects by itself: let
        # it, so that the handshake cut below hits the reader's reconnect.
        # It waits 1 s after a broken session, then connects within the
        # timeout (10 s)
        assert poll_until(lambda: p.open_connections() >= 1,
                          1 + 10 + SLACK), \
            "the watcher did not reconnect\n" + m.log()
        before, down = p.resets, p.counts()[0]
        p.cut_next_handshakes(1)
        status, data, el = child_read(os.path.join(m.path, rel,
                                                   "%d.eml" % u), 60)
        assert status == "OK %d" % len(body), \
            "%s/%d across a reset handshake: %s\n%s" % (rel, u, status,
                                                        m.log())
        assert data == body, "%s/%d: wrong bytes" % (rel, u)
        assert p.counts()[0] - down >= len(body), "read from the network?"
        assert p.resets > before, "the handshake was not reset?"
    assert m.alive()
    assert "continuing with" not in m.log(), m.log()


@pytest.mark.timeout_s(240)
def test_one_read_across_three_cuts(srv, imap, mount, proxy):
    """One read (a 200 KB message, fetched whole) whose connection is cut
    three times while the body flows: BODY.PEEK changes nothing, so it is
    tried again each time while the operation's deadline leaves time, and
    the read succeeds (it failed with EIO when the retries were a count of
    two)."""
    name, rel, bodies = _mailbox(srv, imap, "Cut3", 1, 200_000)
    (u, body), = bodies.items()
    p = proxy(srv)
    m = mount(srv, url=proxy_url(srv, p), opts=["timeout=20", "poll=0",
                                           "max_conns=2"])
    d = os.path.join(m.path, rel)
    assert os.listdir(d) == ["%d.eml" % u]
    p.trickle(100_000)     # about 2 s for the body: time to cut it
    out = []
    t = threading.Thread(target=lambda: out.append(
        child_read(os.path.join(d, "%d.eml" % u), 60)))
    t.start()
    cuts = 0
    for k in range(3):
        down = p.counts()[0]
        if not poll_until(lambda: p.counts()[0] - down > 20_000, 20):
            break
        p.reset_all(then_handshakes=0)
        cuts += 1
    p.resume()
    t.join(90)
    assert cuts == 3, "the body did not flow between the cuts\n" + m.log()
    status, data, _ = out[0]
    assert status == "OK %d" % len(body), "%s\n%s" % (status, m.log())
    assert data == body
    assert m.log().count("connection lost while fetching messages") >= 3, \
        m.log()


@pytest.mark.timeout_s(300)
def test_parallel_reads_across_resets_keep_the_limit(srv, imap, mount, proxy):
    """max_conns=4, four readers at once; while they read, every connection
    and the next three handshakes are reset, three times: all bytes right,
    no error, and the pool does not take the resets for a server's cap."""
    name, rel, bodies = _mailbox(srv, imap, "ResetPar", 40, 100_000)
    p = proxy(srv)
    m = mount(srv, url=proxy_url(srv, p), opts=["timeout=10", "poll=0",
                                           "max_conns=4"])
    d = os.path.join(m.path, rel)
    assert sorted(os.listdir(d)) == sorted("%d.eml" % u for u in bodies)
    uids = sorted(bodies)
    errors = []

    def reader(part):
        for u in part:
            status, data, _ = child_read(os.path.join(d, "%d.eml" % u), 60)
            if status != "OK %d" % len(bodies[u]) or data != bodies[u]:
                errors.append((u, status))

    threads = [threading.Thread(target=reader, args=(uids[i::4],))
               for i in range(4)]
    start = p.counts()[0]
    for t in threads:
        t.start()
    cuts = 0
    for k in range(1, 4):
        # cut while bodies are flowing (about 4 MB in all)
        if not poll_until(lambda: p.counts()[0] - start > k * 900_000, 60):
            break
        if not any(t.is_alive() for t in threads):
            break
        p.reset_all(then_handshakes=3)
        cuts += 1
    for t in threads:
        t.join(120)
    assert cuts >= 1, "the reads were over before any reset"
    assert not errors, "reads failed across resets: %r\n%s" % (errors,
                                                               m.log())
    assert "continuing with" not in m.log(), \
        "a reset was taken for a server's connection cap\n" + m.log()
    assert m.alive()


# ------------------------------------------------------------- watcher


def _status(mp):
    """What imapfs status says about the mount at MP."""
    return run_imapfs(["status", mp]).stdout.decode()


@pytest.mark.timeout_s(180)
def test_watcher_reconnects_soon_after_failed_connect(srv, imap, mount,
                                                      proxy):
    """The watcher's connect fails while the server is gone; once it is
    back, a change in the watched mailbox shows within seconds, not after
    a whole poll interval (30 s with poll=0)."""
    c = imap(srv)
    name, rel, (u1,) = liveutil.new_mailbox(srv, imap, "WatchBack",
                                            [liveutil.msg("one")])
    p = proxy(srv)
    tw = 5
    m = mount(srv, url=proxy_url(srv, p), opts=["poll=0", "timeout=%d" % tw,
                                           "watch=%s" % rel])
    d = os.path.join(m.path, rel)
    assert os.listdir(d) == ["%d.eml" % u1]
    # the watcher has connected (it connects within the timeout)
    liveutil.wait_for(lambda: "IDLE (within seconds)" in _status(m.path),
                      tw + SLACK,
                      lambda: "watcher not connected: %s" % _status(m.path))
    p.refuse = True
    p.drop_all()
    # the watcher notices at once, waits 1 s, fails to connect (refused:
    # at once, at worst within the timeout)
    assert poll_until(lambda: "watcher: cannot connect" in m.log(),
                      1 + tw + SLACK), m.log()
    p.refuse = False
    back = time.monotonic()
    u2 = imaputil.append_uid(c, name, liveutil.msg("two", ["second"]))
    # the next try comes after the backoff (1 s, 2 s if a second refusal
    # came first), then connect and SELECT, each within the timeout
    liveutil.wait_for(lambda: "%d.eml" % u2 in os.listdir(d),
                      2 + 2 * tw + SLACK,
                      lambda: "append not shown %.0fs after the server came "
                      "back: %r\n%s" % (time.monotonic() - back,
                                        os.listdir(d), m.log()))
    print("shown %.1fs after the server came back" % (time.monotonic() - back))

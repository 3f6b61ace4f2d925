"""Dropped, stalled and dead servers (faultproxy.FaultProxy between imapfs
and Dovecot's imaps port).

  - reads and listings are retried once on a new connection when the
    connection breaks: `grep -r` across a cut finishes with the right
    result (compared with imaplib);
  - with the server stalled, an operation fails with EIO/ETIMEDOUT within
    about 2 x -o timeout (+ slack), what is in memory is still served,
    reads work again by themselves after the server answers, and umount
    completes;
  - with the server gone (connections refused), the same.
"""

import os
import subprocess
import time

import pytest

import corpus
import imaputil
from faultutil import assert_reads_back, child_ls, child_read, proxy_url
from imaputil import personal_name, personal_rel

TIMEOUT = 8
SLACK = 6

@pytest.fixture(scope="module")
def srv(fresh_servers):
    return fresh_servers("slash")


_n = [0]


def _filled_mailbox(server, imap, tag, n, size, needle_every=3):
    """A new mailbox of N messages of about SIZE bytes; every
    NEEDLE_EVERY-th contains a unique word. -> (name, rel, needle)."""
    _n[0] += 1
    leaf = "%s%d_%d" % (tag, os.getpid() % 1000, _n[0])
    name = personal_name(server, leaf)
    needle = "needle%dx%d" % (os.getpid(), _n[0])
    c = imap(server)
    imaputil.create(c, name)
    for i in range(n):
        lines = ["filler line %05d %s" % (j, "z" * 60)
                 for j in range(size // 80)]
        if i % needle_every == 0:
            lines.insert(len(lines) // 2, "here is the %s" % needle)
        imaputil.append_uid(c, name, corpus.msg_plain(
            "%s %d" % (tag, i), lines))
    return name, personal_rel(server, leaf), needle


def _expected_matches(server, imap, name, needle):
    c = imap(server)
    return sorted("%d.eml" % u for u, b in imaputil.bodies(c, name).items()
                  if needle.encode() in b)


# ------------------------------------------------------------------ cut


@pytest.mark.timeout_s(240)
def test_grep_across_cut(srv, imap, mount, proxy):
    name, rel, needle = _filled_mailbox(srv, imap, "Cut", 60, 40_000)
    want = _expected_matches(srv, imap, name, needle)
    assert len(want) == 20
    p = proxy(srv)
    m = mount(srv, url=proxy_url(srv, p), opts=["timeout=10", "max_conns=2",
                                           "poll=0"])
    d = os.path.join(m.path, rel)
    assert len(os.listdir(d)) == 60          # listing loaded, no body yet
    start_down = p.counts()[0]
    g = subprocess.Popen(["grep", "-rl", needle, d], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    # cut everything once, in the middle of the bodies (~2.4 MB in all)
    deadline = time.monotonic() + 60
    while p.counts()[0] - start_down < 800_000:
        assert g.poll() is None, "grep finished before the cut: %r" % (
            g.communicate(),)
        assert time.monotonic() < deadline, "grep made no progress"
        time.sleep(0.005)
    cut = p.drop_all()
    assert cut >= 1
    out, err = g.communicate(timeout=120)
    got = sorted(os.path.basename(x) for x in out.decode().split())
    assert g.returncode == 0 and err == b"", (g.returncode, err, m.log())
    assert got == want, "grep -rl across a cut: %r != %r\n%s" % (
        got, want, m.log())
    assert p.connections > 2, "no new connection after the cut?"
    assert m.alive()


@pytest.mark.timeout_s(240)
def test_listing_after_cut(srv, imap, mount, proxy):
    """Pooled connections cut while idle: the next listing and read use
    new ones, without an error."""
    name, rel, needle = _filled_mailbox(srv, imap, "Idle", 4, 2000, 1)
    p = proxy(srv)
    m = mount(srv, url=proxy_url(srv, p), opts=["timeout=10", "poll=0"])
    assert "INBOX" in os.listdir(m.path)
    # both sides closed when drop_all returns: the mount's pooled
    # connections are at EOF before the listing below
    before = p.connections
    assert p.drop_all() >= 1
    d = os.path.join(m.path, rel)
    c = imap(srv)
    want = imaputil.bodies(c, name)
    assert sorted(os.listdir(d)) == sorted("%d.eml" % u for u in want)
    for u, body in want.items():
        with open(os.path.join(d, "%d.eml" % u), "rb") as f:
            assert f.read() == body
    assert p.connections > before, "no new connection after the cut?"
    assert m.alive()


# ---------------------------------------------------------------- stall


def _stall_setup(srv, imap, mount, proxy, tag):
    name, rel, _ = _filled_mailbox(srv, imap, tag, 3, 3000, 1)
    c = imap(srv)
    bodies = imaputil.bodies(c, name)
    p = proxy(srv)
    m = mount(srv, url=proxy_url(srv, p), opts=["timeout=%d" % TIMEOUT, "poll=0"])
    d = os.path.join(m.path, rel)
    assert sorted(os.listdir(d)) == sorted("%d.eml" % u for u in bodies)
    return m, p, d, bodies


@pytest.mark.timeout_s(240)
def test_stalled_server_read_fails_in_time_and_recovers(srv, imap, mount,
                                                        proxy):
    m, p, d, bodies = _stall_setup(srv, imap, mount, proxy, "Stall")
    uids = sorted(bodies)
    p.stall()
    try:
        status, _, el = child_read(os.path.join(d, "%d.eml" % uids[0]),
                                   2 * TIMEOUT + 60)
        print("read while stalled: %s after %.1fs" % (status, el))
        assert status in ("ERR EIO", "ERR ETIMEDOUT"), status
        assert el <= 2 * TIMEOUT + SLACK, \
            "a read on a stalled server took %.1fs (timeout=%d)" % (
                el, TIMEOUT)
        # what is in memory is still served
        rc, names, el = child_ls(m.path, TIMEOUT + SLACK)
        assert rc == 0 and "INBOX" in names, (rc, names)
        rc, names, el = child_ls(d, TIMEOUT + SLACK)
        assert rc == 0 and names == sorted("%d.eml" % u for u in uids)
        assert m.alive()
    finally:
        p.resume()
    # recovers by itself: the very next reads work
    assert_reads_back(d, uids, bodies, 2 * TIMEOUT + 60, m)
    assert m.alive()


@pytest.mark.timeout_s(240)
def test_stalled_listing_fails_in_time(srv, imap, mount, proxy):
    """Listing a mailbox not yet loaded while the server is stalled."""
    name, rel, _ = _filled_mailbox(srv, imap, "StallLs", 2, 1000, 1)
    p = proxy(srv)
    m = mount(srv, url=proxy_url(srv, p), opts=["timeout=%d" % TIMEOUT, "poll=0"])
    d = os.path.join(m.path, rel)
    assert os.path.isdir(d)
    p.stall()
    try:
        rc, names, el = child_ls(d, 2 * TIMEOUT + 60)
        assert rc != 0, "listing worked while the server was stalled?"
        assert el <= 2 * TIMEOUT + SLACK, "ls took %.1fs" % el
        rc, names, el = child_ls(m.path, TIMEOUT + SLACK)
        assert rc == 0 and "INBOX" in names
    finally:
        p.resume()
    c = imap(srv)
    want = sorted("%d.eml" % u for u in imaputil.uids(c, name))
    rc, names, el = child_ls(d, 2 * TIMEOUT + 60)
    assert rc == 0 and names == want, (rc, names, m.log())


@pytest.mark.timeout_s(240)
@pytest.mark.parametrize("how", ["fusermount3", "imapfs-umount"])
def test_umount_while_stalled(srv, imap, mount, proxy, how):
    m, p, d, bodies = _stall_setup(srv, imap, mount, proxy, "StallUm")
    p.stall()
    try:
        # leave a read stuck in the network for a moment, then unmount
        status, _, _ = child_read(os.path.join(d, "%d.eml" % min(bodies)),
                                  2 * TIMEOUT + 60)
        assert status.startswith("ERR")
        t = time.monotonic()
        cmd = ["fusermount3", "-u", m.path] if how == "fusermount3" else \
            [os.environ.get("IMAPFS_BIN") or "imapfs", "umount", m.path]
        if how != "fusermount3":
            import mountutil
            cmd[0] = mountutil.imapfs_bin()
        r = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT + 60)
        assert r.returncode == 0, r.stderr
        try:
            m.proc.wait(TIMEOUT + 10)
        except subprocess.TimeoutExpired:
            pytest.fail("imapfs still running %ds after %s with the server "
                        "stalled\n%s" % (TIMEOUT + 10, how, m.log()))
        el = time.monotonic() - t
        print("umount + exit with a stalled server: %.1fs" % el)
        import mountutil
        assert not mountutil.is_mounted(m.path)
        assert el <= TIMEOUT + 10
    finally:
        p.resume()


# ----------------------------------------------------------------- dead


@pytest.mark.timeout_s(240)
def test_dead_server_then_back(srv, imap, mount, proxy):
    m, p, d, bodies = _stall_setup(srv, imap, mount, proxy, "Dead")
    uids = sorted(bodies)
    p.refuse = True
    p.drop_all()
    status, _, el = child_read(os.path.join(d, "%d.eml" % uids[0]),
                               2 * TIMEOUT + 60)
    assert status in ("ERR EIO", "ERR ETIMEDOUT"), status
    assert el <= 2 * TIMEOUT + SLACK
    rc, names, _ = child_ls(d, TIMEOUT + SLACK)
    assert rc == 0 and names == sorted("%d.eml" % u for u in uids)
    assert m.alive(), m.log()
    p.refuse = False
    assert_reads_back(d, uids, bodies, 2 * TIMEOUT + 60, m)

"""The body cache and read-ahead (imapfs.1, CACHE): bodies read once are
served from disk after a remount, a damaged cache file is noticed and the
message fetched again, cache_size holds, cache files are private, cache=no
writes nothing, a crash mid-read leaves nothing torn behind, and reading a
folder in order fetches ahead without ever setting \\Seen.

Traffic is counted with the TCP proxy between imapfs and Dovecot; bodies
are checked against Python's imaplib. Each test has its own mailbox on a
Dovecot of this module's own, and its own cache directory."""

import hashlib
import os
import signal
import subprocess
import tempfile

import pytest

import corpus
import imaputil
import mountutil
from proxy import Proxy

_seq = [0]


def _uniq(tag):
    _seq[0] += 1
    return "%s%d%d" % (tag, os.getpid() % 1000, _seq[0])


@pytest.fixture(scope="module")
def srv(fresh_servers):
    return fresh_servers("slash")


@pytest.fixture
def tmpdir_own():
    """A scratch directory under the run's temp root (removed with it)."""
    return tempfile.mkdtemp(prefix="cache-test-")


def _fill(imap, srv, n, size, tag):
    """A new mailbox with N unseen messages of about SIZE bytes each;
    -> (name, {uid: body})."""
    c = imap(srv)
    name = _uniq(tag)
    imaputil.create(c, name)
    date = imaputil.internaldate_str(1704103200)
    for i in range(n):
        lines = ["%s message %d line %06d" % (tag, i, k) for k in range(max(1, size // 40))]
        if i % 7 == 3:
            lines.append("this one mentions an invoice")
        imaputil.append_uid(c, name, corpus.msg_plain("%s %d" % (tag, i), lines), date=date)
    return name, imaputil.bodies(c, name)


def _cache_files(d):
    """Every file under cache directory D -> {path: stat}."""
    out = {}
    for root, dirs, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            out[p] = os.lstat(p)
    return out


def _bodies_in(d):
    """The body files (UIDVALIDITY.UID) under cache directory D (not the
    folders' kept listings, ACCOUNT/listings/)."""
    return {p: st for p, st in _cache_files(d).items()
            if not os.path.relpath(p, d).startswith("tmp/")
            and not os.path.basename(p).startswith("tmp.")
            and os.path.basename(os.path.dirname(p)) != "listings"}


def _status(m):
    return os.getxattr(m.path, "user.imapfs.status").decode()


def _status_field(m, key):
    for line in _status(m).splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("no %r in status:\n%s" % (key, _status(m)))


def _read_all(m, name, uids):
    d = os.path.join(m.path, name)
    out = {}
    for uid in sorted(uids):
        with open(os.path.join(d, "%d.eml" % uid), "rb") as f:
            out[uid] = f.read()
    return out


def _mount(mount, srv, cache, proxy=None, opts=()):
    url = None
    if proxy is not None:
        url = mountutil.local_url(srv.user, proxy.port)
    return mount(srv, url=url, opts=["cache_dir=" + cache] + list(opts))


def test_cache_hit_after_remount(srv, imap, mount, tmpdir_own):
    name, want = _fill(imap, srv, 12, 3000, "Hit")
    cache = os.path.join(tmpdir_own, "cache")
    # one proxy for both mounts: the cache is per account, and the
    # account's port is part of its name
    p = Proxy(srv.imaps_port).start()
    try:
        m = _mount(mount, srv, cache, proxy=p)
        assert _read_all(m, name, want) == want
        m.stop(cleanup=False)
        assert len(_bodies_in(cache)) == len(want)

        m2 = _mount(mount, srv, cache, proxy=p)
        os.listdir(os.path.join(m2.path, name))  # metadata: not counted
        p.settle()
        p.reset()
        got = _read_all(m2, name, want)
        p.settle()
        down, _ = p.counts()
    finally:
        p.stop()
    assert got == want, "bytes from the cache differ from the server's"
    total = sum(len(b) for b in want.values())
    print("re-read of %d bytes after remount: %d bytes from the server" % (total, down))
    assert down < 2000, "a cached folder was fetched again (%d bytes)" % down
    # every body served from the disk cache: to the reader, or stored into
    # the page cache ahead of it (a race may serve one both ways)
    hits = int(_status_field(m2, "cache use").split(" hits")[0].split()[-1])
    assert len(want) <= hits <= 2 * len(want), _status_field(m2, "cache use")


def test_damaged_cache_file_is_refetched(srv, imap, mount, tmpdir_own):
    name, want = _fill(imap, srv, 6, 5000, "Dmg")
    cache = os.path.join(tmpdir_own, "cache")
    m = _mount(mount, srv, cache)
    assert _read_all(m, name, want) == want
    m.stop(cleanup=False)
    files = sorted(_bodies_in(cache))
    assert len(files) == len(want)
    # three kinds of damage: a flipped byte in the body, a torn (short)
    # file, a header of garbage
    with open(files[0], "r+b") as f:
        f.seek(64 + 100)
        b = f.read(1)
        f.seek(64 + 100)
        f.write(bytes([b[0] ^ 0x20]))
    with open(files[1], "r+b") as f:
        f.truncate(os.path.getsize(files[1]) - 10)
    with open(files[2], "r+b") as f:
        f.write(b"\0" * 64)

    m2 = _mount(mount, srv, cache)
    assert _read_all(m2, name, want) == want, "a damaged cache file was served"
    assert "3 damaged files refetched" in _status_field(m2, "cache use")
    m2.stop(cleanup=False)
    assert "fetching the message again" in m2.log()
    # and the cache holds good copies again
    m3 = _mount(mount, srv, cache)
    assert _read_all(m3, name, want) == want
    assert "0 damaged" in _status_field(m3, "cache use")


def test_cache_size_is_respected(srv, imap, mount, tmpdir_own):
    name, want = _fill(imap, srv, 10, 60000, "Size")   # ~60 KB each
    cache = os.path.join(tmpdir_own, "cache")
    limit = 200 * 1024
    m = _mount(mount, srv, cache, opts=["cache_size=200K"])
    assert _read_all(m, name, want) == want
    used = sum(st.st_size for st in _bodies_in(cache).values())
    assert 0 < used <= limit, "cache holds %d bytes, limit %d" % (used, limit)
    evicted = int(_status_field(m, "cache use").split(" evicted")[0].split()[-1])
    assert evicted > 0, _status_field(m, "cache use")
    # least recently used out first: the last ones read are the ones kept
    m.stop(cleanup=False)
    m2 = _mount(mount, srv, cache, opts=["cache_size=200K"])
    st = _status_field(m2, "cache use")
    assert int(st.split()[0]) == len(_bodies_in(cache))
    # a smaller limit at the next mount trims what is there
    m2.stop(cleanup=False)
    m3 = _mount(mount, srv, cache, opts=["cache_size=70K"])
    used = sum(st.st_size for st in _bodies_in(cache).values())
    assert used <= 70 * 1024, used
    assert _read_all(m3, name, want) == want


def test_cache_files_are_private(srv, imap, mount, tmpdir_own):
    name, want = _fill(imap, srv, 3, 2000, "Priv")
    cache = os.path.join(tmpdir_own, "cache")
    m = _mount(mount, srv, cache)
    assert _read_all(m, name, want) == want
    m.stop(cleanup=False)
    for root, dirs, files in os.walk(cache):
        for d in dirs:
            mode = os.lstat(os.path.join(root, d)).st_mode & 0o777
            assert mode == 0o700, "%s is %o" % (os.path.join(root, d), mode)
        for f in files:
            mode = os.lstat(os.path.join(root, f)).st_mode & 0o777
            assert mode == 0o600, "%s is %o" % (os.path.join(root, f), mode)
            assert not f.startswith("tmp."), "temporary file left: " + f
    # the account's directory is named after it, readable by a person
    assert os.listdir(cache) == ["%s@127.0.0.1:%d" % (srv.user, srv.imaps_port)]


def test_cache_no_writes_nothing(srv, imap, mount, tmpdir_own):
    name, want = _fill(imap, srv, 5, 3000, "NoC")
    xdg = os.path.join(tmpdir_own, "xdg")
    m = mount(srv, opts=["cache=no"], env={"XDG_CACHE_HOME": xdg})
    assert _read_all(m, name, want) == want
    assert _read_all(m, name, want) == want
    assert "in memory only" in _status_field(m, "cache")
    m.stop(cleanup=False)
    assert _cache_files(xdg) == {}, "cache=no wrote %r" % list(_cache_files(xdg))


def test_crash_while_filling_leaves_nothing_torn(srv, imap, mount, tmpdir_own):
    """kill -9 in the middle of reading: the next mount serves only whole
    bodies (a partial file never carries a final name)."""
    name, want = _fill(imap, srv, 40, 20000, "Crash")
    cache = os.path.join(tmpdir_own, "cache")
    m = _mount(mount, srv, cache)
    d = os.path.join(m.path, name)
    r = subprocess.Popen(["cat"] + [os.path.join(d, "%d.eml" % u) for u in sorted(want)],
                         stdout=subprocess.DEVNULL)
    # kill once the first body is in the cache: the others (and the
    # read-ahead) are in flight then
    assert mountutil.poll_until(lambda: _bodies_in(cache), 60), \
        "no body cached\n" + m.log()
    os.kill(m.proc.pid, signal.SIGKILL)
    r.wait(30)
    m.stop(cleanup=False)
    m2 = _mount(mount, srv, cache)
    assert _read_all(m2, name, want) == want
    # bodies are linked in only when whole: nothing torn to detect
    assert " 0 damaged" in _status_field(m2, "cache use"), m2.log()


def test_read_ahead_never_sets_seen(srv, imap, mount, tmpdir_own):
    name, want = _fill(imap, srv, 60, 4000, "Ahead")
    c = imap(srv)
    cache = os.path.join(tmpdir_own, "cache")
    p = Proxy(srv.imaps_port).start()
    try:
        m = _mount(mount, srv, cache, proxy=p)
        d = os.path.join(m.path, name)
        r = subprocess.run(["grep", "-rl", "invoice", d], capture_output=True, timeout=120)
        assert r.returncode == 0, r.stderr
        hits = sorted(int(os.path.basename(x)[:-4]) for x in r.stdout.decode().split())
        assert hits == sorted(u for u, b in want.items() if b"invoice" in b)
        st = _status_field(m, "read-ahead")
        batches = int(st.split(" in ")[1].split()[0])
        assert batches > 0, "grep -r read the folder without read-ahead: " + st
        p.settle()
    finally:
        p.stop()
    for uid, flags in ((u, imaputil.flags_of(c, name, u)) for u in want):
        assert "\\Seen" not in flags, "UID %d got \\Seen from reading ahead" % uid
    # everything grep read is now cached: a second mount fetches no body
    m.stop(cleanup=False)
    assert len(_bodies_in(cache)) == len(want)


def _queued(m):
    """Messages read-ahead has queued since mount (imapfs status)."""
    st = _status_field(m, "read-ahead")
    return int(st.split("; ")[1].split()[0])


def test_read_ahead_in_name_order(srv, imap, mount, tmpdir_own):
    """`cat *` and rsync read 10.eml before 9.eml: that order is followed
    too. 1.eml then 10.eml are neighbours only in name order (nine UIDs
    apart), so read-ahead after those two opens is name-order read-ahead."""
    name, want = _fill(imap, srv, 25, 2000, "Names")
    m = _mount(mount, srv, os.path.join(tmpdir_own, "cache"))
    d = os.path.join(m.path, name)
    names = sorted(os.listdir(d))               # "1.eml", "10.eml", ...
    assert names[:2] == ["1.eml", "10.eml"]
    for n in names[:2]:
        with open(os.path.join(d, n), "rb") as f:
            assert f.read() == want[int(n[:-4])]
    assert _queued(m) > 0, _status_field(m, "read-ahead")
    for n in names[2:]:
        with open(os.path.join(d, n), "rb") as f:
            assert f.read() == want[int(n[:-4])]


def test_no_read_ahead_for_scattered_reads(srv, imap, mount, tmpdir_own):
    """Opens that follow no order (a reader picking messages here and
    there) fetch nothing ahead."""
    name, want = _fill(imap, srv, 25, 2000, "Scatter")
    m = _mount(mount, srv, os.path.join(tmpdir_own, "cache"))
    d = os.path.join(m.path, name)
    for uid in (1, 20, 7, 14, 3):
        with open(os.path.join(d, "%d.eml" % uid), "rb") as f:
            assert f.read() == want[uid]
    assert _queued(m) == 0, _status_field(m, "read-ahead")


def test_large_message_read_through_is_cached(srv, imap, mount, tmpdir_own):
    """A message read in windows (large) is kept once read to the end."""
    c = imap(srv)
    name = _uniq("Large")
    imaputil.create(c, name)
    body = corpus.msg_big("Large", 900_000, 3)
    uid = imaputil.append_uid(c, name, body)
    cache = os.path.join(tmpdir_own, "cache")
    p = Proxy(srv.imaps_port).start()
    try:
        m = _mount(mount, srv, cache, proxy=p)
        with open(os.path.join(m.path, name, "%d.eml" % uid), "rb") as f:
            assert hashlib.sha256(f.read()).digest() == hashlib.sha256(body).digest()
        m.stop(cleanup=False)
        assert len(_bodies_in(cache)) == 1
        m2 = _mount(mount, srv, cache, proxy=p)
        os.listdir(os.path.join(m2.path, name))
        p.settle()
        p.reset()
        with open(os.path.join(m2.path, name, "%d.eml" % uid), "rb") as f:
            assert f.read() == body
        p.settle()
        down, _ = p.counts()
    finally:
        p.stop()
    assert down < 2000, down


def test_read_ahead_with_few_connections_allowed(fresh_servers, imap, mount, tmpdir_own):
    """A server that allows 3 sessions per user: the test's own client,
    imapfs's first session and its IDLE watcher take them all. When
    read-ahead wants more, the refusal lowers the pool's limit, and every
    read still returns the right bytes (imapfs.1: max_conns)."""
    s = fresh_servers("slash", max_userip=3)
    name, want = _fill(imap, s, 30, 3000, "Few")
    m = mount(s, opts=["cache_dir=" + os.path.join(tmpdir_own, "cache"), "max_conns=4"])
    d = os.path.join(m.path, name)
    for uid in sorted(want):
        with open(os.path.join(d, "%d.eml" % uid), "rb") as f:
            assert f.read() == want[uid], "UID %d" % uid
    assert m.alive()
    # Whether read-ahead needed a second connection at all depends on
    # timing (workers take the one session whenever it is idle); when it
    # asked and was refused, the pool must say it lowered its limit.
    conns = _status_field(m, "connections")
    if "cannot open IMAP connection" in m.log():
        assert "lowered" in conns, conns

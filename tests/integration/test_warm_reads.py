"""Reading cached mail costs few kernel round trips (imapfs.1, Cache): a
grep over a folder on a fresh mount whose bodies are in the disk cache
(warm) and the same grep again (hot) send at most an OPEN and a RELEASE
per message -- no LOOKUP, no GETATTR, and no READ for a small message,
whose body is pushed into the page cache at its open or ahead of it --
and on a read-only mount not even those; counted by the "kernel
requests" line of `imapfs status`. The cheap opens still
never serve a damaged cache file, and a message another client expunged
is not served from the kernel's page cache once its name is gone.

Each test has its own mailbox on a Dovecot of this module's own, and its
own cache directory; bodies are checked against imaplib."""

import itertools
import os
import re
import subprocess
import tempfile
import time

import pytest

import corpus
import imaputil

# More than one READDIRPLUS reply holds (about 200 entries in 32 KiB):
# the kernel's "auto" mode looked up every entry past the first reply.
MANY = 300
_names = itertools.count(1)


@pytest.fixture
def cache():
    return os.path.join(tempfile.mkdtemp(prefix="warm-test-"), "cache")


@pytest.fixture(scope="module")
def srv(fresh_servers):
    return fresh_servers("slash")


def _fill(imap, srv, n, tag, size=1500):
    """A new mailbox of N small messages; -> (name, {uid: body})."""
    c = imap(srv)
    name = "%s%d%d" % (tag, os.getpid() % 1000, next(_names))
    imaputil.create(c, name)
    date = imaputil.internaldate_str(1704103200)
    for i in range(n):
        lines = ["%s message %d line %04d" % (tag, i, k) for k in range(size // 30)]
        if i % 10 == 3:
            lines.append("this one mentions an invoice")
        imaputil.append_uid(c, name, corpus.msg_plain("%s %d" % (tag, i), lines), date=date)
    return name, imaputil.bodies(c, name)


def _status(m):
    return os.getxattr(m.path, "user.imapfs.status").decode()


def _requests(m):
    """The "kernel requests" counters of M's status -> {name: count}."""
    for line in _status(m).splitlines():
        if line.startswith("kernel requests:"):
            head = line.split(":", 1)[1].split(";")[0]
            return {k: int(v) for k, v in re.findall(r"(\w+) (\d+)", head)}
    raise AssertionError("no kernel requests line in status:\n" + _status(m))


def _grep(m, name):
    r = subprocess.run(["grep", "-rl", "invoice", os.path.join(m.path, name)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=dict(os.environ, LC_ALL="C"))
    assert r.returncode == 0 and not r.stderr, r.stderr
    return sorted(int(os.path.basename(p).split(".")[0]) for p in r.stdout.decode().split())


def _diff(after, before):
    return {k: after[k] - before.get(k, 0) for k in after}


def _grep_counts(mount, srv, cache, name, matches, opts):
    """Cold grep on one mount (fills the disk cache), then warm and hot
    grep on a second; -> the kernel requests of the warm and the hot one."""
    m = mount(srv, opts=["cache_dir=" + cache] + opts)
    assert _grep(m, name) == matches
    m.stop(cleanup=False)
    m2 = mount(srv, opts=["cache_dir=" + cache] + opts)
    os.listdir(m2.path)
    before = _requests(m2)
    assert _grep(m2, name) == matches
    mid = _requests(m2)
    assert _grep(m2, name) == matches
    after = _requests(m2)
    print("warm:", _diff(mid, before), "hot:", _diff(after, mid))
    return m2, _diff(mid, before), _diff(after, mid)


def test_requests_per_file_warm_and_hot(srv, imap, mount, cache):
    name, want = _fill(imap, srv, MANY, "Warm")
    matches = sorted(u for u, b in want.items() if b"invoice" in b)
    m, warm, hot = _grep_counts(mount, srv, cache, name, matches, [])
    n = len(want)
    for what, got in (("warm", warm), ("hot", hot)):
        assert got["open"] == n, (what, got)
        # none per file (the root and the folder may be asked again)
        assert got["lookup"] + got["getattr"] <= 3, (what, got)
        assert got["flush"] == 0, (what, got)
        # a listing of MANY entries: a few READDIRPLUS replies, not one per file
        assert got["readdir"] <= 5, (what, got)
    # one RELEASE per open; sent after close returns, so the last few of
    # the warm grep may be counted with the hot one
    assert 2 * n - 10 <= warm["release"] + hot["release"] <= 2 * n, (warm, hot)
    # warm: small bodies were pushed to the page cache at their open or
    # ahead of it (a push still under way when the reader gets there may
    # leave it a READ, rarely)
    assert warm["read"] <= n // 10, warm
    assert hot["read"] == 0, hot
    pushed = int(re.search(r"(\d+) bodies pushed", _status(m)).group(1))
    assert pushed >= n - n // 10, _status(m)


def test_read_only_mount_reads_without_opens(srv, imap, mount, cache):
    """ro: the kernel opens files without asking (FUSE no-open): a warm
    grep costs at most one READ per small message and nothing else, a hot
    grep no request per file at all."""
    name, want = _fill(imap, srv, MANY, "Ro")
    matches = sorted(u for u, b in want.items() if b"invoice" in b)
    m, warm, hot = _grep_counts(mount, srv, cache, name, matches, ["ro"])
    n = len(want)
    # the first open and flush of the mount answer ENOSYS, once
    assert warm["open"] <= 1 and warm["flush"] <= 1 and warm["release"] == 0, warm
    # one READ per message at most (none for those pushed ahead of grep)
    assert warm["read"] <= n, warm
    assert warm["lookup"] + warm["getattr"] <= 3 and warm["readdir"] <= 5, warm
    per_file = sum(hot[k] for k in ("open", "read", "flush", "release", "lookup", "getattr"))
    assert per_file <= 2 and hot["readdir"] <= 5, hot
    # nothing can be written, and the messages are whole
    path = os.path.join(m.path, name, "%d.eml" % max(want))
    with pytest.raises(OSError):
        open(path, "r+b")
    for uid in sorted(want)[:20]:
        with open(os.path.join(m.path, name, "%d.eml" % uid), "rb") as f:
            assert f.read() == want[uid]


def test_lazy_open_still_checks_the_cache_file(srv, imap, mount, cache):
    """An open after the first one on a mount does not check the cache
    file (the kernel has the bytes); a read that does need the file still
    finds it damaged and fetches the message again."""
    name, want = _fill(imap, srv, 3, "Lazy", size=6000)
    m = mount(srv, opts=["cache_dir=" + cache])
    uid = sorted(want)[1]
    path = os.path.join(m.path, name, "%d.eml" % uid)
    with open(path, "rb") as f:
        assert f.read() == want[uid]
    bodies = [os.path.join(r, x) for r, _, fs in os.walk(cache) for x in fs
              if x.endswith(".%d" % uid) and not os.path.relpath(r, cache).startswith("tmp")]
    assert len(bodies) == 1, bodies
    with open(bodies[0], "r+b") as f:
        f.seek(64 + 200)
        b = f.read(1)
        f.seek(64 + 200)
        f.write(bytes([b[0] ^ 0x20]))
    with open(path, "rb") as f:
        # drop the kernel's copy so this read reaches imapfs
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        assert f.read() == want[uid], "a damaged cache file was served"
    assert "1 damaged files refetched" in _status(m)
    m.stop(cleanup=False)
    assert "fetching the message again" in m.log()


@pytest.mark.parametrize("opts", [[], ["ro"]], ids=["rw", "ro"])
def test_expunged_message_not_served_from_page_cache(srv, imap, mount, cache, opts):
    """Read twice (the second time from the kernel's page cache), then
    expunged by another client: once the name is gone, as CHANGES BY
    OTHER CLIENTS promises, neither open nor stat reaches the old bytes.
    On a read-only mount opens do not even reach imapfs."""
    c = imap(srv)
    body = corpus.msg_plain("gone soon", ["expunge me %d" % i for i in range(200)])
    uid = imaputil.append_uid(c, "INBOX", body)
    m = mount(srv, opts=["cache_dir=" + cache] + opts)
    path = os.path.join(m.path, "INBOX", "%d.eml" % uid)
    for _ in range(2):
        with open(path, "rb") as f:
            assert f.read() == body
    before = _requests(m)
    with open(path, "rb") as f:
        assert f.read() == body
    assert _diff(_requests(m), before)["read"] == 0, "not served from the page cache"

    imaputil.check(c.select("INBOX"), "SELECT")
    imaputil.check(c.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)"), "STORE")
    imaputil.check(c.uid("EXPUNGE", str(uid)), "UID EXPUNGE")
    c.close()
    # the watcher idles on INBOX: the name goes within seconds
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and os.path.exists(path):
        time.sleep(0.2)
    assert not os.path.exists(path), "still there after 20 s"
    assert "%d.eml" % uid not in os.listdir(os.path.join(m.path, "INBOX"))
    with pytest.raises(FileNotFoundError):
        open(path, "rb")
    with pytest.raises(FileNotFoundError):
        os.stat(path)


def test_read_only_large_message(srv, imap, mount, cache):
    """ro: a message over 256 KiB comes in several READs without a file
    handle; they share one open (windows grow, the body is collected into
    the disk cache when read through), and the next mount reads it from
    there."""
    c = imap(srv)
    name = "Big%d%d" % (os.getpid() % 1000, next(_names))
    imaputil.create(c, name)
    body = corpus.msg_plain("big", ["line %06d of a large message, padded out" % i
                                    for i in range(30000)])
    assert len(body) > 1024 * 1024
    uid = imaputil.append_uid(c, name, body)
    m = mount(srv, opts=["cache_dir=" + cache, "ro"])
    path = os.path.join(m.path, name, "%d.eml" % uid)
    with open(path, "rb") as f:
        assert f.read() == body
    assert _requests(m)["read"] >= 2
    m.stop(cleanup=False)
    m2 = mount(srv, opts=["cache_dir=" + cache, "ro"])
    with open(os.path.join(m2.path, name, "%d.eml" % uid), "rb") as f:
        assert f.read() == body
    fetched = [ln for ln in _status(m2).splitlines() if ln.startswith("fetched:")][0]
    assert "fetched: 0 messages, 0 bytes" in fetched, fetched


def test_single_read_pushes_only_itself(srv, imap, mount, cache):
    """Bodies go into the page cache ahead of a reader going through a
    folder, not of one that reads a single message."""
    name, want = _fill(imap, srv, 40, "One")
    m = mount(srv, opts=["cache_dir=" + cache])
    assert _grep(m, name) == sorted(u for u, b in want.items() if b"invoice" in b)
    m.stop(cleanup=False)
    m2 = mount(srv, opts=["cache_dir=" + cache])
    uids = sorted(want)
    # listed (the kernel stores pages only into inodes it knows)
    os.listdir(os.path.join(m2.path, name))
    with open(os.path.join(m2.path, name, "%d.eml" % uids[5]), "rb") as f:
        assert f.read() == want[uids[5]]
    time.sleep(0.5)
    assert "; 1 bodies pushed" in _status(m2), _status(m2)
    # reading on from there starts it
    for uid in uids[6:9]:
        with open(os.path.join(m2.path, name, "%d.eml" % uid), "rb") as f:
            assert f.read() == want[uid]
    time.sleep(0.5)
    pushed = int(re.search(r"(\d+) bodies pushed", _status(m2)).group(1))
    assert pushed >= 30, _status(m2)

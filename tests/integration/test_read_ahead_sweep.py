"""Read-ahead for readers in no order (imapfs.1, Read-ahead): rg's
threads, `xargs -P4` over a shuffled list and rg over several folders at
once get the folder fetched ahead (imapfs status counts it) without the
server ever setting \\Seen; a few messages opened here and there fetch
nothing ahead, and a few more fetch no more than the bound the manual
gives (4 ahead per message opened).

Bodies and flags are checked with imaplib, on a Dovecot of this module's
own; each test has its own mailboxes and cache directory."""

import hashlib
import os
import random
import re
import subprocess
import tempfile

import pytest

import corpus
import imaputil
from liveutil import uniq

N = 300         # messages per folder: a few hundred
GROW = 4        # READSWEEP_GROW: messages ahead per message opened
SWEEP_MIN = 8   # READSWEEP_MIN: distinct opens that make a sweep


@pytest.fixture(scope="module")
def srv(fresh_servers):
    return fresh_servers("slash")


@pytest.fixture
def cache_dir():
    return os.path.join(tempfile.mkdtemp(prefix="sweep-test-"), "cache")


def _fill(imap, srv, n, tag, name=None):
    """A new mailbox of N unseen messages, every 7th mentioning an
    invoice; -> (name, {uid: body})."""
    c = imap(srv)
    name = name or uniq(tag)
    imaputil.create(c, name)
    date = imaputil.internaldate_str(1704103200)
    for i in range(n):
        lines = ["%s message %d line %04d" % (tag, i, k) for k in range(50)]
        if i % 7 == 3:
            lines.append("this one mentions an invoice")
        imaputil.append(c, name, [], date, corpus.msg_plain("%s %d" % (tag, i), lines))
    return name, _bodies(c, name)


def _bodies(c, name):
    """Every body of NAME in one UID FETCH, BODY.PEEK[] -> {uid: bytes}."""
    imaputil.examine(c, name)
    typ, dat = c.uid("FETCH", "1:*", "(BODY.PEEK[])")
    imaputil.check((typ, dat), "FETCH")
    out = {}
    for d in imaputil.fetch_items(dat):
        for k, v in d.items():
            if k.startswith("BODY["):
                out[int(d["UID"])] = v
    return out


def _seen(c, name):
    """UIDs of NAME with \\Seen, from one FETCH of every message's flags."""
    return {u for u, m in imaputil.fetch_meta(c, name).items()
            if "\\Seen" in m["FLAGS"]}


def _status(m):
    return os.getxattr(m.path, "user.imapfs.status").decode()


def _ahead(m):
    """imapfs status' read-ahead counters -> (messages queued, batches)."""
    st = _status(m)
    print("\n".join(x for x in st.splitlines() if x.startswith(("read-ahead:", "cache use:"))))
    got = re.search(r"^read-ahead: .*; (\d+) messages in (\d+) batches", st, re.M)
    assert got, "no read-ahead counters in status:\n" + st
    return int(got.group(1)), int(got.group(2))


def _misses(m):
    got = re.search(r"^cache use: .* (\d+) misses", _status(m), re.M)
    return int(got.group(1))


def _mount(mount, srv, cache_dir):
    return mount(srv, opts=["cache_dir=" + cache_dir])


def _hits(want):
    return sorted(u for u, b in want.items() if b"invoice" in b)


def test_rg_reads_ahead(srv, imap, mount, cache_dir):
    """rg -l: threads that open a folder's messages from its end, side
    by side. The folder is read ahead, and nothing gets \\Seen."""
    name, want = _fill(imap, srv, N, "Rg")
    m = _mount(mount, srv, cache_dir)
    d = os.path.join(m.path, name)
    r = subprocess.run(["rg", "-l", "invoice", d], capture_output=True, timeout=240)
    assert r.returncode == 0, r.stderr
    got = sorted(int(os.path.basename(x)[:-4]) for x in r.stdout.decode().split())
    assert got == _hits(want)
    queued, batches = _ahead(m)
    # all but the first few opens (and the messages then in flight) were
    # fetched ahead: without it, every one of them is a miss
    assert batches > 0 and queued >= N // 2, _status(m)
    assert _misses(m) <= N // 4, _status(m)
    assert _seen(imap(srv), name) == set(), "read-ahead set \\Seen"


def test_shuffled_parallel_cat_reads_ahead(srv, imap, mount, cache_dir):
    """xargs -P4 over the folder in a shuffled order: no order to follow,
    but a reader working through the folder; read-ahead starts after a
    few opens, every byte is the server's, and nothing gets \\Seen. The
    folder is larger than the 256 messages kept ahead of a reader in
    order: one in random order opens what was fetched late, and needs a
    larger allowance."""
    n = 800
    name, want = _fill(imap, srv, n, "Shuf")
    m = _mount(mount, srv, cache_dir)
    d = os.path.join(m.path, name)
    files = ["%d.eml" % u for u in sorted(want)]
    random.Random(15).shuffle(files)
    r = subprocess.run(["xargs", "-0", "-P4", "-n8", "sha256sum"], cwd=d,
                       input="\0".join(files).encode(), capture_output=True, timeout=240)
    assert r.returncode == 0, r.stderr
    sums = dict(line.split()[::-1] for line in r.stdout.decode().splitlines())
    assert sums == {"%d.eml" % u: hashlib.sha256(b).hexdigest() for u, b in want.items()}
    queued, batches = _ahead(m)
    assert batches > 0 and queued >= n // 2, _status(m)
    # 60 to 100 misses: the first opens, then those read-ahead had not
    # reached while its allowance grew. Following orders only (by the
    # chance of two opens in a row being neighbours): about 400
    assert _misses(m) <= n // 6, _status(m)
    assert _seen(imap(srv), name) == set(), "read-ahead set \\Seen"


def test_rg_over_several_folders(srv, imap, mount, cache_dir):
    """rg over a folder of folders: each is read ahead while rg goes
    through them (imapfs follows several at once)."""
    c = imap(srv)
    top = uniq("Acct")
    imaputil.create(c, top)
    want = {}
    for sub in ("a", "b", "c"):
        want[sub] = _fill(imap, srv, N // 2, "Acct" + sub, name=top + "/" + sub)[1]
    m = _mount(mount, srv, cache_dir)
    r = subprocess.run(["rg", "-l", "invoice", os.path.join(m.path, top)],
                       capture_output=True, timeout=240)
    assert r.returncode == 0, r.stderr
    got = sorted(os.path.relpath(x, os.path.join(m.path, top)) for x in r.stdout.decode().split())
    assert got == sorted("%s/%d.eml" % (s, u) for s in want for u in _hits(want[s]))
    queued, batches = _ahead(m)
    total = sum(len(w) for w in want.values())
    assert batches > 0 and queued >= total // 2, _status(m)
    for sub in want:
        assert _seen(c, top + "/" + sub) == set(), "read-ahead set \\Seen in " + sub


def test_scattered_opens_fetch_little(srv, imap, mount, cache_dir):
    """A few messages opened here and there, one at a time and far apart
    in the folder: nothing is fetched ahead. A few more (a program after
    all?) start read-ahead, but not of the whole folder: at most 4
    messages ahead per message opened."""
    name, want = _fill(imap, srv, N, "Few")
    m = _mount(mount, srv, cache_dir)
    d = os.path.join(m.path, name)
    uids = sorted(want)
    # every 29th message: never near one another, in no order
    picks = [uids[(i * 29 * 7) % N] for i in range(1, 11)]

    def read(some):
        for uid in some:
            with open(os.path.join(d, "%d.eml" % uid), "rb") as f:
                assert f.read() == want[uid]

    read(picks[:SWEEP_MIN - 2])
    assert _ahead(m) == (0, 0), _status(m)
    read(picks[SWEEP_MIN - 2:])
    queued, _ = _ahead(m)
    assert 0 < queued <= GROW * len(picks), _status(m)


def test_read_ahead_within_a_small_cache(srv, imap, mount, cache_dir):
    """A cache smaller than the folder: read-ahead holds at most a
    quarter of it, so what it fetched is still there when rg opens it
    (hits, not a fetch twice), and the cache stays within its size."""
    name, want = _fill(imap, srv, N, "Small")
    size = sum(len(b) for b in want.values())
    limit = 128 << 10
    assert size > 2 * limit
    m = mount(srv, opts=["cache_dir=" + cache_dir, "cache_size=%d" % limit])
    r = subprocess.run(["rg", "-l", "invoice", os.path.join(m.path, name)],
                       capture_output=True, timeout=240)
    assert r.returncode == 0, r.stderr
    assert sorted(int(os.path.basename(x)[:-4]) for x in r.stdout.decode().split()) == _hits(want)
    queued, _ = _ahead(m)
    got = re.search(r"^cache use: \d+ bodies, ([\d.]+) MiB of ([\d.]+) MiB; .* (\d+) evicted",
                    _status(m), re.M)
    used, evicted = float(got.group(1)), int(got.group(3))
    assert queued >= N // 2 and _misses(m) <= N // 4, _status(m)
    assert evicted > 0 and used <= limit / 2**20 + 0.05, _status(m)

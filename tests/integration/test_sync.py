"""imapfs sync (fs/cmd_sync.c; imapfs.1 Cache; issue 17): every body of
the named mailboxes into the cache ahead of time.

Against Dovecot with its rawlog: after `imapfs sync`, a new mount on the
same cache reads every message without one body FETCH; the server shows
no \\Seen (imaplib); a mailbox named limits it to that one; what cannot
be read, and a path that is no mount, are errors; a mount whose cache is
smaller than what is asked is told so.
"""

import os
import tempfile
import subprocess

import corpus
import imaputil
import transcript
from imaputil import personal_name, personal_rel
from liveutil import uniq, msg


def _boxes(s, c):
    out = []
    for tag, n in (("SyncA", 12), ("SyncB", 8)):
        leaf = uniq(tag)
        name = personal_name(s, leaf)
        imaputil.create(c, name)
        uids = [imaputil.append_uid(c, name, msg("%s %d" % (tag, i), ["line %d" % i] * (i * 50)))
                for i in range(n)]
        out.append((name, personal_rel(s, leaf), uids))
    big = corpus.msg_big("big one", 600 * 1024, 7)
    out[0][2].append(imaputil.append_uid(c, out[0][0], big))
    return out


def _sync(imapfs_bin, *args):
    return subprocess.run([imapfs_bin, "sync", *args], capture_output=True, text=True, timeout=300)


def test_sync_then_read_without_fetching(fresh_servers, mount, imapfs_bin):
    s = fresh_servers("slash", rawlog=True)
    c = transcript.connect(s)
    boxes = _boxes(s, c)
    cache = os.path.join(tempfile.mkdtemp(prefix="sync-"), "cache")
    m = mount(s, opts=["cache_dir=" + cache])
    r = _sync(imapfs_bin, m.path)
    assert r.returncode == 0, r.stderr
    assert "imapfs: sync: %d messages" % sum(len(b[2]) for b in boxes) in r.stderr.split("\n")[-2], r.stderr
    assert "\r" not in r.stderr    # no progress line when stderr is no terminal
    m.stop()
    # nothing was marked read
    for name, rel, uids in boxes:
        for u in uids:
            assert "\\Seen" not in imaputil.flags_of(c, name, u)
    # a new mount on the same cache reads everything without a body FETCH
    snap = transcript.mark(s)
    m = mount(s, opts=["cache_dir=" + cache])
    for name, rel, uids in boxes:
        imaputil.examine(c, name)
        for u in uids:
            with open(os.path.join(m.path, rel, "%d.eml" % u), "rb") as f:
                assert f.read() == imaputil.fetch_body(c, u)
    assert not transcript.find(transcript.since(s, snap), rb"BODY\.PEEK\[\]"), "fetched again"


def test_sync_named_mailbox_only(fresh_servers, mount, imapfs_bin):
    s = fresh_servers("slash", rawlog=True)
    c = transcript.connect(s)
    boxes = _boxes(s, c)
    m = mount(s)
    top = os.path.dirname(os.path.join(m.path, boxes[0][1])) or m.path
    r = _sync(imapfs_bin, "-q", top, os.path.basename(boxes[1][1]))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    st = subprocess.run([imapfs_bin, "status", m.path], capture_output=True, text=True).stdout
    assert " %d bodies" % len(boxes[1][2]) in st, st


def test_sync_errors(fresh_servers, mount, imapfs_bin):
    r = _sync(imapfs_bin, tempfile.mkdtemp(prefix="notamount-"))
    assert r.returncode == 1 and "not inside an imapfs mount" in r.stderr, r.stderr
    r = _sync(imapfs_bin)
    assert r.returncode == 1 and "usage" in r.stderr
    s = fresh_servers("slash")
    c = imaputil.connect(s)
    boxes = _boxes(s, c)
    m = mount(s, opts=["cache_size=100K"])
    r = _sync(imapfs_bin, m.path, "no-such-mailbox")
    assert r.returncode == 1 and "no-such-mailbox is no mailbox" in r.stderr, r.stderr
    r = _sync(imapfs_bin, m.path)
    assert r.returncode == 0, r.stderr
    assert "the cache holds at most" in r.stderr, r.stderr


def test_progress_on_a_terminal(fresh_servers, mount, imapfs_bin):
    import pty
    s = fresh_servers("slash")
    c = imaputil.connect(s)
    boxes = _boxes(s, c)
    m = mount(s)
    master, slave = pty.openpty()
    p = subprocess.Popen([imapfs_bin, "sync", m.path], stderr=slave, stdout=subprocess.DEVNULL)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert p.wait(timeout=120) == 0, out
    # every message of the mount (the server may hold other tests' too)
    n = sum(1 for _, _, files in os.walk(m.path) for f in files if f.endswith(".eml"))
    assert n >= sum(len(b[2]) for b in boxes)
    text = out.decode()
    assert "\rimapfs: sync: %d of %d messages" % (n, n) in text, text
    assert "imapfs: sync: %d messages" % n in text, text

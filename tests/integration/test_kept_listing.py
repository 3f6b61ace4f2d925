"""Listings kept with the cache across mounts (src/listing.c,
cache_listing.c, vfs_listing.c; imapfs.1 "Cache"; issue 17).

A folder listed once is, on the next mount with the same cache, shown
from its kept listing and brought up to date with one resync: no
`UID FETCH 1:*` of the whole folder (Dovecot's rawlog), and what another
client changed meanwhile (expunged, new, re-flagged, a recreated mailbox)
shows, checked against imaplib. A damaged listing is dropped and the
folder listed anew; the files are private; cache=no keeps none.
"""

import os
import tempfile
import stat

import imaputil
import transcript
from imaputil import personal_name, personal_rel
from liveutil import uniq, msg


def _box(s, n):
    c = transcript.connect(s)
    leaf = uniq("Kept")
    name = personal_name(s, leaf)
    imaputil.create(c, name)
    uids = [imaputil.append_uid(c, name, msg("kept %d" % i)) for i in range(n)]
    return c, name, personal_rel(s, leaf), uids


def _listed(d):
    return sorted(int(n[:-4]) for n in os.listdir(d) if n.endswith(".eml"))


def _listed_once(s, mount, n):
    """A fresh folder of N messages listed by a mount with a cache of its
    own, then unmounted: -> (imaplib session, name, rel, uids, cache)."""
    c, name, rel, uids = _box(s, n)
    cache = os.path.join(tempfile.mkdtemp(prefix="kept-"), "cache")
    m = mount(s, opts=["cache_dir=" + cache])
    assert _listed(os.path.join(m.path, rel)) == uids
    m.stop()
    return c, name, rel, uids, cache


def _full_listings(cmds):
    return transcript.find(cmds, rb"^UID FETCH 1:\* ")


def test_remount_catches_up(fresh_servers, mount):
    s = fresh_servers("slash", rawlog=True)
    c, name, rel, uids, cache = _listed_once(s, mount, 40)
    # what another client does while nothing is mounted
    imaputil.check(c.select(imaputil.quote(name)), "SELECT")
    for u in uids[3:5]:
        c.uid("STORE", str(u), "+FLAGS", "(\\Deleted)")
    c.uid("EXPUNGE", "%d:%d" % (uids[3], uids[4]))
    c.uid("STORE", str(uids[10]), "+FLAGS", "(\\Flagged)")
    new = imaputil.append_uid(c, name, msg("arrived meanwhile"))
    snap = transcript.mark(s)
    m = mount(s, opts=["cache_dir=" + cache])
    d = os.path.join(m.path, rel)
    want = sorted(set(uids) - set(uids[3:5]) | {new})
    assert _listed(d) == want == imaputil.uids(c, name)
    assert b"\\Flagged" in os.getxattr(os.path.join(d, "%d.eml" % uids[10]), "user.imap.flags")
    assert b"\\Flagged" not in os.getxattr(os.path.join(d, "%d.eml" % uids[11]), "user.imap.flags")
    cmds = transcript.since(s, snap)
    assert not _full_listings(cmds), "listed anew: %r" % cmds
    m.stop()


def test_recreated_mailbox_is_listed_anew(fresh_servers, mount):
    s = fresh_servers("slash", rawlog=True)
    c, name, rel, uids, cache = _listed_once(s, mount, 5)
    imaputil.check(c.delete(imaputil.quote(name)), "DELETE")
    imaputil.create(c, name)
    fresh = [imaputil.append_uid(c, name, msg("second life %d" % i)) for i in range(3)]
    m = mount(s, opts=["cache_dir=" + cache])
    d = os.path.join(m.path, rel)
    assert _listed(d) == fresh == imaputil.uids(c, name)
    with open(os.path.join(d, "%d.eml" % fresh[0]), "rb") as f:
        assert b"second life 0" in f.read()


def test_damaged_listing_is_dropped(fresh_servers, mount):
    s = fresh_servers("slash", rawlog=True)
    c, name, rel, uids, cache = _listed_once(s, mount, 5)
    kept = []
    for root, dirs, files in os.walk(cache):
        if os.path.basename(root) == "listings":
            assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
            for f in files:
                p = os.path.join(root, f)
                assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
                kept.append(p)
    assert kept, "no listing kept"
    for p in kept:
        with open(p, "r+b") as f:
            f.seek(20)
            b = f.read(1)
            f.seek(20)
            f.write(bytes([b[0] ^ 0xff]))
    snap = transcript.mark(s)
    m = mount(s, opts=["cache_dir=" + cache])
    assert _listed(os.path.join(m.path, rel)) == uids
    assert "damaged" in m.log()
    assert _full_listings(transcript.since(s, snap))


def test_no_listing_without_a_disk_cache(fresh_servers, mount):
    s = fresh_servers("slash")
    c, name, rel, uids = _box(s, 3)
    m = mount(s, opts=["cache=no"])
    assert _listed(os.path.join(m.path, rel)) == uids
    m.stop()
    for root, dirs, files in os.walk(m.workdir):
        assert "listings" not in dirs, root

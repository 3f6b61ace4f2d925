"""New messages: create + write + close in a mailbox directory = exactly one
APPEND of exactly the bytes written, at close; the file then shows as
UID.eml. cp, cp -p (INTERNALDATE = mtime), user.imap.flags set before
close, empty files, a 50 MB message, cp -r (CREATE + APPENDs), rsync -r /
-rt (hidden temporary name, then rename) and dot files (held until renamed
to a visible name, discarded by unlink).

Every check is made with imaplib against the server, each test in a
mailbox of its own on a Dovecot of this module's own.
"""

import errno
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading

import pytest

import corpus
import imaputil
from imaputil import personal_name, personal_rel

EML_OK = "each APPENDed message must show as <UID>.eml"


_msg = corpus.tagged("write test", "w", ["body line"])


def _box(c, server, name):
    """Create personal mailbox NAME (UTF-8) -> (server name, rel path)."""
    sname = personal_name(server, name)
    imaputil.create(c, sname)
    return sname, personal_rel(server, name)


def _emls(d):
    return sorted(n for n in os.listdir(d) if n.endswith(".eml"))


def _srcdir(files):
    """A temp dir (outside any mount) holding FILES {name: bytes}."""
    d = tempfile.mkdtemp(prefix="imapfs-src-")
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    return d


def _run(argv, timeout=120):
    return subprocess.run(argv, capture_output=True, timeout=timeout)


def _new(c, sname, before):
    """-> {uid: body} of the messages in SNAME not in BEFORE (uids)."""
    now = imaputil.uids(c, sname)
    return {u: imaputil.fetch_body(c, u) for u in now if u not in before}


def _alias(d, name, uid):
    """NAME (written, not listed) resolves to the stored message UID for a
    minute (imapfs.1: the name a file was written under)."""
    assert name not in os.listdir(d), "the written name must not stay listed"
    a, b = os.stat(os.path.join(d, name)), os.stat(os.path.join(d, "%d.eml" % uid))
    assert (a.st_ino, a.st_size, a.st_mtime) == (b.st_ino, b.st_size, b.st_mtime), \
        "%s does not resolve to the stored message UID %d" % (name, uid)


def test_cp_appends_exactly_once(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    before = imaputil.uids(c, "INBOX")
    data = _msg("cp-inbox", ["Hello from cp.", "Second line."])
    src = _srcdir({"file.eml": data})
    m = mount(s)
    inbox = os.path.join(m.path, "INBOX")
    r = _run(["cp", os.path.join(src, "file.eml"), inbox + "/"])
    assert r.returncode == 0, r.stderr
    # Right after cp returns, without any wait.
    new = _new(c, "INBOX", before)
    assert len(new) == 1, "cp of one file: %d new messages on the server " \
        "(expected exactly 1)" % len(new)
    uid, body = next(iter(new.items()))
    assert body == data, "APPENDed bytes differ from the bytes written"
    names = os.listdir(inbox)
    assert "%d.eml" % uid in names, "%s; INBOX lists %r" % (EML_OK, names)
    _alias(inbox, "file.eml", uid)
    with open(os.path.join(inbox, "%d.eml" % uid), "rb") as f:
        assert f.read() == data
    assert os.stat(os.path.join(inbox, "%d.eml" % uid)).st_size == len(data)
    # No second APPEND later (on release or unmount).
    m.stop(cleanup=False)
    again = _new(c, "INBOX", before)
    assert list(again) == [uid], "after unmount the server has %r new " \
        "messages, expected just UID %d" % (sorted(again), uid)


def test_cp_p_sets_internaldate(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    sname, rel = _box(c, s, "CpP")
    data = _msg("cp-p")
    src = _srcdir({"dated.eml": data})
    when = 1600000000            # 13-Sep-2020 12:26:40 UTC
    os.utime(os.path.join(src, "dated.eml"), (when, when))
    m = mount(s)
    d = os.path.join(m.path, rel)
    r = _run(["cp", "-p", os.path.join(src, "dated.eml"), d + "/"])
    new = _new(c, sname, [])
    assert len(new) == 1, "cp -p: %d messages on the server (stderr %r)" % (
        len(new), r.stderr)
    uid, body = next(iter(new.items()))
    assert body == data
    idate = imaputil.fetch_meta(c, sname)[uid]["INTERNALDATE"]
    assert imaputil.internaldate_epoch(idate) == when, \
        "INTERNALDATE %r, source mtime %d" % (idate, when)
    assert int(os.stat(os.path.join(d, "%d.eml" % uid)).st_mtime) == when
    assert r.returncode == 0, "cp -p failed: %r" % r.stderr


def test_flags_set_before_close(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    sname, rel = _box(c, s, "FlagNew")
    data = _msg("flags-before-close")
    m = mount(s)
    p = os.path.join(m.path, rel, "new.eml")
    with open(p, "wb") as f:
        f.write(data)
        f.flush()
        os.setxattr(f.fileno(), "user.imap.flags", b"\\Flagged")
    new = _new(c, sname, [])
    assert len(new) == 1, "%d messages appended" % len(new)
    uid, body = next(iter(new.items()))
    assert body == data
    flags = imaputil.flags_of(c, sname, uid)
    assert "\\Flagged" in flags, "appended message has flags %r" % flags
    assert "\\Seen" not in flags, flags


def test_empty_file_appends_nothing(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    sname, rel = _box(c, s, "EmptyFile")
    m = mount(s)
    p = os.path.join(m.path, rel, "empty.eml")
    with open(p, "wb"):
        pass
    assert imaputil.status(c, sname)["MESSAGES"] == 0, \
        "an empty file was APPENDed"
    m.stop(cleanup=False)
    assert imaputil.status(c, sname)["MESSAGES"] == 0, \
        "an empty file was APPENDed (after unmount)"


@pytest.mark.timeout_s(240)
def test_cp_50mb_byte_identical(fresh_server, mount, imap):
    s = fresh_server
    if s.layout != "slash":
        pytest.skip("the 50 MB append runs once (slash layout)")
    c = imap(s)
    sname, rel = _box(c, s, "Huge")
    data = corpus.msg_big("fifty megabytes", 50 * 1024 * 1024, 50)
    assert len(data) > 49 * 1024 * 1024
    want = hashlib.sha256(data).hexdigest()
    src = _srcdir({"huge.eml": data})
    del data
    m = mount(s)
    d = os.path.join(m.path, rel)
    r = _run(["cp", os.path.join(src, "huge.eml"), d + "/"], timeout=200)
    assert r.returncode == 0, r.stderr
    got = imaputil.uids(c, sname)
    assert len(got) == 1, "%d messages on the server" % len(got)
    size = imaputil.fetch_meta(c, sname)[got[0]]["RFC822.SIZE"]
    h = hashlib.sha256()
    chunk = 8 * 1024 * 1024
    for off in range(0, size, chunk):
        dat = imaputil.check(c.uid("FETCH", str(got[0]),
                                   "(BODY.PEEK[]<%d.%d>)" % (off, chunk)),
                             "FETCH")
        part = [v for it in imaputil.fetch_items(dat)
                for k, v in it.items() if k.startswith("BODY[")][0]
        h.update(part)
    assert h.hexdigest() == want, "50 MB message not byte-identical"
    assert _emls(d) == ["%d.eml" % got[0]]
    shutil.rmtree(src)


def test_cp_r_creates_mailbox(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    files = {"a.eml": _msg("cpr-a"), "b.eml": _msg("cpr-b", ["x", "y"]),
             "c.eml": _msg("cpr-c", ["z"])}
    src = _srcdir(files)
    m = mount(s)
    rel = personal_rel(s, "NewBox")
    r = _run(["cp", "-r", src, os.path.join(m.path, rel)])
    sname = personal_name(s, "NewBox")
    assert sname.encode() in imaputil.mailbox_names(c), \
        "cp -r did not CREATE %r (stderr %r)" % (sname, r.stderr)
    got = imaputil.bodies(c, sname)
    assert sorted(got.values()) == sorted(files.values()), \
        "server has %d messages, expected each of %d files once" % (
            len(got), len(files))
    assert _emls(os.path.join(m.path, rel)) == sorted(
        "%d.eml" % u for u in got)
    assert r.returncode == 0, "cp -r failed: %r" % r.stderr


def test_cp_r_non_ascii_mailbox(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    box = "Boîte à lettres ✉"
    files = {"one.eml": _msg("nonascii-1"), "two.eml": _msg("nonascii-2")}
    src = _srcdir(files)
    m = mount(s)
    rel = personal_rel(s, box)
    r = _run(["cp", "-r", src, os.path.join(m.path, rel)])
    sname = personal_name(s, box)      # modified UTF-7
    assert "&" in sname
    names = imaputil.mailbox_names(c)
    assert sname.encode() in names, "server lists %r, expected %r " \
        "(stderr %r)" % (sorted(names), sname, r.stderr)
    got = imaputil.bodies(c, sname)
    assert sorted(got.values()) == sorted(files.values())
    parent = os.path.dirname(os.path.join(m.path, rel))
    assert box in os.listdir(parent), "mount shows %r" % os.listdir(parent)
    assert _emls(os.path.join(m.path, rel)) == sorted(
        "%d.eml" % u for u in got)
    assert r.returncode == 0, r.stderr


def _rsync(s, c, mount, box, flags, nfiles=4):
    sname, rel = _box(c, s, box)
    t0 = 1500000000
    files = {}
    for i in range(nfiles):
        files["m%d.eml" % i] = _msg("%s-%d" % (box, i), ["n%d" % i] * (i + 1))
    src = _srcdir(files)
    mtimes = {}
    for i, name in enumerate(sorted(files)):
        when = t0 + 86400 * i + 17
        os.utime(os.path.join(src, name), (when, when))
        mtimes[files[name]] = when
    m = mount(s)
    d = os.path.join(m.path, rel)
    r = _run(["rsync"] + flags + [src + "/", d + "/"])
    got = imaputil.bodies(c, sname)
    assert sorted(got.values()) == sorted(files.values()), \
        "rsync %s: server has %d messages for %d files (each must be " \
        "APPENDed exactly once; stderr %r)" % (" ".join(flags), len(got),
                                               len(files),
                                               r.stderr[-600:])
    assert r.returncode == 0, "rsync exited %d: %r" % (r.returncode,
                                                       r.stderr[-600:])
    listed = sorted(os.listdir(d))
    assert listed == sorted("%d.eml" % u for u in got), \
        "after rsync the mailbox lists %r" % listed
    byname = {b: u for u, b in got.items()}
    for n in files:
        _alias(d, n, byname[files[n]])
    return sname, got, mtimes


def test_rsync_r(fresh_server, mount, imap):
    s = fresh_server
    _rsync(s, imap(s), mount, "RsyncR", ["-r"], nfiles=20)


def test_rsync_rt_sets_internaldate(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    sname, got, mtimes = _rsync(s, c, mount, "RsyncRT", ["-rt"])
    meta = imaputil.fetch_meta(c, sname)
    for uid, body in got.items():
        idate = imaputil.internaldate_epoch(meta[uid]["INTERNALDATE"])
        assert idate == mtimes[body], "UID %d: INTERNALDATE %r, source " \
            "mtime %d" % (uid, meta[uid]["INTERNALDATE"], mtimes[body])


def test_dotfile_held_until_renamed(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    sname, rel = _box(c, s, "DotHeld")
    data = _msg("dotfile")
    m = mount(s)
    d = os.path.join(m.path, rel)
    tmp = os.path.join(d, ".draft.eml.Xy12")
    with open(tmp, "wb") as f:
        f.write(data)
    assert imaputil.status(c, sname)["MESSAGES"] == 0, \
        "a file named .* was APPENDed before being renamed"
    os.rename(tmp, os.path.join(d, "draft.eml"))
    got = imaputil.bodies(c, sname)
    assert list(got.values()) == [data], "after the rename: %d messages" \
        % len(got)
    listed = sorted(os.listdir(d))
    assert listed == ["%d.eml" % u for u in got], listed
    _alias(d, "draft.eml", list(got)[0])
    assert not os.path.exists(tmp)
    m.stop(cleanup=False)
    assert len(imaputil.uids(c, sname)) == 1


def test_dotfile_unlinked_is_discarded(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    sname, rel = _box(c, s, "DotGone")
    m = mount(s)
    d = os.path.join(m.path, rel)
    tmp = os.path.join(d, ".partial")
    with open(tmp, "wb") as f:
        f.write(_msg("discard"))
    os.unlink(tmp)
    assert not os.path.exists(tmp)
    assert ".partial" not in os.listdir(d)
    assert imaputil.status(c, sname)["MESSAGES"] == 0
    m.stop(cleanup=False)
    assert imaputil.status(c, sname)["MESSAGES"] == 0, \
        "an unlinked .* file was APPENDed"


def test_python_write_in_pieces(fresh_server, mount, imap):
    """os.open(O_CREAT|O_EXCL) + unaligned writes + close: one message with
    all the bytes; the written name is no longer listed, and resolves to
    the stored message."""
    s = fresh_server
    c = imap(s)
    sname, rel = _box(c, s, "PyWrite")
    data = _msg("python-write", ["a" * 100] * 50)
    m = mount(s)
    fd = os.open(os.path.join(m.path, rel, "x.eml"),
                 os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        # several writes, not aligned
        for i in range(0, len(data), 777):
            assert os.write(fd, data[i:i + 777]) == len(data[i:i + 777])
    finally:
        os.close(fd)
    got = imaputil.bodies(c, sname)
    assert list(got.values()) == [data]
    _alias(os.path.join(m.path, rel), "x.eml", list(got)[0])


def test_append_waits_for_close(fresh_server, mount, imap):
    """Nothing reaches the server while the writer still has the file
    open; the whole message does at close."""
    s = fresh_server
    c = imap(s)
    sname, rel = _box(c, s, "AtClose")
    data = _msg("at-close", ["line %d" % i for i in range(200)])
    m = mount(s)
    p = os.path.join(m.path, rel, "slow.eml")
    f = open(p, "wb", buffering=0)
    try:
        f.write(data[:1000])
        os.fsync(f.fileno())
        assert imaputil.status(c, sname)["MESSAGES"] == 0, \
            "APPEND before close (after fsync)"
        assert "slow.eml" in os.listdir(os.path.join(m.path, rel)), \
            "a file being written must be visible under its name"
        f.write(data[1000:])
        assert imaputil.status(c, sname)["MESSAGES"] == 0
    finally:
        f.close()
    assert list(imaputil.bodies(c, sname).values()) == [data]


def test_out_of_order_writes(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    sname, rel = _box(c, s, "Pwrite")
    data = _msg("pwrite", ["p" * 70] * 300)
    m = mount(s)
    fd = os.open(os.path.join(m.path, rel, "pw.eml"),
                 os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        half = len(data) // 2
        os.pwrite(fd, data[half:], half)
        os.pwrite(fd, data[:half], 0)
    finally:
        os.close(fd)
    assert list(imaputil.bodies(c, sname).values()) == [data]


def test_reader_close_does_not_append_early(fresh_server, mount, imap):
    """Another descriptor opened read-only on the new file and closed while
    the writer is still writing (a file manager, an indexer, `cat`) must
    not APPEND the half-written message."""
    s = fresh_server
    c = imap(s)
    sname, rel = _box(c, s, "ReaderClose")
    data = _msg("reader-close", ["r" * 60] * 100)
    m = mount(s)
    p = os.path.join(m.path, rel, "growing.eml")
    f = open(p, "wb", buffering=0)
    err = None
    try:
        f.write(data[:500])
        with open(p, "rb") as r:
            assert r.read() == data[:500]
        try:
            f.write(data[500:])
        except OSError as e:
            err = e
    finally:
        try:
            f.close()
        except OSError as e:
            err = err or e
    got = list(imaputil.bodies(c, sname).values())
    assert got == [data], "server has %d message(s) of sizes %r, expected " \
        "one of %d bytes (writer error: %r)" % (
            len(got), [len(g) for g in got], len(data), err)
    assert err is None, err


def test_shell_redirect_and_tee(fresh_server, mount, imap):
    """`cat src > MBOX/x.eml` (the shell opens, dup2()s and closes the
    first descriptor before anything is written) and `tee`."""
    s = fresh_server
    c = imap(s)
    sname, rel = _box(c, s, "Redirect")
    a, b = _msg("redirect"), _msg("tee")
    src = _srcdir({"a.eml": a, "b.eml": b})
    m = mount(s)
    d = os.path.join(m.path, rel)
    r = subprocess.run(["sh", "-c", 'cat "$1" > "$2"', "sh",
                        os.path.join(src, "a.eml"), os.path.join(d, "x.eml")],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(src, "b.eml"), "rb") as f:
        r = subprocess.run(["tee", os.path.join(d, "y.eml")], stdin=f,
                           capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    got = imaputil.bodies(c, sname)
    assert sorted(got.values()) == sorted([a, b])
    assert sorted(os.listdir(d)) == sorted("%d.eml" % u for u in got)


def test_new_message_is_a_normal_message(fresh_server, mount, imap):
    """After the APPEND, UID.eml behaves like any message: its xattrs,
    flags can be set on it, rm expunges it."""
    s = fresh_server
    c = imap(s)
    sname, rel = _box(c, s, "AfterAppend")
    data = _msg("after-append")
    m = mount(s)
    d = os.path.join(m.path, rel)
    with open(os.path.join(d, "n.eml"), "wb") as f:
        f.write(data)
    (uid,) = imaputil.uids(c, sname)
    p = os.path.join(d, "%d.eml" % uid)
    assert os.getxattr(p, "user.imap.uid").decode() == str(uid)
    assert os.stat(p).st_size == len(data)
    os.setxattr(p, "user.imap.flags", b"\\Answered $Done")
    assert imaputil.flags_of(c, sname, uid) == {"\\Answered", "$Done"}
    os.unlink(p)
    assert imaputil.uids(c, sname) == []
    assert os.listdir(d) == []


def test_dotfile_renamed_into_other_mailbox(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    a, arel = _box(c, s, "DotFrom")
    b, brel = _box(c, s, "DotTo")
    data = _msg("dot-across")
    m = mount(s)
    tmp = os.path.join(m.path, arel, ".incoming")
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, os.path.join(m.path, brel, "arrived.eml"))
    assert imaputil.uids(c, a) == []
    assert list(imaputil.bodies(c, b).values()) == [data]
    assert os.listdir(os.path.join(m.path, arel)) == []


@pytest.mark.parametrize("where", ["root", "noselect"])
def test_create_outside_a_mailbox_fails(fresh_server, mount, imap, where):
    """A file can only be created in a selectable mailbox; elsewhere the
    create fails and nothing is appended anywhere."""
    s = fresh_server
    c = imap(s)
    child = personal_name(s, "NsParent", "Child")
    if child.encode() not in imaputil.mailbox_names(c):
        imaputil.create(c, child)
    names = imaputil.mailbox_names(c)
    par = personal_name(s, "NsParent").encode()
    if where == "noselect" and par in names and not any(
            a.lower() == "\\noselect" for a in names[par]):
        pytest.skip("the server made NsParent selectable")
    counts = {n: imaputil.status(c, n)["MESSAGES"] for n, attrs in
              names.items() if not any(a.lower() in ("\\noselect",
                                                     "\\nonexistent")
                                       for a in attrs)}
    m = mount(s)
    d = m.path if where == "root" else os.path.join(
        m.path, personal_rel(s, "NsParent"))
    with pytest.raises(OSError) as ei:
        with open(os.path.join(d, "lost.eml"), "wb") as f:
            f.write(_msg("nowhere"))
    assert ei.value.errno == errno.EPERM, ei.value
    after = {n: imaputil.status(c, n)["MESSAGES"] for n in counts}
    assert after == counts
    assert "lost.eml" not in os.listdir(d)


# ---------------------------------------------------------------- no UIDPLUS


def test_cp_without_uidplus_shows_new_uid(fresh_servers, mount, imap):
    """No APPENDUID: the file must still show under the server's UID."""
    s = fresh_servers("slash", drop_caps=("UIDPLUS",))
    c = imap(s)
    sname, rel = _box(c, s, "NoAppendUid")
    imaputil.append_uid(c, sname, _msg("already-there"))
    before = imaputil.uids(c, sname)
    data = _msg("no-appenduid")
    src = _srcdir({"f.eml": data})
    m = mount(s)
    d = os.path.join(m.path, rel)
    assert _emls(d) == ["%d.eml" % u for u in before]
    r = _run(["cp", os.path.join(src, "f.eml"), d + "/"])
    assert r.returncode == 0, r.stderr
    new = _new(c, sname, before)
    assert list(new.values()) == [data]
    assert sorted(os.listdir(d)) == sorted("%d.eml" % u for u in
                                           before + list(new))


def test_concurrent_writers(fresh_server, mount, imap):
    """Several processes' worth of writers at once, into one mailbox and
    two: every file appended exactly once, every UID.eml listed."""
    s = fresh_server
    c = imap(s)
    a, arel = _box(c, s, "ConcA")
    b, brel = _box(c, s, "ConcB")
    m = mount(s)
    want = {a: [], b: []}
    errors = []

    def writer(k):
        try:
            for i in range(8):
                sname, rel = (a, arel) if (k + i) % 2 else (b, brel)
                data = _msg("conc-%d-%d" % (k, i), ["w%d" % k] * (i * 40 + 1))
                want[sname].append(data)
                with open(os.path.join(m.path, rel, "c%d-%d.eml" % (k, i)),
                          "wb") as f:
                    f.write(data[:len(data) // 2])
                    f.write(data[len(data) // 2:])
        except Exception as e:      # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for sname, rel in ((a, arel), (b, brel)):
        got = imaputil.bodies(c, sname)
        assert sorted(got.values()) == sorted(want[sname]), \
            "%s: %d messages, %d written" % (sname, len(got),
                                              len(want[sname]))
        assert sorted(os.listdir(os.path.join(m.path, rel))) == sorted(
            "%d.eml" % u for u in got)


def test_two_write_handles_one_append(fresh_server, mount, imap):
    """The same new file opened twice for writing: one APPEND with all
    the bytes, done by the time the last close returns."""
    s = fresh_server
    c = imap(s)
    sname, rel = _box(c, s, "TwoHandles")
    data = _msg("two-handles", ["t" * 50] * 80)
    m = mount(s)
    p = os.path.join(m.path, rel, "two.eml")
    fd1 = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644)
    fd2 = os.open(p, os.O_WRONLY)
    half = len(data) // 2
    os.pwrite(fd1, data[:half], 0)
    os.pwrite(fd2, data[half:], half)
    os.close(fd1)
    assert imaputil.status(c, sname)["MESSAGES"] == 0, \
        "APPEND while another write handle is still open"
    os.close(fd2)
    assert list(imaputil.bodies(c, sname).values()) == [data], \
        "after the last close the server must hold the whole message"


def test_unlink_while_writing_discards(fresh_server, mount, imap):
    """rm of a new file whose writer is still writing: at close nothing is
    appended (the file is gone, as on any file system)."""
    s = fresh_server
    c = imap(s)
    sname, rel = _box(c, s, "UnlinkOpen")
    m = mount(s)
    p = os.path.join(m.path, rel, "doomed.eml")
    f = open(p, "wb", buffering=0)
    try:
        f.write(_msg("unlink-open"))
        os.unlink(p)
        assert not os.path.exists(p)
    finally:
        try:
            f.close()
        except OSError:
            pass
    assert imaputil.status(c, sname)["MESSAGES"] == 0, \
        "a file removed before its close was appended"
    m.stop(cleanup=False)
    assert imaputil.status(c, sname)["MESSAGES"] == 0


def test_rmdir_with_file_being_written(fresh_server, mount, imap):
    """A mailbox holding a new file that is still open is not empty: rmdir
    is ENOTEMPTY, and the file is appended there at close."""
    s = fresh_server
    c = imap(s)
    sname, rel = _box(c, s, "BusyBox")
    data = _msg("busy")
    m = mount(s)
    d = os.path.join(m.path, rel)
    f = open(os.path.join(d, "busy.eml"), "wb", buffering=0)
    try:
        f.write(data)
        with pytest.raises(OSError) as ei:
            os.rmdir(d)
        assert ei.value.errno == errno.ENOTEMPTY, ei.value
        assert sname.encode() in imaputil.mailbox_names(c)
    finally:
        f.close()
    assert list(imaputil.bodies(c, sname).values()) == [data]

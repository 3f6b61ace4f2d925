"""Real shell tools on a mount of the real Dovecot: they exit 0, nothing
is duplicated, nothing is lost, and each user action costs the fewest IMAP
commands (issue 12).

One file of about 770 lines on purpose: all its tests share the module's
one Dovecot (rawlog on, for the command counts) and the helpers below
that compare the server's state and what the mount sent (fill, contents,
bodies_by_mid, only, sh); split, each part would start a Dovecot of its
own and import the helpers from a module made just for them.

Every test checks three things: the tool's exit status; the server's
state through imaplib (messages by Message-ID, bodies, flags,
INTERNALDATE); and what the mount sent, from Dovecot's rawlog
(transcript.py): how many APPEND / UID MOVE / UID COPY / UID EXPUNGE it
took, and never EXPUNGE or CLOSE (they remove every \\Deleted message of
a mailbox).

Source mailboxes start at UID 101 (Dovecot.make_mailbox_from_uid) and
destinations at 1, so the name a message was moved to (Dst/101.eml) is
never also the name of a real message there: a stat of it succeeds only
through the alias that a move leaves behind.
"""

import os
import re
import subprocess
import tarfile
import tempfile
import time

import pytest

import corpus
import imaputil
import transcript
from imaputil import internaldate_epoch, internaldate_str

FLAG_LETTERS = {"S": "\\Seen", "R": "\\Answered", "F": "\\Flagged",
                "D": "\\Draft", "P": "$Forwarded"}


@pytest.fixture(scope="module")
def s(fresh_servers):
    return fresh_servers("slash", rawlog=True)


@pytest.fixture
def c(s):
    c = transcript.connect(s)
    yield c
    try:
        c.logout()
    except Exception:
        pass


def _epoch(y, mo, d):
    import calendar
    return calendar.timegm((y, mo, d, 12, 0, 0, 0, 0, 0))


def _msg(tag, i, subject=None, frm="Alice <alice@example.org>"):
    return corpus.msg_plain(subject or "%s %d" % (tag, i),
                            ["body of %s %d" % (tag, i)], frm=frm,
                            msgid="%s-%d-%d" % (tag, i, time.monotonic_ns()))


def fill(s, c, box, n, flags=(), subjects=None):
    """Mailbox BOX holding N messages from UID 101, the i-th with
    INTERNALDATE 2024-01-(i+1) and FLAGS[i] when given. -> dict uid ->
    body."""
    s.make_mailbox_from_uid(box, 101)
    out = {}
    for i in range(n):
        body = _msg(box, i, subjects[i] if subjects else None)
        uid = imaputil.append_uid(c, box, body,
                                  flags[i] if i < len(flags) else (),
                                  internaldate_str(_epoch(2024, 1, i + 1)))
        out[uid] = body
    assert sorted(out) == list(range(101, 101 + n))
    return out


def _mid(body):
    m = re.search(rb"(?im)^Message-ID:[ \t]*(<[^>\r\n]*>)", body)
    return m.group(1) if m else None


def contents(c, box):
    """-> dict uid -> (body, flags set, INTERNALDATE epoch)."""
    meta = imaputil.fetch_meta(c, box)
    return {u: (imaputil.fetch_body(c, u),
                {f for f in m["FLAGS"] if f.lower() != "\\recent"},
                internaldate_epoch(m["INTERNALDATE"]))
            for u, m in meta.items()}


def bodies_by_mid(c, box):
    out = {}
    for u, (body, _, _) in contents(c, box).items():
        assert _mid(body) not in out, "%s holds %r twice" % (box, _mid(body))
        out[_mid(body)] = body
    return out


def sh(cmd, cwd=None):
    r = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", cmd], cwd=cwd,
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, "%s\nexited %d:\n%s" % (cmd, r.returncode,
                                                      r.stderr)
    return r


def only(cmds, **want):
    """The changing commands in CMDS are exactly WANT (APPEND=1,
    MOVE=3, UID_EXPUNGE=1 ...; everything else 0)."""
    want = {k.replace("_", " "): v for k, v in want.items()}
    got = transcript.counts(cmds)
    exp = {k: want.get(k, 0) for k in got}
    assert got == exp, "commands sent %r, want %r:\n%r" % (
        got, exp, [x for x in cmds if re.match(
            rb"^(APPEND|UID (MOVE|COPY|EXPUNGE|STORE)|EXPUNGE|CLOSE)", x)])


def _local():
    """A local directory (not on the mount)."""
    return tempfile.mkdtemp(prefix="imapfs-local-")


# ---------------------------------------------------------------- moves


def _moves(s, c, mount, tag, n, pick, cmd, subjects=None):
    """N messages in TAG-Src, the uids PICK moved by CMD (formatted with
    src, dst) into TAG-Dst; checks state, transcript and the alias."""
    src, dst = tag + "Src", tag + "Dst"
    before = fill(s, c, src, n, subjects=subjects)
    imaputil.create(c, dst)
    m = mount(s)
    snap = transcript.mark(s)
    sh(cmd.format(src=os.path.join(m.path, src),
                  dst=os.path.join(m.path, dst)))
    cmds = transcript.since(s, snap)
    moved = {_mid(before[u]): before[u] for u in pick}
    assert bodies_by_mid(c, dst) == moved
    assert bodies_by_mid(c, src) == {_mid(b): b for u, b in before.items()
                                     if u not in pick}
    only(cmds, MOVE=len(pick))
    # the name each message was moved to resolves to it, and only to it;
    # the listing shows the real names only
    d = os.path.join(m.path, dst)
    real = {"%d.eml" % u for u in imaputil.uids(c, dst)}
    assert set(os.listdir(d)) == real
    for u in pick:
        with open(os.path.join(d, "%d.eml" % u), "rb") as f:
            assert f.read() == before[u], "%s/%d.eml" % (dst, u)


def test_mv_t_several_sources(s, c, mount):
    _moves(s, c, mount, "MvT", 4, [101, 102, 104],
           "mv -t {dst}/ {src}/101.eml {src}/102.eml {src}/104.eml")


def test_xargs_mv(s, c, mount):
    subjects = ["from boss %d" % i if i % 2 else "other %d" % i
                for i in range(6)]
    _moves(s, c, mount, "Xargs", 6, [101 + i for i in range(6) if i % 2],
           "grep -l '^Subject: from boss' {src}/*.eml | "
           "xargs -r mv -t {dst}/", subjects=subjects)


def test_find_exec_mv(s, c, mount):
    _moves(s, c, mount, "Find", 10, list(range(101, 111)),
           "find {src} -name '1??.eml' -exec mv -t {dst}/ {{}} +")


# ---------------------------------------------------------------- rsync


def _backup(s, c, mount, box, flags, xattrs):
    """Fill BOX, rsync it out of the mount; -> (mount, backup dir, the
    box's contents). Checks what rsync sees: UID names, INTERNALDATE
    mtimes, the server's bytes, flags as user.imap.flags with -X."""
    fill(s, c, box, 5, flags=flags)
    src = contents(c, box)
    m = mount(s)
    bk = tempfile.mkdtemp(prefix="imapfs-backup-")
    opt = "-aX" if xattrs else "-a"
    snap = transcript.mark(s)
    sh("rsync %s %s/ %s/" % (opt, os.path.join(m.path, box), bk))
    only(transcript.since(s, snap))
    assert sorted(os.listdir(bk)) == sorted("%d.eml" % u for u in src)
    for u, (body, fl, date) in src.items():
        p = os.path.join(bk, "%d.eml" % u)
        with open(p, "rb") as f:
            assert f.read() == body
        assert int(os.stat(p).st_mtime) == date
        if xattrs:
            assert set(os.getxattr(p, "user.imap.flags").decode().split()) \
                == fl
    assert contents(c, box) == src, "reading changed the mailbox"
    return m, bk, src


def _restore_twice(s, c, m, bk, src, box, opt, mount):
    dst = os.path.join(m.path, box)
    snap = transcript.mark(s)
    sh("rsync %s %s/ %s/" % (opt, bk, dst))
    only(transcript.since(s, snap), APPEND=len(src))
    got = contents(c, box)
    assert len(got) == len(src), "%d messages restored from %d files" % (
        len(got), len(src))
    want = {_mid(b): (b, fl, d) for b, fl, d in src.values()}
    have = {_mid(b): (b, fl, d) for b, fl, d in got.values()}
    assert set(have) == set(want)
    for k, (b, fl, d) in want.items():
        assert have[k][0] == b and have[k][2] == d, k
        if "X" in opt:
            assert have[k][1] == fl, "%s: flags %r, want %r" % (
                k, have[k][1], fl)
    # again on a new mount: the names the first run left resolve for a
    # minute (rsync would find them and send nothing); a new mount has
    # none, so only the check for identical messages keeps it from
    # appending everything again
    m.stop(cleanup=False)
    m = mount(s)
    dst = os.path.join(m.path, box)
    snap = transcript.mark(s)
    sh("rsync %s %s/ %s/" % (opt, bk, dst))
    cmds = transcript.since(s, snap)
    only(cmds)
    assert contents(c, box) == got, "second run changed the mailbox"
    return m


def test_rsync_a_restore_twice(s, c, mount):
    m, bk, src = _backup(s, c, mount, "RsA", [(), ("\\Seen",)], False)
    _restore_twice(s, c, m, bk, src, "RsARestored", "-a", mount)


def test_rsync_aX_restore_twice(s, c, mount):
    m, bk, src = _backup(s, c, mount, "RsX",
                         [("\\Seen",), ("\\Flagged", "\\Seen"), (),
                          ("$Label1",)], True)
    m = _restore_twice(s, c, m, bk, src, "RsXRestored", "-aX", mount)
    # into the mailbox it came from, which still holds the mail: nothing
    snap = transcript.mark(s)
    sh("rsync -aX %s/ %s/" % (bk, os.path.join(m.path, "RsX")))
    only(transcript.since(s, snap))
    assert contents(c, "RsX") == src


def test_identical_file_not_appended(s, c, mount):
    """Contract B directly: a copy of a message already there, under
    another name, with CRLF or with bare LF, is not appended; its name
    resolves to that message. One without a Message-ID is."""
    before = fill(s, c, "Ident", 2)
    m = mount(s)
    d = _local()
    body = before[101]
    with open(os.path.join(d, "crlf.eml"), "wb") as f:
        f.write(body)
    with open(os.path.join(d, "lf.eml"), "wb") as f:
        f.write(body.replace(b"\r\n", b"\n"))
    box = os.path.join(m.path, "Ident")
    snap = transcript.mark(s)
    sh("cp %s/crlf.eml %s/lf.eml %s/" % (d, d, box))
    only(transcript.since(s, snap))
    assert imaputil.uids(c, "Ident") == [101, 102]
    for name in ("crlf.eml", "lf.eml"):
        with open(os.path.join(box, name), "rb") as f:
            assert f.read() == body, name
    noid = b"From: x@example.org\r\nSubject: no id\r\n\r\nsame text\r\n"
    with open(os.path.join(d, "noid.eml"), "wb") as f:
        f.write(noid)
    snap = transcript.mark(s)
    sh("cp %s/noid.eml %s/a.eml; cp %s/noid.eml %s/b.eml" % (d, box, d, box))
    only(transcript.since(s, snap), APPEND=2)
    assert len(imaputil.uids(c, "Ident")) == 4


def test_name_of_identical_copy_is_only_a_name(s, c, mount):
    """A file written with the bytes of a message already there stands for
    a copy that was never stored: rm of its name, writing over it, or
    moving it to another mailbox never expunge the message that was there
    before (which the user did not name)."""
    before = fill(s, c, "Found", 2)
    imaputil.create(c, "FoundElse")
    m = mount(s)
    box = os.path.join(m.path, "Found")
    d = _local()
    with open(os.path.join(d, "copy.eml"), "wb") as f:
        f.write(before[101])
    snap = transcript.mark(s)
    sh("cp %s/copy.eml %s/one.eml && cp %s/copy.eml %s/two.eml && "
       "cp %s/copy.eml %s/three.eml" % (d, box, d, box, d, box))
    only(transcript.since(s, snap))
    # rm: only the name goes
    snap = transcript.mark(s)
    sh("rm %s/one.eml && ! test -e %s/one.eml" % (box, box))
    only(transcript.since(s, snap))
    # written over: the new bytes are stored beside, nothing expunged
    new = _msg("Found", 7)
    with open(os.path.join(d, "new.eml"), "wb") as f:
        f.write(new)
    snap = transcript.mark(s)
    sh("cp %s/new.eml %s/two.eml" % (d, box))
    only(transcript.since(s, snap), APPEND=1)
    # moved to another mailbox: mv copies it (EXDEV), the original stays
    snap = transcript.mark(s)
    sh("mv %s/three.eml %s/" % (box, os.path.join(m.path, "FoundElse")))
    only(transcript.since(s, snap), APPEND=1)
    got = contents(c, "Found")
    assert got[101][0] == before[101] and got[102][0] == before[102], \
        "a message that was there before was touched: %r" % sorted(got)
    assert sorted(b for b, _, _ in got.values()) == sorted(
        [before[101], before[102], new])
    assert [b for b, _, _ in contents(c, "FoundElse").values()] == \
        [before[101]]


def _numbered_backup(c, n, tag):
    """N messages named 1.eml .. N.eml in a local directory, as a backup
    of a mailbox made through the mount is named. -> (dir, bodies)."""
    d = _local()
    bodies = {}
    for i in range(1, n + 1):
        bodies[i] = _msg(tag, i)
        with open(os.path.join(d, "%d.eml" % i), "wb") as f:
            f.write(bodies[i])
    return d, bodies


@pytest.mark.parametrize("tool", ["rsync -a %s/ %s/", "cp %s/*.eml %s/"])
def test_restore_names_colliding_with_uids(s, c, mount, tool):
    """Backup files 1.eml .. 12.eml go in name order (1, 10, 11, 12, 2, ...),
    so 10.eml is stored as UID 2 before 2.eml is written: 2.eml lands on
    a real message's name. It is another message, so nothing is replaced:
    all 12 are there, nothing expunged. Into a mailbox that already holds
    UIDs 1 and 2 (other mail), those stay too."""
    d, bodies = _numbered_backup(c, 12, "Coll%d" % len(tool))
    box = "Coll%d" % len(tool)
    imaputil.create(c, box)
    other = "Coll%dFull" % len(tool)
    imaputil.create(c, other)
    mine = [imaputil.append_uid(c, other, _msg(other, i)) for i in range(2)]
    assert mine == [1, 2]
    m = mount(s)
    for target, keep in ((box, []), (other, mine)):
        snap = transcript.mark(s)
        sh(tool % (d, os.path.join(m.path, target)))
        only(transcript.since(s, snap), APPEND=12)
        got = {u: b for u, (b, _, _) in contents(c, target).items()}
        assert len(got) == 12 + len(keep), "%s holds %d" % (target, len(got))
        assert set(bodies.values()) <= set(got.values()), target
        for u in keep:
            assert u in got, "%s: its own UID %d was removed" % (target, u)


def test_cp_onto_another_mailboxs_uid_name(s, c, mount):
    """cp A/1.eml B/ where B has a 1.eml of its own: B gets A's message
    beside its own (the names collide by chance: UIDs start at 1)."""
    imaputil.create(c, "OntoA")
    imaputil.create(c, "OntoB")
    a = _msg("OntoA", 0)
    b = _msg("OntoB", 0)
    assert imaputil.append_uid(c, "OntoA", a) == 1
    assert imaputil.append_uid(c, "OntoB", b) == 1
    m = mount(s)
    snap = transcript.mark(s)
    sh("cp %s/1.eml %s/" % (os.path.join(m.path, "OntoA"), os.path.join(m.path, "OntoB")))
    only(transcript.since(s, snap), APPEND=1)
    got = contents(c, "OntoB")
    assert got[1][0] == b and sorted(x for x, _, _ in got.values()) == sorted([a, b])


def test_rm_original_of_an_identical_copy(s, c, mount):
    """cp Box/1.eml Box/keep.eml stores nothing (identical); rm Box/1.eml
    then first makes keep.eml a real copy (UID COPY), so keep.eml still
    reads the message and the mailbox still holds it."""
    before = fill(s, c, "KeepCopy", 2)
    m = mount(s)
    box = os.path.join(m.path, "KeepCopy")
    snap = transcript.mark(s)
    sh("cp %s/101.eml %s/keep.eml && rm %s/101.eml" % (box, box, box))
    cmds = transcript.since(s, snap)
    only(cmds, COPY=1, UID_EXPUNGE=1)
    with open(os.path.join(box, "keep.eml"), "rb") as f:
        assert f.read() == before[101]
    got = contents(c, "KeepCopy")
    assert 101 not in got and sorted(b for b, _, _ in got.values()) == sorted(before.values())


def test_identical_but_deleted_is_appended(s, c, mount):
    """A message marked \\Deleted (by another client, not yet expunged) does
    not count as already there: its copy is appended."""
    before = fill(s, c, "DelCand", 1, flags=[("\\Deleted",)])
    m = mount(s)
    d = _local()
    with open(os.path.join(d, "again.eml"), "wb") as f:
        f.write(before[101])
    snap = transcript.mark(s)
    sh("cp %s/again.eml %s/" % (d, os.path.join(m.path, "DelCand")))
    only(transcript.since(s, snap), APPEND=1)
    assert len(imaputil.uids(c, "DelCand")) == 2


def test_empty_write_over_keeps_no_file_open(s, c, mount):
    """": > Box/101.eml" leaves the message as it was, and the daemon keeps
    no file for it (50 of them: no descriptor more than before)."""
    before = fill(s, c, "EmptyOver", 1)
    m = mount(s, foreground=True)
    p = os.path.join(m.path, "EmptyOver", "101.eml")
    os.stat(p)
    fds = lambda: len(os.listdir("/proc/%d/fd" % m.proc.pid))
    n0 = fds()
    for _ in range(50):
        with open(p, "wb"):
            pass
    time.sleep(0.5)     # release is asynchronous
    assert fds() <= n0 + 2, "%d descriptors, %d before" % (fds(), n0)
    assert contents(c, "EmptyOver")[101][0] == before[101]


def test_restore_same_message_id_under_colliding_names(s, c, mount):
    """Two backup files with one Message-ID (a draft saved twice) whose
    names collide with the UIDs the restore makes (10.eml is stored as
    UID 2, then 2.eml is written over that name): neither is taken for an
    edit of the other, all 12 are restored, nothing expunged."""
    d, bodies = _numbered_backup(c, 12, "SameId")
    shared = b"<same-draft-%d@example.org>" % time.monotonic_ns()
    for i in (2, 10):
        bodies[i] = re.sub(rb"(?m)^Message-ID: <[^>]*>", b"Message-ID: " + shared, bodies[i])
        with open(os.path.join(d, "%d.eml" % i), "wb") as f:
            f.write(bodies[i])
    imaputil.create(c, "SameId")
    m = mount(s)
    snap = transcript.mark(s)
    sh("rsync -a %s/ %s/" % (d, os.path.join(m.path, "SameId")))
    only(transcript.since(s, snap), APPEND=12)
    got = [b for b, _, _ in contents(c, "SameId").values()]
    assert sorted(got) == sorted(bodies.values())


def test_mv_original_of_an_identical_copy(s, c, mount):
    """cp Box/101.eml Box/keep.eml stores nothing; mv Box/101.eml Other/
    first makes keep.eml a real copy (UID COPY), so it still reads."""
    before = fill(s, c, "MvKeep", 1)
    imaputil.create(c, "MvKeepElse")
    m = mount(s)
    box = os.path.join(m.path, "MvKeep")
    snap = transcript.mark(s)
    sh("cp %s/101.eml %s/keep.eml && mv %s/101.eml %s/" % (
        box, box, box, os.path.join(m.path, "MvKeepElse")))
    only(transcript.since(s, snap), COPY=1, MOVE=1)
    with open(os.path.join(box, "keep.eml"), "rb") as f:
        assert f.read() == before[101]
    assert [b for b, _, _ in contents(c, "MvKeep").values()] == [before[101]]
    assert [b for b, _, _ in contents(c, "MvKeepElse").values()] == [before[101]]


def test_flags_set_on_a_message_being_written_over(s, c, mount):
    """open(O_TRUNC) an existing message, write an edit, fsetxattr flags
    and INTERNALDATE (cp -a does): they are the new message's, not a STORE
    on the old one (and a date ignored)."""
    before = fill(s, c, "OverX", 1, flags=[("\\Seen",)])
    m = mount(s)
    p = os.path.join(m.path, "OverX", "101.eml")
    new = before[101].replace(b"body of", b"edited body of")
    with open(p, "wb") as f:
        f.write(new)
        f.flush()
        os.setxattr(f.fileno(), "user.imap.flags", b"\\Answered")
        os.setxattr(f.fileno(), "user.imap.internaldate", b"17-Jul-1996 02:44:25 -0700")
    got = contents(c, "OverX")
    assert 101 not in got and list(got.values()) == [
        (new, {"\\Answered"}, 837596665)], got


def test_sed_without_change_on_message_without_message_id(s, c, mount):
    """sed -i that changes nothing, on a message without a Message-ID:
    the copy sed's close stored goes again; the message stays as it was."""
    imaputil.create(c, "NoIdSed")
    body = b"From: x@example.org\r\nSubject: no id\r\n\r\nsame text\r\n"
    uid = imaputil.append_uid(c, "NoIdSed", body, ["\\Seen"])
    m = mount(s)
    sh("sed -i 's/nothing-matches-this//' %s/%d.eml" % (os.path.join(m.path, "NoIdSed"), uid))
    got = contents(c, "NoIdSed")
    assert list(got) == [uid] and got[uid][0] == body and got[uid][1] == {"\\Seen"}, got


# ---------------------------------------------------------------- edits


def _replaced(s, c, m, box, before, uid, new, snap):
    """UID of BOX was replaced by NEW: one APPEND, then UID EXPUNGE of
    exactly UID (after the APPEND), nothing else; the others untouched;
    the old name reads the new message."""
    cmds = transcript.since(s, snap)
    only(cmds, APPEND=1, UID_EXPUNGE=1)
    exp = transcript.find(cmds, rb"^UID EXPUNGE ")
    assert exp == [b"UID EXPUNGE %d" % uid], exp
    stores = transcript.find(cmds, rb"^UID STORE .*\\Deleted")
    assert all(re.match(rb"^UID STORE %d " % uid, x) for x in stores), stores
    first_append = next(i for i, x in enumerate(cmds)
                        if x.upper().startswith(b"APPEND "))
    assert first_append < cmds.index(exp[0]), \
        "old UID expunged before the new message was appended: %r" % cmds
    got = contents(c, box)
    assert uid not in got
    for u in before:
        if u != uid:
            assert got[u] == before[u], "%s %d changed" % (box, u)
    new_uids = [u for u in got if u not in before]
    assert len(new_uids) == 1 and got[new_uids[0]][0] == new
    # an edit keeps the message's state (it set no flags of its own)
    assert got[new_uids[0]][1] == before[uid][1], "flags %r, were %r" % (
        got[new_uids[0]][1], before[uid][1])
    with open(os.path.join(m.path, box, "%d.eml" % uid), "rb") as f:
        assert f.read() == new


def _edit(s, c, mount, box, cmd, transform):
    fill(s, c, box, 3, flags=[("\\Seen",), ("\\Flagged",), ()])
    before = contents(c, box)
    m = mount(s)
    snap = transcript.mark(s)
    sh(cmd.format(f=os.path.join(m.path, box, "102.eml")))
    _replaced(s, c, m, box, before, 102, transform(before[102][0]), snap)


def test_rsync_inplace_updates_a_message(s, c, mount):
    """rsync --inplace of an edited backup file onto its message: the
    message is written where it is (no O_TRUNC), so the file starts as
    the message, and the edit replaces it (same Message-ID). Without -t:
    rsync --inplace sets the time after closing, when the INTERNALDATE
    is already the server's (imapfs.1)."""
    fill(s, c, "InplaceRs", 3, flags=[("\\Seen",), ("\\Flagged",), ()])
    before = contents(c, "InplaceRs")
    m = mount(s)
    box = os.path.join(m.path, "InplaceRs")
    bk = _local()
    sh("rsync -a %s/ %s/" % (box, bk))
    new = before[102][0].replace(b"body of", b"an edited body of")
    with open(os.path.join(bk, "102.eml"), "wb") as f:
        f.write(new)
    snap = transcript.mark(s)
    sh("rsync -r --inplace %s/ %s/" % (bk, box))
    _replaced(s, c, m, "InplaceRs", before, 102, new, snap)


def test_sed_i(s, c, mount):
    _edit(s, c, mount, "SedI", "sed -i 's/Subject/X-Subject/' {f}",
          lambda b: re.sub(rb"Subject", b"X-Subject", b))


def test_perl_pi(s, c, mount):
    _edit(s, c, mount, "PerlPi", "perl -pi -e 's/^Subject: /Subject: [p] /' {f}",
          lambda b: re.sub(rb"(?m)^Subject: ", b"Subject: [p] ", b))


@pytest.mark.parametrize("tmpname", ["102.eml.tmp", ".102.eml.swp"])
def test_editor_save(s, c, mount, tmpname):
    box = "Editor" + ("Dot" if tmpname.startswith(".") else "Tmp")
    fill(s, c, box, 3)
    before = contents(c, box)
    m = mount(s)
    new = before[102][0].replace(b"body of", b"edited body of")
    d = os.path.join(m.path, box)
    snap = transcript.mark(s)
    with open(os.path.join(d, tmpname), "wb") as f:
        f.write(new)
    os.replace(os.path.join(d, tmpname), os.path.join(d, "102.eml"))
    _replaced(s, c, m, box, before, 102, new, snap)
    assert tmpname not in os.listdir(d)


def test_sed_i_without_change(s, c, mount):
    """An edit that changes nothing (sed -i with no match rewrites the same
    bytes): nothing appended, nothing expunged."""
    fill(s, c, "SedSame", 2)
    before = contents(c, "SedSame")
    m = mount(s)
    snap = transcript.mark(s)
    sh("sed -i 's/no such text/x/' %s" % os.path.join(m.path, "SedSame",
                                                       "102.eml"))
    only(transcript.since(s, snap))
    assert contents(c, "SedSame") == before


# ---------------------------------------------------------------- Maildir


MAILDIR = ["1700000000.1.host:2,FS", "1700000001.2.host:2,RS",
           "1700000002.3.host:2,T", "1700000003.4.host:2,DP",
           "1700000004.5.host:2,Sab"]


def _want_flags(name):
    return {FLAG_LETTERS[x] for x in name.split(":2,")[1]
            if x in FLAG_LETTERS}


def _maildir(tag):
    """A Maildir cur/ with MAILDIR's names, LF line ends, mtimes in 2023;
    -> (dir, dict name -> LF bytes)."""
    md = _local()
    cur = os.path.join(md, "cur")
    os.makedirs(cur)
    out = {}
    for i, name in enumerate(MAILDIR):
        b = _msg(tag, i).replace(b"\r\n", b"\n")
        p = os.path.join(cur, name)
        with open(p, "wb") as f:
            f.write(b)
        os.utime(p, (_epoch(2023, 3, i + 1),) * 2)
        out[name] = b
    return cur, out


def _check_import(s, c, box, files, snap, dates):
    cmds = transcript.since(s, snap)
    only(cmds, APPEND=len(files))
    assert not transcript.find(cmds, rb"^UID STORE "), \
        "flags must go with the APPEND: %r" % cmds
    have = contents(c, box)
    got = {_mid(b): (b, fl, d) for b, fl, d in have.values()}
    assert len(have) == len(got) == len(files)
    for i, (name, lf) in enumerate(files.items()):
        b, fl, d = got[_mid(lf)]
        assert b.replace(b"\r\n", b"\n") == lf, name
        assert "\\Deleted" not in fl, name
        assert fl == _want_flags(name), "%s: flags %r, want %r" % (
            name, sorted(fl), sorted(_want_flags(name)))
        if dates:
            assert d == _epoch(2023, 3, i + 1), name


def test_cp_r_maildir_keeps_flags(s, c, mount):
    cur, files = _maildir("MdR")
    m = mount(s)
    snap = transcript.mark(s)
    sh("cp -r %s %s" % (cur, os.path.join(m.path, "MdR")))
    _check_import(s, c, "MdR", files, snap, dates=False)


def test_cp_p_maildir_glob_keeps_flags_and_dates(s, c, mount):
    cur, files = _maildir("MdP")
    imaputil.create(c, "MdP")
    m = mount(s)
    snap = transcript.mark(s)
    sh("cp -p %s/* %s/" % (cur, os.path.join(m.path, "MdP")))
    _check_import(s, c, "MdP", files, snap, dates=True)


def test_maildir_suffix_yields_to_flags_xattr(s, c, mount):
    """user.imap.flags set on the new file wins over its :2, suffix."""
    imaputil.create(c, "MdX")
    m = mount(s)
    p = os.path.join(m.path, "MdX", "1700000009.9.host:2,S")
    with open(p, "wb") as f:
        f.write(_msg("MdX", 0))
        os.setxattr(f.fileno(), "user.imap.flags", b"\\Flagged")
    (u,) = imaputil.uids(c, "MdX")
    assert imaputil.flags_of(c, "MdX", u) == {"\\Flagged"}


# ---------------------------------------------------------------- folders


def test_tar_folder(s, c, mount):
    fill(s, c, "TarBox", 4, flags=[("\\Flagged",)])
    before = contents(c, "TarBox")
    m = mount(s)
    out = os.path.join(_local(), "box.tar")
    snap = transcript.mark(s)
    sh("tar -cf %s -C %s TarBox" % (out, m.path))
    cmds = transcript.since(s, snap)
    only(cmds)
    assert not transcript.find(cmds, rb"^UID STORE "), cmds
    with tarfile.open(out) as t:
        names = {x.name: x for x in t.getmembers() if x.isfile()}
        assert set(names) == {"TarBox/%d.eml" % u for u in before}
        for u, (body, _, date) in before.items():
            x = names["TarBox/%d.eml" % u]
            assert t.extractfile(x).read() == body
            assert int(x.mtime) == date
    assert contents(c, "TarBox") == before


def test_cp_a_folder(s, c, mount):
    fill(s, c, "CpaSrc", 3, flags=[("\\Seen",), ("\\Flagged", "\\Seen")])
    before = contents(c, "CpaSrc")
    m = mount(s)
    snap = transcript.mark(s)
    sh("cp -a %s %s" % (os.path.join(m.path, "CpaSrc"),
                        os.path.join(m.path, "CpaDst")))
    only(transcript.since(s, snap), APPEND=len(before))
    want = {_mid(b): (b, fl, d) for b, fl, d in before.values()}
    dst = contents(c, "CpaDst")
    got = {_mid(b): (b, fl, d) for b, fl, d in dst.values()}
    assert len(dst) == len(before) and got == want
    assert contents(c, "CpaSrc") == before


# ---------------------------------------------------------------- names, xattrs


def test_name_written_resolves_after_append(s, c, mount):
    """cp f Box/ then stat Box/f succeeds (the stored message, now
    UID.eml); the listing shows UID names only."""
    imaputil.create(c, "Named")
    m = mount(s)
    d = _local()
    body = _msg("Named", 0)
    with open(os.path.join(d, "note.eml"), "wb") as f:
        f.write(body)
    box = os.path.join(m.path, "Named")
    snap = transcript.mark(s)
    sh("cp %s/note.eml %s/ && stat %s/note.eml >/dev/null"
       % (d, box, box))
    only(transcript.since(s, snap), APPEND=1)
    (u,) = imaputil.uids(c, "Named")
    assert os.listdir(box) == ["%d.eml" % u]
    with open(os.path.join(box, "note.eml"), "rb") as f:
        assert f.read() == body


def test_server_state_xattrs_accepted_and_ignored(s, c, mount):
    """What rsync -X and cp -a write: server-state attributes on messages
    and mailboxes are accepted (0) and change nothing."""
    fill(s, c, "Xattr", 2, flags=[("\\Seen",)])
    before = contents(c, "Xattr")
    m = mount(s)
    box = os.path.join(m.path, "Xattr")
    f = os.path.join(box, "101.eml")
    snap = transcript.mark(s)
    sh("setfattr -n user.imap.uid -v 999 {f}; "
       "setfattr -n user.imap.modseq -v 1 {f}; "
       "setfattr -n user.imap.internaldate -v '01-Jan-2000 00:00:00 +0000' "
       "{f}; setfattr -x user.imap.uid {f}; setfattr -x user.imap.modseq {f}; "
       "for a in messages unseen uidnext uidvalidity attributes; do "
       "setfattr -n user.imap.$a -v 7 {d}; setfattr -x user.imap.$a {d}; "
       "done".format(f=f, d=box))
    cmds = transcript.since(s, snap)
    only(cmds)
    assert not transcript.find(cmds, rb"^UID STORE "), cmds
    assert contents(c, "Xattr") == before


def test_new_file_takes_flags_and_internaldate_xattrs(s, c, mount):
    """On a new file: server-state attributes accepted and ignored,
    user.imap.flags and user.imap.internaldate go into its one APPEND."""
    imaputil.create(c, "XattrNew")
    before = {}
    m = mount(s)
    when = _epoch(2022, 3, 2)
    p = os.path.join(m.path, "XattrNew", "new.eml")
    snap = transcript.mark(s)
    with open(p, "wb") as fh:
        fh.write(_msg("Xattr", 9))
        for name, value in (("user.imap.uid", b"5"),
                            ("user.imap.modseq", b"9"),
                            ("user.imap.flags", b"\\Flagged"),
                            ("user.imap.internaldate",
                             internaldate_str(when).strip('"').encode())):
            os.setxattr(fh.fileno(), name, value)
    only(transcript.since(s, snap), APPEND=1)
    (new,) = set(imaputil.uids(c, "XattrNew")) - set(before)
    got = contents(c, "XattrNew")[new]
    assert got[1] == {"\\Flagged"} and got[2] == when, got[1:]

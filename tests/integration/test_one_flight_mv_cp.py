"""One round trip per file operation (issue 15, target 3) for mv of a
message to another folder and cp of a small new message into a folder.

Against the real Dovecot through delayproxy.py (each direction delayed),
in a steady state (both folders listed, a warm-up operation done, the
link quiet: settle()), the connection that carried the operation makes
one flight between the operation's start and its return:
  - mv sends UID MOVE and nothing else: COPYUID says the new UID, and a
    move keeps size, INTERNALDATE and flags (RFC 6851), so the message is
    shown in the target without a SELECT or FETCH;
  - cp sends one APPEND with a non-synchronizing literal (LITERAL+), the
    INTERNALDATE in it, and nothing before or after: APPENDUID says the
    UID, and a message of the same size this mount stored before is not
    fetched to compare (its checksum differs).
An edit (a new file renamed over a message with the same Message-ID)
takes over the old message's flags with UID STORE FLAGS.SILENT and its
FETCH in one flight.
What was sent is read from Dovecot's rawlog (transcript.py); the result
from imaplib (bytes, flags, INTERNALDATE) and through the mount (stat
size and mtime, content, user.imap.modseq).

A connection that had the target selected before the move has not been
told of the moved message: Dovecot's UID STORE and FETCH of it would do
nothing and answer OK. setfattr and reading it through such a connection
still work (a NOOP goes first). Without LITERAL+ the APPEND waits for the
continuation, as before, and stores the same message.
"""

import os
import shutil
import tempfile
import threading
import time

import pytest

import corpus
import imaputil
import transcript
from flightutil import c, link, s, session_with, steady  # noqa: F401 (fixtures)

_msg = corpus.tagged("one flight", "flight", ["body line"])


def fill(c, box, n, flags=(), date=None):
    imaputil.create(c, box)
    return [imaputil.append_uid(c, box, _msg("%s-%d" % (box, i)), flags, date)
            for i in range(n)]


def meta(c, box, uid):
    """-> (bytes, flags without \\Recent, INTERNALDATE epoch, MODSEQ)."""
    m = imaputil.fetch_meta(c, box)[uid]
    return (imaputil.fetch_body(c, uid),
            {f for f in m["FLAGS"] if f.lower() != "\\recent"},
            imaputil.internaldate_epoch(m["INTERNALDATE"]), m["MODSEQ"])


def cp_counted(p, s, src, dst, flights, head, tail):
    """cp SRC DST in a steady state: its connection made FLIGHTS flights
    and its session sent one APPEND, starting with HEAD and ending with
    TAIL. -> (time before, by the kernel's clock too; time after)."""
    raw, snap = steady(p, s)
    # the kernel stamps the file with its coarse clock, which may be a
    # tick behind time.time(): the earlier of the two clocks, read now
    stamp = src + ".now"
    with open(stamp, "wb"):
        pass
    t0 = min(time.time(), os.stat(stamp).st_mtime)
    os.unlink(stamp)
    shutil.copyfile(src, dst)
    t1 = time.time()
    ops = p.op_flights(snap)
    assert list(ops.values()) == [flights], \
        "cp: flights per connection %r (all: %r)" % (ops, p.flights(snap))
    sent = session_with(s, raw, rb"^APPEND ")
    assert len(sent) == 1 and sent[0].startswith(head) and sent[0].endswith(tail), sent
    return t0, t1


def write(d, name, data):
    p = os.path.join(d, name)
    with open(p, "wb") as f:
        f.write(data)
    return p


# ---- the delayed link, real Dovecot ------------------------------------

def test_mv_one_flight(s, c, link):
    when = 1_700_000_000
    src = fill(c, "MvFrom", 3, ("\\Seen", "$Label1"),
               imaputil.internaldate_str(when))
    fill(c, "MvTo", 1)
    p, m = link()
    frm, to = os.path.join(m.path, "MvFrom"), os.path.join(m.path, "MvTo")
    os.listdir(frm)
    before = set(os.listdir(to))
    os.rename(os.path.join(frm, "%d.eml" % src[0]),
              os.path.join(to, "%d.eml" % src[0]))         # warm-up
    body = imaputil.bodies(c, "MvFrom")[src[1]]
    raw, snap = steady(p, s)
    os.rename(os.path.join(frm, "%d.eml" % src[1]),
              os.path.join(to, "%d.eml" % src[1]))
    ops = p.op_flights(snap)
    assert list(ops.values()) == [1], \
        "mv: flights per connection %r (all: %r)" % (ops, p.flights(snap))
    sent = session_with(s, raw, rb"^UID MOVE ")
    assert sent == [b"UID MOVE %d MvTo" % src[1]], sent
    # the server: gone from MvFrom, in MvTo with its bytes, flags, date
    assert imaputil.uids(c, "MvFrom") == [src[2]]
    new = sorted(set(imaputil.uids(c, "MvTo")) -
                 {int(n[:-4]) for n in before})[-1]
    got, flags, date, modseq = meta(c, "MvTo", new)
    assert (got, flags, date) == (body, {"\\Seen", "$Label1"}, when)
    # the mount: listed under the new UID with that size, mtime, content
    f = os.path.join(to, "%d.eml" % new)
    assert "%d.eml" % new in os.listdir(to)
    st = os.stat(f)
    assert (st.st_size, int(st.st_mtime)) == (len(body), when)
    with open(f, "rb") as fh:
        assert fh.read() == body
    assert set(os.getxattr(f, "user.imap.flags").decode().split()) == \
        {"\\Seen", "$Label1"}
    # MODSEQ was not known when it was shown: asked for when read
    assert int(os.getxattr(f, "user.imap.modseq")) == modseq


def test_cp_one_flight(s, c, link):
    fill(c, "CpTo", 1)
    p, m = link()
    to = os.path.join(m.path, "CpTo")
    os.listdir(to)
    d = tempfile.mkdtemp(prefix="imapfs-src-")
    # the same size each: the earlier ones are dedupe candidates
    one, two = _msg("cp-a"), _msg("cp-b")
    assert len(one) == len(two)
    shutil.copyfile(write(d, "a.eml", one), os.path.join(to, "a.eml"))  # warm-up
    t0, t1 = cp_counted(p, s, write(d, "b.eml", two), os.path.join(to, "b.eml"), 1,
                        b'APPEND "CpTo" () "', b"{%d+}" % len(two))
    # the server: stored once, its bytes, no flags, the date of the close
    bodies = imaputil.bodies(c, "CpTo")
    new = [u for u, b in bodies.items() if b == two]
    assert len(new) == 1, bodies
    got, flags, date, _ = meta(c, "CpTo", new[0])
    assert flags == set() and int(t0) <= date <= t1 + 1, (flags, date, t0)
    # the mount: listed under its UID with that size and mtime, content
    f = os.path.join(to, "%d.eml" % new[0])
    assert "%d.eml" % new[0] in os.listdir(to)
    st = os.stat(f)
    assert (st.st_size, int(st.st_mtime)) == (len(two), date)
    with open(f, "rb") as fh:
        assert fh.read() == two


def test_mv_then_change_on_a_stale_connection(s, c, link):
    """Two connections: one with the source selected carries the move,
    the other had the target selected before it and was not told of the
    moved message. setfattr and a read of it go through that one."""
    src = fill(c, "StaleFrom", 4)
    dst = fill(c, "StaleTo", 4)
    p, m = link(opts=("max_conns=2",))
    frm, to = os.path.join(m.path, "StaleFrom"), os.path.join(m.path, "StaleTo")
    os.listdir(frm)
    os.listdir(to)

    def read(path):
        with open(path, "rb") as fh:
            fh.read()
    # both connections busy at once: one is left with StaleFrom selected,
    # the other with StaleTo
    for _ in range(3):
        ts = [threading.Thread(target=read, args=(os.path.join(d, "%d.eml" % u),))
              for d, u in ((frm, src[1]), (to, dst[1]), (frm, src[2]), (to, dst[2]))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
    assert p.settle()
    body = imaputil.bodies(c, "StaleFrom")[src[0]]
    os.rename(os.path.join(frm, "%d.eml" % src[0]),
              os.path.join(to, "%d.eml" % src[0]))
    new = sorted(set(imaputil.uids(c, "StaleTo")) - set(dst))
    assert len(new) == 1
    f = os.path.join(to, "%d.eml" % new[0])
    os.setxattr(f, "user.imap.flags", b"+\\Flagged")
    assert imaputil.flags_of(c, "StaleTo", new[0]) == {"\\Flagged"}
    with open(f, "rb") as fh:
        assert fh.read() == body
    assert set(os.getxattr(f, "user.imap.flags").decode().split()) == \
        {"\\Flagged"}


def test_cp_without_literal_plus(fresh_servers, link):
    """A server without LITERAL+: the APPEND waits for the continuation
    (libetpan's), so two flights, still nothing asked around it; the
    message is stored and shown the same."""
    s = fresh_servers("slash", rawlog=True, drop_caps=("LITERAL+",))
    with transcript.connect(s) as c:
        fill(c, "SyncTo", 1)
        p, m = link(server=s)
        to = os.path.join(m.path, "SyncTo")
        os.listdir(to)
        d = tempfile.mkdtemp(prefix="imapfs-src-")
        data = _msg("sync")
        shutil.copyfile(write(d, "w.eml", _msg("warm")), os.path.join(to, "w.eml"))
        cp_counted(p, s, write(d, "n.eml", data), os.path.join(to, "n.eml"), 2,
                   b'APPEND SyncTo () "', b"{%d}" % len(data))
        new = [u for u, b in imaputil.bodies(c, "SyncTo").items() if b == data]
        assert len(new) == 1
        f = os.path.join(to, "%d.eml" % new[0])
        assert os.stat(f).st_size == len(data)
        with open(f, "rb") as fh:
            assert fh.read() == data


def test_cp_large_waits_for_go_ahead(s, c, link):
    """A message over 1 MiB is not sent before the server's go-ahead (a
    server refusing it, over quota say, does so before the bytes go)."""
    fill(c, "BigTo", 1)
    p, m = link()
    to = os.path.join(m.path, "BigTo")
    os.listdir(to)
    d = tempfile.mkdtemp(prefix="imapfs-src-")
    data = _msg("big", [b"x" * 76 for _ in range(16 * 1024)])
    assert len(data) > (1 << 20)
    cp_counted(p, s, write(d, "big.eml", data), os.path.join(to, "big.eml"), 2,
               b'APPEND BigTo () "', b"{%d}" % len(data))
    new = [u for u, b in imaputil.bodies(c, "BigTo").items() if b == data]
    assert len(new) == 1
    assert os.stat(os.path.join(to, "%d.eml" % new[0])).st_size == len(data)


# ---- the scripted server ---------------------------------------------------

def test_refused_on_open_mailbox_is_sent_again_quietly(pki, mount):
    """A server that refuses an APPEND to the mailbox the connection has
    open (refuse-selected): the one-flight APPEND is refused, the mailbox
    left, the message sent once more and stored; that first refusal is
    not logged as an error (imapfs status would list it)."""
    import profileutil as pu
    fs = pu.start(pki, "refuse-selected")
    try:
        m = pu.mount_fake(mount, pki, fs)
        d = os.path.join(m.path, "Archive")
        assert os.listdir(d) == ["1.eml"]          # Archive is selected now
        data = pu.body("refused-once")
        write(d, "new.eml", data)
        got = pu.bodies(fs, "Archive")
        new = [u for u in got if got[u] == data]
        assert len(new) == 1, fs.transcript()
        appends = [e for e in fs.transcript().splitlines() if " APPEND " in e]
        assert len(appends) == 2, appends
        assert [e[0] for e in fs.events if e[0] == "refused-selected"] == \
            ["refused-selected"], fs.events
        assert "refused by the server" not in m.log(), m.log()
        with open(os.path.join(d, "%d.eml" % new[0]), "rb") as fh:
            assert fh.read() == data
    finally:
        fs.stop()


def test_edit_takes_flags_in_one_flight(s, c, link):
    """An edit (a new file renamed over a message, as sed -i does, with
    the same Message-ID) takes over the old message's flags with one
    UID STORE FLAGS.SILENT and the FETCH that shows them, sent together:
    not a FETCH, the STORE and another FETCH one after the other."""
    old = fill(c, "EditFlags", 1)[0]
    imaputil.store_flags(c, "EditFlags", old, "+FLAGS", ["\\Seen", "$Done"])
    p, m = link()
    d = os.path.join(m.path, "EditFlags")
    f = os.path.join(d, "%d.eml" % old)
    with open(f, "rb") as fh:
        body = fh.read()
    raw, snap = steady(p, s)
    tmp = os.path.join(d, "edit.tmp")
    with open(tmp, "wb") as fh:
        fh.write(body.replace(b"body line", b"edited line"))
    os.rename(tmp, f)
    new = [u for u in imaputil.uids(c, "EditFlags") if u != old]
    assert len(new) == 1 and old not in imaputil.uids(c, "EditFlags")
    assert imaputil.flags_of(c, "EditFlags", new[0]) == {"\\Seen", "$Done"}
    sent = session_with(s, raw, rb"^UID STORE %d FLAGS" % new[0], more=1)
    assert sent[-2:] == [b"UID STORE %d FLAGS.SILENT (\\Seen $Done)" % new[0],
                         b"UID FETCH %d (UID FLAGS MODSEQ)" % new[0]], sent
    # no metadata FETCH of the new UID before its STORE on that connection
    # (the Message-ID check reads its body: that one stays)
    assert not transcript.find(sent[:-2], rb"^UID FETCH %d \(UID " % new[0]), sent
    assert os.getxattr(os.path.join(d, "%d.eml" % new[0]), "user.imap.flags") \
        == b"\\Seen $Done"

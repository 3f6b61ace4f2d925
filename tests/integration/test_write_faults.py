"""A connection that breaks while an APPEND is under way (src/vfs_append.c).

imapfs never simply repeats such an APPEND: after a broken stream it
opens a new connection and looks for the message by Message-ID, comparing
the bytes of each message found (without UIDPLUS it also noted UIDNEXT
with STATUS before sending, and looks only at the UIDs >= it). Found:
success, no second APPEND. Not found: the APPEND is sent once more. A
message without a Message-ID cannot be looked for, so it is not sent
again and close() fails with EIO.

imapfs talks plaintext IMAP (-o insecure_plaintext, loopback only) through
cutproxy.CutProxy, which breaks exactly one APPEND either after the server
stored the message (its tagged OK is swallowed) or before any of it
reached the server. Every outcome is checked with imaplib on the server.
"""

import errno
import os
import subprocess
import tempfile
import time

import pytest

import corpus
import cutproxy
import imaputil
from imaputil import personal_name, personal_rel

CHECK_LOG = "checking whether the message arrived"


@pytest.fixture
def cut(fresh_server):
    """A CutProxy in front of the module's Dovecot's plaintext port."""
    p = cutproxy.CutProxy(fresh_server.imap_port).start()
    yield p
    p.stop()


def _msgid(tag):
    return "cut-%s-%d@imapfs.test" % (tag, time.monotonic_ns())


def _msg(tag, msgid):
    return corpus.msg_plain("fault test %s" % tag, ["body of %s" % tag],
                            msgid=msgid.split("@")[0])


def _msg_without_id(tag):
    return corpus._lines(
        "From: Alice Example <alice@example.org>",
        "To: Bob <bob@example.org>",
        "Subject: fault test %s (no Message-ID)" % tag,
        "Date: Mon, 01 Jan 2024 10:00:00 +0000",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii", "",
        "this message has no Message-ID header", "nonce %d"
        % time.monotonic_ns())


def _box(c, s, name):
    sname = personal_name(s, name)
    imaputil.create(c, sname)
    return sname, personal_rel(s, name)


def _search_msgid(c, sname, msgid):
    """UIDs in SNAME whose Message-ID header contains MSGID."""
    imaputil.examine(c, sname)
    dat = imaputil.check(c.uid("SEARCH", "HEADER", "Message-ID",
                               imaputil.quote("<%s>" % msgid)), "SEARCH")
    return sorted(int(x) for x in dat[0].split())


def _mount(s, mount, cut):
    """imapfs through the proxy, plaintext (allowed to loopback only)."""
    return mount(s, url=cut.url(s.user), opts=["insecure_plaintext"])


def _cp(d, data, name="msg.eml"):
    sd = tempfile.mkdtemp(prefix="imapfs-src-")
    p = os.path.join(sd, name)
    with open(p, "wb") as f:
        f.write(data)
    return subprocess.run(["cp", p, d + "/"], capture_output=True,
                          timeout=120)


def _withheld_ok(cut):
    assert cut.fired.is_set(), "the proxy never saw an APPEND to cut"
    w = cut.cut["withheld"]
    assert w is not None and w.startswith(cut.cut["tag"] + b" OK"), \
        "the server's reply to the cut APPEND was %r, expected OK" % w


def test_reply_lost_after_store_is_not_repeated(fresh_server, mount, imap,
                                                 cut):
    """(a) the server stored the message, its OK never reached imapfs:
    cp succeeds, the server has exactly one copy, no second APPEND."""
    s = fresh_server
    c = imap(s)
    sname, rel = _box(c, s, "CutAfter")
    msgid = _msgid("after")
    data = _msg("after", msgid)
    m = _mount(s, mount, cut)
    d = os.path.join(m.path, rel)
    assert os.listdir(d) == []
    cut.arm("after")
    r = _cp(d, data)
    _withheld_ok(cut)
    found = _search_msgid(c, sname, msgid)
    assert len(found) == 1, "server has %d copies of the message " \
        "(UIDs %r), expected exactly 1" % (len(found), found)
    assert imaputil.uids(c, sname) == found
    assert imaputil.fetch_body(c, found[0]) == data
    assert r.returncode == 0, "cp failed although the message was " \
        "stored: %r" % r.stderr
    assert len(cut.appends()) == 1, "APPEND sent %d times: %r" % (
        len(cut.appends()), cut.appends())
    listed = sorted(os.listdir(d))
    assert listed == ["%d.eml" % found[0]], "mount lists %r, server has " \
        "UID %d" % (listed, found[0])
    with open(os.path.join(d, "%d.eml" % found[0]), "rb") as f:
        assert f.read() == data
    assert CHECK_LOG in m.log(), "the log does not say it looked for the " \
        "message:\n" + m.log()[-3000:]
    m.stop(cleanup=False)
    assert _search_msgid(c, sname, msgid) == found, \
        "a copy appeared after unmount"


def test_cut_before_send_is_sent_once_more(fresh_server, mount, imap, cut):
    """(b) the link broke before the APPEND reached the server: imapfs
    finds nothing and sends it once more; exactly one copy."""
    s = fresh_server
    c = imap(s)
    sname, rel = _box(c, s, "CutBefore")
    msgid = _msgid("before")
    data = _msg("before", msgid)
    m = _mount(s, mount, cut)
    d = os.path.join(m.path, rel)
    assert os.listdir(d) == []
    cut.arm("before")
    r = _cp(d, data)
    assert cut.fired.is_set(), "the proxy never saw an APPEND to cut"
    found = _search_msgid(c, sname, msgid)
    assert len(found) == 1, "server has %d copies of the message " \
        "(UIDs %r), expected exactly 1" % (len(found), found)
    assert imaputil.uids(c, sname) == found
    assert imaputil.fetch_body(c, found[0]) == data
    assert r.returncode == 0, "cp failed: %r" % r.stderr
    assert len(cut.appends()) == 2, "expected the cut APPEND and one " \
        "repeat, saw %r" % cut.appends()
    listed = sorted(os.listdir(d))
    assert listed == ["%d.eml" % found[0]], "mount lists %r, server has " \
        "UID %d" % (listed, found[0])
    assert CHECK_LOG in m.log(), m.log()[-3000:]


def test_older_copy_does_not_count(fresh_server, mount, imap, cut):
    """The look-up only accepts a message with the same bytes: an older
    message with the same Message-ID already in the mailbox must not be
    taken for this one (cut before sending -> sent once more). (The older
    one differs in its last line: an identical one would mean the new file
    is not appended at all, test_shell_tools.py.)"""
    s = fresh_server
    c = imap(s)
    sname, rel = _box(c, s, "CutOldCopy")
    msgid = _msgid("oldcopy")
    data = _msg("oldcopy", msgid)
    old = imaputil.append_uid(c, sname, data + b"an older draft\r\n")
    m = _mount(s, mount, cut)
    d = os.path.join(m.path, rel)
    assert os.listdir(d) == ["%d.eml" % old]
    cut.arm("before")
    r = _cp(d, data)
    assert cut.fired.is_set()
    found = _search_msgid(c, sname, msgid)
    assert len(found) == 2 and found[0] == old, "server has UIDs %r with " \
        "this Message-ID; expected the old %d and one new copy" % (found, old)
    assert r.returncode == 0, r.stderr
    assert len(cut.appends()) == 2, cut.appends()
    assert sorted(os.listdir(d)) == sorted("%d.eml" % u for u in found)


def _write_close(path, data):
    """open/write/close -> the OSError close raised, or None."""
    f = open(path, "wb")
    try:
        f.write(data)
    except OSError:
        f.close()
        raise
    try:
        f.close()
    except OSError as e:
        return e
    return None


def test_no_msgid_reply_lost_fails_eio_no_duplicate(fresh_server, mount,
                                                    imap, cut):
    """(c) no Message-ID, stored but the OK lost: close() fails with EIO
    and the APPEND is not repeated (exactly the one stored copy)."""
    s = fresh_server
    c = imap(s)
    sname, rel = _box(c, s, "CutNoIdAfter")
    data = _msg_without_id("after")
    m = _mount(s, mount, cut)
    d = os.path.join(m.path, rel)
    assert os.listdir(d) == []
    cut.arm("after")
    err = _write_close(os.path.join(d, "noid.eml"), data)
    _withheld_ok(cut)
    got = imaputil.bodies(c, sname)
    assert list(got.values()) == [data], "server has %d messages, " \
        "expected exactly the one stored copy" % len(got)
    assert len(cut.appends()) == 1, "APPEND of a message without " \
        "Message-ID was repeated: %r" % cut.appends()
    assert err is not None, "close() succeeded although imapfs cannot " \
        "know whether the message was stored"
    assert err.errno == errno.EIO, "close() failed with %s, expected EIO" \
        % errno.errorcode.get(err.errno, err.errno)
    assert CHECK_LOG in m.log(), m.log()[-3000:]


def test_no_msgid_cp_before_fails(fresh_server, mount, imap, cut):
    """No Message-ID, link broken before the APPEND reached the server:
    cp fails (not retried blindly), nothing is stored."""
    s = fresh_server
    c = imap(s)
    sname, rel = _box(c, s, "CutNoIdBefore")
    data = _msg_without_id("before")
    m = _mount(s, mount, cut)
    d = os.path.join(m.path, rel)
    assert os.listdir(d) == []
    cut.arm("before")
    r = _cp(d, data)
    assert cut.fired.is_set()
    assert imaputil.uids(c, sname) == [], "the server has a message"
    assert len(cut.appends()) == 1, cut.appends()
    assert r.returncode != 0, "cp succeeded although nothing was stored"
    assert b"Input/output error" in r.stderr, r.stderr
    assert CHECK_LOG in m.log(), m.log()[-3000:]

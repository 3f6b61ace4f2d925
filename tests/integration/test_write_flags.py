"""Writing flags and subscriptions through extended attributes.

user.imap.flags on a message: 'A B' = UID STORE FLAGS (A B) (replace),
'+X' adds, '-X' removes; invalid values are EINVAL and change nothing.
user.imap.subscribed on a mailbox directory: reads "1"/"0", writing
"1"/"0" = SUBSCRIBE/UNSUBSCRIBE. -o subscribed shows only subscribed
mailboxes and the parents needed to reach them.
"""

import errno
import os
import subprocess

import pytest

import corpus
import imaputil
import transcript
from imaputil import personal_name, personal_rel
from waitutil import poll

FLAGS = "user.imap.flags"
SUB = "user.imap.subscribed"


_msg = corpus.tagged("flags test", "fl", ["f"])


def _one(c, s, box, flags):
    """A new mailbox BOX with one message with FLAGS -> (sname, rel, uid)."""
    sname = personal_name(s, box)
    imaputil.create(c, sname)
    uid = imaputil.append_uid(c, sname, _msg(box), flags)
    return sname, personal_rel(s, box), uid


def _xflags(p):
    return set(os.getxattr(p, FLAGS).decode().split())


def test_setfattr_replaces(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    sname, rel, uid = _one(c, s, "FlReplace", ["\\Answered", "$Label1"])
    m = mount(s)
    p = os.path.join(m.path, rel, "%d.eml" % uid)
    r = subprocess.run(["setfattr", "-n", FLAGS, "-v", "\\Seen \\Flagged",
                        p], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert imaputil.flags_of(c, sname, uid) == {"\\Seen", "\\Flagged"}
    assert _xflags(p) == {"\\Seen", "\\Flagged"}
    r = subprocess.run(["getfattr", "-n", FLAGS, "--only-values", p],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert set(r.stdout.decode().split()) == {"\\Seen", "\\Flagged"}


def test_add_flag(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    sname, rel, uid = _one(c, s, "FlAdd", ["\\Seen"])
    m = mount(s)
    p = os.path.join(m.path, rel, "%d.eml" % uid)
    os.setxattr(p, FLAGS, b"+$Label1")
    assert imaputil.flags_of(c, sname, uid) == {"\\Seen", "$Label1"}
    assert _xflags(p) == {"\\Seen", "$Label1"}


def test_remove_flag(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    sname, rel, uid = _one(c, s, "FlRemove", ["\\Seen", "\\Flagged",
                                              "$Label2"])
    m = mount(s)
    p = os.path.join(m.path, rel, "%d.eml" % uid)
    os.setxattr(p, FLAGS, b"-\\Seen")
    assert imaputil.flags_of(c, sname, uid) == {"\\Flagged", "$Label2"}
    assert _xflags(p) == {"\\Flagged", "$Label2"}


def test_clear_flags(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    sname, rel, uid = _one(c, s, "FlClear", ["\\Seen", "\\Flagged"])
    m = mount(s)
    p = os.path.join(m.path, rel, "%d.eml" % uid)
    os.setxattr(p, FLAGS, b"")
    assert imaputil.flags_of(c, sname, uid) == set()
    assert _xflags(p) == set()


BAD = ["\\Bogus", "a(b", "\\Recent", "\\Seen \\Bogus", "+\\Recent", "a\"b"]


@pytest.mark.parametrize("value", BAD)
def test_invalid_flags(fresh_server, mount, imap, value):
    s = fresh_server
    c = imap(s)
    box = "FlBad%d" % BAD.index(value)
    sname, rel, uid = _one(c, s, box, ["\\Answered", "$Keep"])
    m = mount(s)
    p = os.path.join(m.path, rel, "%d.eml" % uid)
    with pytest.raises(OSError) as ei:
        os.setxattr(p, FLAGS, value.encode())
    assert ei.value.errno == errno.EINVAL, ei.value
    assert imaputil.flags_of(c, sname, uid) == {"\\Answered", "$Keep"}
    assert _xflags(p) == {"\\Answered", "$Keep"}


def test_flags_other_mailbox_untouched(fresh_server, mount, imap):
    """STORE goes to the right mailbox: same UID in two mailboxes."""
    s = fresh_server
    c = imap(s)
    a, arel, ua = _one(c, s, "FlTwinA", [])
    b, brel, ub = _one(c, s, "FlTwinB", [])
    assert ua == ub
    m = mount(s)
    os.setxattr(os.path.join(m.path, arel, "%d.eml" % ua), FLAGS,
                b"\\Flagged")
    assert imaputil.flags_of(c, a, ua) == {"\\Flagged"}
    assert imaputil.flags_of(c, b, ub) == set()


# ---------------------------------------------------------------- subscribed


def test_subscribed_xattr(fresh_server, mount, imap):
    s = fresh_server
    c = imap(s)
    on, off = personal_name(s, "SubOn"), personal_name(s, "SubOff")
    imaputil.create(c, on)
    imaputil.create(c, off)
    imaputil.check(c.subscribe(imaputil.quote(on)), "SUBSCRIBE")
    imaputil.check(c.unsubscribe(imaputil.quote(off)), "UNSUBSCRIBE")
    assert on.encode() in imaputil.lsub(c)
    assert off.encode() not in imaputil.lsub(c)
    m = mount(s)
    pon = os.path.join(m.path, personal_rel(s, "SubOn"))
    poff = os.path.join(m.path, personal_rel(s, "SubOff"))
    assert os.getxattr(pon, SUB).decode().strip() == "1"
    assert os.getxattr(poff, SUB).decode().strip() == "0"
    os.setxattr(poff, SUB, b"1")
    assert off.encode() in imaputil.lsub(c), "setting 1 did not SUBSCRIBE"
    os.setxattr(pon, SUB, b"0")
    assert on.encode() not in imaputil.lsub(c), \
        "setting 0 did not UNSUBSCRIBE"
    assert os.getxattr(pon, SUB).decode().strip() == "0"
    assert os.getxattr(poff, SUB).decode().strip() == "1"


def test_mount_option_subscribed(fresh_server, fresh_servers, mount, imap):
    # this layout's server with a rawlog, to see the mount's re-LIST
    s = fresh_servers(fresh_server.layout, rawlog=True)
    c = imap(s)
    shown, hidden = personal_name(s, "OnlySub"), personal_name(s, "NotSub")
    par, kid = personal_name(s, "SubPar"), personal_name(s, "SubPar", "Kid")
    for n in (shown, hidden, par, kid):
        imaputil.create(c, n)
    body = _msg("subscribed-only")
    uid = imaputil.append_uid(c, shown, body)
    for n in (hidden, par, kid):
        c.unsubscribe(imaputil.quote(n))
    imaputil.check(c.subscribe(imaputil.quote(shown)), "SUBSCRIBE")
    imaputil.check(c.subscribe(imaputil.quote(kid)), "SUBSCRIBE")
    subs = imaputil.lsub(c)
    assert shown.encode() in subs and kid.encode() in subs
    assert hidden.encode() not in subs and par.encode() not in subs
    poll_s = 2
    m = mount(s, opts=["subscribed", "poll=%d" % poll_s])
    root = os.path.dirname(os.path.join(m.path, personal_rel(s, "X")))
    # Twice: right after mounting, and once a background re-LIST has been
    # applied (it must keep the filter): one poll period late at worst,
    # plus slack
    bound = 2 * poll_s + 8
    for when in ("at mount", "after a re-LIST"):
        if when != "at mount":
            before = transcript.commands(s)
            assert poll(lambda: transcript.relisted(s, before), bound)[0], \
                "no re-LIST within %d s\n%s" % (bound, m.log())
        listed = os.listdir(root)
        assert "OnlySub" in listed, (when, listed)
        assert "SubPar" in listed, "%s: the parent of a subscribed " \
            "mailbox must be shown: %r" % (when, listed)
        assert "NotSub" not in listed, "%s: -o subscribed shows an " \
            "unsubscribed mailbox: %r" % (when, listed)
        assert not os.path.exists(os.path.join(root, "NotSub"))
        assert os.listdir(os.path.join(root, "SubPar")) == ["Kid"]
        assert os.listdir(os.path.join(root, "OnlySub")) == ["%d.eml" % uid]

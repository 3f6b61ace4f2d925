"""-o ro: every change fails with EROFS and the server is unchanged."""

import errno
import os
import stat
import subprocess
import time

import pytest

import corpus
import imaputil
from imaputil import personal_name, personal_rel


def _snapshot(c):
    """Everything the tests could change: mailboxes, subscriptions, and per
    selectable mailbox the UIDs, flags and bodies."""
    # \Marked/\Unmarked are Dovecot's view of \Recent, which it may
    # refresh when anyone opens the mailbox (a read-only EXAMINE too: seen
    # once as "-o ro: setfattr-flags changed the server"): not a change
    names = {n: sorted(a for a in attrs
                       if a.lower() not in ("\\marked", "\\unmarked"))
             for n, attrs in imaputil.mailbox_names(c).items()}
    snap = {"names": names, "lsub": imaputil.lsub(c)}
    for name, attrs in snap["names"].items():
        if any(a.lower() in ("\\noselect", "\\nonexistent") for a in attrs):
            continue
        meta = imaputil.fetch_meta(c, name)
        snap[name] = {u: (sorted(f for f in v["FLAGS"]
                                 if f.lower() != "\\recent"),
                          imaputil.fetch_body(c, u))
                      for u, v in meta.items()}
    return snap


@pytest.fixture(scope="module")
def ro_setup(fresh_server):
    """Mailboxes RoA (two messages, subscribed), RoB, RoEmpty."""
    s = fresh_server
    c = imaputil.connect(s)
    for box in ("RoA", "RoB", "RoEmpty"):
        imaputil.create(c, personal_name(s, box))
    uids = [imaputil.append_uid(
        c, personal_name(s, "RoA"),
        corpus.msg_plain("ro %d" % i, ["x"], msgid="ro-%d-%d" % (
            i, time.monotonic_ns())), ["\\Seen"]) for i in range(2)]
    c.subscribe(imaputil.quote(personal_name(s, "RoA")))
    c.logout()
    return uids


def _src(tmp):
    p = os.path.join(tmp, "in.eml")
    with open(p, "wb") as f:
        f.write(corpus.msg_plain("ro in", ["x"]))
    return p


def _ops(s, mnt, uids):
    a = os.path.join(mnt, personal_rel(s, "RoA"))
    b = os.path.join(mnt, personal_rel(s, "RoB"))
    e = os.path.join(mnt, personal_rel(s, "RoEmpty"))
    f1 = os.path.join(a, "%d.eml" % uids[0])

    def cp_in():
        with open(os.path.join(a, "new.eml"), "wb") as f:
            f.write(b"Subject: x\r\n\r\nx\r\n")
    return {
        "rm": lambda: os.unlink(f1),
        "mkdir": lambda: os.mkdir(os.path.join(mnt, personal_rel(
            s, "RoNew"))),
        "rmdir": lambda: os.rmdir(e),
        "mv-dir": lambda: os.rename(e, os.path.join(mnt, personal_rel(
            s, "RoRenamed"))),
        "mv-msg": lambda: os.rename(f1, os.path.join(b, "%d.eml"
                                                     % uids[0])),
        "cp-in": cp_in,
        "setfattr-flags": lambda: os.setxattr(f1, "user.imap.flags",
                                              b"\\Flagged"),
        "setfattr-subscribed": lambda: os.setxattr(a, "user.imap.subscribed",
                                                   b"0"),
    }


OPS = ["rm", "mkdir", "rmdir", "mv-dir", "mv-msg", "cp-in", "setfattr-flags",
       "setfattr-subscribed"]


@pytest.mark.parametrize("op", OPS)
def test_ro_refuses(fresh_server, ro_setup, mount, imap, op):
    s = fresh_server
    c = imap(s)
    before = _snapshot(c)
    m = mount(s, opts=["ro"])
    with pytest.raises(OSError) as ei:
        _ops(s, m.path, ro_setup)[op]()
    assert ei.value.errno == errno.EROFS, ei.value
    assert _snapshot(c) == before, "-o ro: %s changed the server" % op


def test_ro_modes(fresh_server, ro_setup, mount):
    """imapfs.1 (Messages): with ro, files are 0400 and directories 0500
    (they showed as -rw-------); without it, 0600 and 0700."""
    s = fresh_server
    for opts, fmode, dmode in ((["ro"], 0o400, 0o500), ([], 0o600, 0o700)):
        m = mount(s, opts=opts)
        a = os.path.join(m.path, personal_rel(s, "RoA"))
        dirs = [a, os.path.join(m.path, personal_rel(s, "RoEmpty")),
                os.path.join(m.path, "INBOX")]
        for d in dirs:
            st = os.stat(d)
            assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == dmode, (
                "%s %r: mode %o, want %o" % (opts, d, st.st_mode, dmode))
        files = sorted(os.listdir(a))
        assert files == sorted("%d.eml" % u for u in ro_setup), files
        for f in files:
            p = os.path.join(a, f)
            # fstat of an open file and stat after listing: one answer
            for st in (os.stat(p), os.lstat(p)):
                assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == fmode, (
                    "%s %r: mode %o, want %o" % (opts, p, st.st_mode, fmode))
            with open(p, "rb") as fh:
                st = os.fstat(fh.fileno())
            assert stat.S_IMODE(st.st_mode) == fmode
        r = subprocess.run(["ls", "-l", a], capture_output=True, timeout=60)
        want = "-r--------" if opts else "-rw-------"
        lines = [ln for ln in r.stdout.decode().splitlines() if ln.endswith(".eml")]
        assert r.returncode == 0 and len(lines) == 2 and all(
            ln.startswith(want) for ln in lines), r

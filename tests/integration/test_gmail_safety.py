r"""Gmail (X-GM-EXT-1): writes through one name of a many-named message
must never act on another folder's copy in a way that loses mail, and no
race between a body fetch and the message leaving its folder may leave a
reader waiting for ever. Against gmailserver.GmailServer; every result is
checked in the server's own state and transcript.

  the model's Auto-Expunge (imaplib)       STORE +FLAGS (\Deleted) in
                                           INBOX takes \Inbox away at once;
                                           in All Mail it moves to Trash
  setfattr +\Deleted on a Gmail file       EPERM, nothing stored: even
                                           after ls of All Mail, which made
                                           the inode's place All Mail (its
                                           auto-expunge there would trash
                                           the message)
  setfattr +\Flagged after ls All Mail     stored, in a label folder that
                                           shows the message, not All Mail
  rm in a label folder, Auto-Expunge on    only that label goes
  setfattr +Label                          lists that label's folder again,
                                           not All Mail; st_nlink follows
  RFC822.SIZE lies; body read via INBOX    the Work copy's size is the
                                           real one too
  rm of INBOX/N.eml while its body is      cat of the All Mail copy ends in
  being fetched (slow server)              seconds (the claim on the shared
                                           body was left behind before)
"""

import errno
import imaplib
import os
import ssl
import subprocess
import threading
import time

import pytest

from gmailserver import ALL
from test_gmail import ALLDIR, _body, _mount, _path, gmail  # noqa: F401


def _look_all(m, first):
    """Look FIRST up, then every file of All Mail: All Mail becomes the
    place its inode was last seen."""
    os.stat(first)
    for name in os.listdir(os.path.join(m.path, ALLDIR)):
        os.stat(os.path.join(m.path, ALLDIR, name))


def _stores(gs, since=0, name="UID STORE"):
    """(mailbox selected, command line) of each command NAME after
    command SINCE, following each connection's SELECT."""
    sel, out = {}, []
    with gs._lock:
        cmds = list(gs.commands)
    for i, (no, _tag, cmd, shown) in enumerate(cmds):
        if cmd in ("SELECT", "EXAMINE"):
            # "TAG SELECT mailbox"
            sel[no] = shown.split(b" ", 2)[2].strip().strip(b'"')
        elif cmd == name and i >= since:
            out.append((sel.get(no), shown))
    return out


def _imap(gs, pki):
    ctx = ssl.create_default_context(cafile=pki.cafile)
    c = imaplib.IMAP4_SSL("127.0.0.1", gs.port, ssl_context=ctx)
    c.login("alice", "pw")
    return c


def test_model_auto_expunge(gmail, pki):
    """The scripted server's Auto-Expunge, checked with imaplib."""
    gmail.auto_expunge = True
    a = gmail.add(_body(b"a"), labels={"\\Inbox", "Work"})
    b = gmail.add(_body(b"b"), labels={"\\Inbox"})
    c = _imap(gmail, pki)
    try:
        c.select("INBOX")
        typ, data = c.uid("STORE", str(gmail.folder_uids(b"INBOX")[a]),
                          "+FLAGS", "(\\Deleted)")
        assert typ == "OK"
        assert gmail.labels(a) == {"Work"}          # out of INBOX at once
        assert a not in gmail.folder_uids(b"INBOX")
        c.select('"[Gmail]/All Mail"')
        c.uid("STORE", str(gmail.folder_uids(ALL)[b]), "+FLAGS",
              "(\\Deleted)")
        assert "\\Trash" in gmail.labels(b)         # All Mail: to Trash
    finally:
        c.logout()
    gmail.auto_expunge = False
    d = gmail.add(_body(b"d"), labels={"\\Inbox"})
    c = _imap(gmail, pki)
    try:
        c.select("INBOX")
        c.uid("STORE", str(gmail.folder_uids(b"INBOX")[d]), "+FLAGS",
              "(\\Deleted)")
        assert gmail.labels(d) == {"\\Inbox"}       # off: waits for EXPUNGE
    finally:
        c.logout()


def test_deleted_flag_refused(gmail, pki, mount):
    gmail.auto_expunge = True
    mid = gmail.add(_body(b"del"), labels={"\\Inbox", "Work"})
    m = _mount(gmail, pki, mount)
    ip = _path(m, b"INBOX", gmail.folder_uids(b"INBOX")[mid])
    _look_all(m, ip)
    n = len(gmail.commands)
    with pytest.raises(OSError) as e:
        os.setxattr(ip, "user.imap.flags", b"+\\Deleted")
    assert e.value.errno == 1   # EPERM
    with pytest.raises(OSError) as ei:
        os.setxattr(ip, "user.imap.flags", b"\\Seen \\Deleted")
    assert ei.value.errno == errno.EPERM, ei.value
    assert _stores(gmail, n) == []
    assert gmail.exists(mid)
    assert gmail.labels(mid) == {"\\Inbox", "Work"}
    assert mid in gmail.folder_uids(ALL)


def test_rm_with_auto_expunge(gmail, pki, mount):
    """Gmail's Auto-Expunge on: rm in a label folder still takes only that
    label away (the STORE expunges at once, the UID EXPUNGE that follows
    finds nothing), and nothing else is touched."""
    gmail.auto_expunge = True
    mid = gmail.add(_body(b"ae"), labels={"\\Inbox", "Work"})
    other = gmail.add(_body(b"other"), labels={"Work"})
    m = _mount(gmail, pki, mount)
    wp = _path(m, b"Work", gmail.folder_uids(b"Work")[mid])
    os.unlink(wp)
    assert gmail.labels(mid) == {"\\Inbox"}
    assert mid in gmail.folder_uids(ALL)
    assert gmail.labels(other) == {"Work"}
    assert not os.path.exists(wp)


def test_flags_stored_in_a_label_folder(gmail, pki, mount):
    mid = gmail.add(_body(b"flag"), labels={"\\Inbox"})
    alone = gmail.add(_body(b"alone"), labels=set())
    m = _mount(gmail, pki, mount)
    ip = _path(m, b"INBOX", gmail.folder_uids(b"INBOX")[mid])
    _look_all(m, ip)
    n = len(gmail.commands)
    os.setxattr(ip, "user.imap.flags", b"+\\Flagged")
    stores = _stores(gmail, n)
    assert stores and all(mb == b"INBOX" for mb, _ in stores), stores
    assert "\\Flagged" in gmail.store[mid].flags
    # a message only in All Mail is flagged there (no other place)
    ap = _path(m, ALL, gmail.folder_uids(ALL)[alone])
    n = len(gmail.commands)
    os.setxattr(ap, "user.imap.flags", b"+\\Seen")
    assert [mb for mb, _ in _stores(gmail, n)] == [ALL]
    assert "\\Seen" in gmail.store[alone].flags


def test_label_change_lists_only_its_folders(gmail, pki, mount):
    """+Label lists that label's folder again, not All Mail (a UID FETCH
    1:* of the whole account per setfattr), and the link count seen
    through every name follows at once."""
    mid = gmail.add(_body(b"lab"), labels={"\\Inbox", "Work"})
    gmail.add(_body(b"trip"), labels={"Travel"})
    m = _mount(gmail, pki, mount)
    ip = _path(m, b"INBOX", gmail.folder_uids(b"INBOX")[mid])
    ap = _path(m, ALL, gmail.folder_uids(ALL)[mid])
    for d in ("INBOX", "Work", "Travel", ALLDIR):
        os.listdir(os.path.join(m.path, d))
    assert os.stat(ap).st_nlink == 3
    assert os.stat(ip).st_nlink == 3
    n = len(gmail.commands)
    os.setxattr(ip, "user.imap.labels", b"+Travel")
    assert gmail.labels(mid) == {"\\Inbox", "Work", "Travel"}
    assert os.stat(ap).st_nlink == 4
    assert sorted(os.getxattr(ap, "user.imap.labels").decode().split()) \
        == ["Travel", "Work", "\\Inbox"]
    assert "%d.eml" % gmail.folder_uids(b"Travel")[mid] in \
        os.listdir(os.path.join(m.path, "Travel"))
    os.listdir(os.path.join(m.path, ALLDIR))
    os.listdir(os.path.join(m.path, "Work"))
    lists = [mb for mb, line in _stores(gmail, n, "UID FETCH")
             if b" 1:* " in line]
    assert ALL not in lists and b"Work" not in lists, lists
    os.setxattr(ip, "user.imap.labels", b"-Work")
    assert os.stat(ap).st_nlink == 3
    assert os.listdir(os.path.join(m.path, "Work")) == []


def test_real_size_reaches_every_copy(gmail, pki, mount):
    """RFC822.SIZE lies; once the body is read through one name, the
    message's copies in the other loaded folders have its real size."""
    body = _body(b"size", 6000)
    mid = gmail.add(body, labels={"\\Inbox", "Work"})
    gmail.size_claims[mid] = len(body) - 500
    m = _mount(gmail, pki, mount)
    ip = _path(m, b"INBOX", gmail.folder_uids(b"INBOX")[mid])
    wdir = os.path.join(m.path, "Work")
    os.listdir(wdir)
    os.listdir(os.path.join(m.path, ALLDIR))
    with open(ip, "rb") as f:
        assert f.read() == body
    # the Work copy, listed before the read, is looked up (and its
    # attributes taken) there now
    assert os.path.getsize(os.path.join(
        wdir, "%d.eml" % gmail.folder_uids(b"Work")[mid])) == len(body)
    assert [e.stat().st_size for e in os.scandir(wdir)] == [len(body)]


def test_rm_during_body_fetch_does_not_hang(gmail, pki, mount):
    body = _body(b"race", 20_000)
    mid = gmail.add(body, labels={"\\Inbox", "Work"})
    m = _mount(gmail, pki, mount)
    ip = _path(m, b"INBOX", gmail.folder_uids(b"INBOX")[mid])
    apath = _path(m, ALL, gmail.folder_uids(ALL)[mid])
    os.stat(apath)
    os.stat(ip)     # last looked up in INBOX: the open reads it there
    gmail.body_delay = 2.0
    got = {}

    def slow_read():
        try:
            with open(ip, "rb") as f:
                got["inbox"] = f.read()
        except OSError as e:
            got["inbox"] = e

    t = threading.Thread(target=slow_read, daemon=True)
    t.start()
    # wait until the body FETCH has been sent, then rm the INBOX name
    deadline = time.time() + 5
    while not gmail.body_fetches() and time.time() < deadline:
        time.sleep(0.02)
    assert gmail.body_fetches()
    os.unlink(ip)
    assert gmail.labels(mid) == {"Work"}
    gmail.body_delay = 0.0
    t.join(10)
    p = subprocess.Popen(["cat", apath], stdout=subprocess.PIPE)
    try:
        out, _ = p.communicate(timeout=8)
    except subprocess.TimeoutExpired:
        p.kill()
        pytest.fail("cat of the All Mail copy hangs (a claim left behind)")
    assert out == body

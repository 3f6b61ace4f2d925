r"""Gmail (X-GM-EXT-1) against a scripted Gmail (gmailserver.GmailServer):
one message, many folders, one inode. Every result is checked in the
server's own state (its store, its labels, its transcript), not only
through the mount.

  a message in INBOX, Work and All Mail     its body is fetched once
                                            (one UID FETCH BODY in all) and
                                            cached once; one st_ino in the
                                            three folders, st_nlink == 3
  du -s of the mount                        counts it once
  rsync -aH of the mount                    one inode in the copy, 3 links
  find -samefile                            lists its three paths
  getfattr user.imap.labels                 the server's labels, the
                                            folder's own label included
                                            (Gmail leaves it out there)
  setfattr +Label / -Label / replace        the server's labels change so
                                            (modified UTF-7 beyond ASCII;
                                            CR/LF refused, nothing sent)
  X-GM-LABELS (\Inbox Work), unquoted       read all the same
  rm in a label folder                      only that label goes; the
                                            message stays in All Mail
  rm in Trash                               deleted for ever
  rm in All Mail                            in Trash (Gmail's default),
                                            gone from INBOX
  mv between label folders                  gains the target label, loses
                                            the source one; one message
  mkdir / rmdir / mv of a label folder      CREATE / DELETE (refused while
                                            it shows mail) / RENAME; the
                                            links follow the new name
  allmail=hide / allmail=only               All Mail hidden / only it (and
                                            the watcher idles there)
  a server without X-GM-EXT-1               plain files, nlink 1
"""

import errno
import os
import subprocess
import tempfile
import time

import pytest

from gmailserver import ALL, TRASH, GmailServer
from mountutil import local_url

ALLDIR = "[Gmail]/All Mail"


def _body(tag, size=3000):
    head = b"From: g@gmail.example\r\nSubject: %s\r\n\r\n" % tag
    return head + b"%s line of the body\r\n" % tag * (size // 24)


@pytest.fixture
def gmail(pki):
    s = GmailServer(cert=pki.leaf("gmail"), password="pw").start()
    yield s
    s.stop()


def _mount(gs, pki, mount, extra=()):
    return mount(url=local_url("alice", gs.port),
                 cafile=pki.cafile, password="pw",
                 opts=["timeout=10", "poll=0"] + list(extra))


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _uid(gs, folder, mid):
    return gs.folder_uids(folder)[mid]


def _path(m, folder, uid):
    return os.path.join(m.path, folder.decode() if isinstance(folder, bytes)
                        else folder, "%d.eml" % uid)


def _getlabels(path):
    return os.getxattr(path, "user.imap.labels").decode()


def test_one_body_one_inode(gmail, pki, mount):
    body = _body(b"three")
    mid = gmail.add(body, labels={"\\Inbox", "Work"})
    other = gmail.add(_body(b"alone"), labels=set())
    m = _mount(gmail, pki, mount)
    paths = [_path(m, b"INBOX", _uid(gmail, b"INBOX", mid)),
             _path(m, b"Work", _uid(gmail, b"Work", mid)),
             _path(m, ALL, _uid(gmail, ALL, mid))]
    before = len(gmail.body_fetches())
    for p in paths:
        assert _read(p) == body
    fetched = gmail.body_fetches()[before:]
    assert len(fetched) == 1, gmail.transcript()
    sts = [os.stat(p) for p in paths]
    assert len({st.st_ino for st in sts}) == 1
    assert all(st.st_nlink == 3 for st in sts)
    # a message only in All Mail is a file of one link
    alone = os.stat(_path(m, ALL, _uid(gmail, ALL, other)))
    assert alone.st_nlink == 1 and alone.st_ino != sts[0].st_ino
    # cached once: the body cache holds one file for it, not three
    status = subprocess.run(["getfattr", "--only-values", "-n",
                             "user.imapfs.status", m.path],
                            capture_output=True, text=True).stdout
    assert "cache use: 1 bodies" in status, status
    assert "X-GM-EXT-1" in status


def test_du_rsync_find(gmail, pki, mount):
    body = _body(b"big", 200_000)
    mid = gmail.add(body, labels={"\\Inbox", "Work"})
    m = _mount(gmail, pki, mount)
    paths = sorted([_path(m, b"INBOX", _uid(gmail, b"INBOX", mid)),
                    _path(m, b"Work", _uid(gmail, b"Work", mid)),
                    _path(m, ALL, _uid(gmail, ALL, mid))])
    # du counts a hard-linked file once
    du = subprocess.run(["du", "-s", "-B1", "--apparent-size", m.path],
                        capture_output=True, text=True, check=True)
    total = int(du.stdout.split()[0])
    assert len(body) <= total < 2 * len(body), du.stdout
    # find -samefile lists every folder it is in
    found = subprocess.run(["find", m.path, "-samefile", paths[0]],
                           capture_output=True, text=True, check=True)
    assert sorted(found.stdout.split("\n")[:-1]) == paths
    # rsync -H keeps it one file
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["rsync", "-aH", m.path + "/", d + "/"], check=True,
                       capture_output=True)
        copies = [os.path.join(d, os.path.relpath(p, m.path)) for p in paths]
        sts = [os.stat(c) for c in copies]
        assert len({st.st_ino for st in sts}) == 1
        assert sts[0].st_nlink == 3
        assert _read(copies[1]) == body
    assert len(gmail.body_fetches()) <= 2   # one body (in windows: large)


def test_labels_xattr(gmail, pki, mount):
    mid = gmail.add(_body(b"lab"), labels={"\\Inbox", "Work"})
    gmail.add(_body(b"other"), labels={"Travel", "To do"})
    m = _mount(gmail, pki, mount)
    p = _path(m, ALL, _uid(gmail, ALL, mid))
    shown = _getlabels(p).split()
    assert sorted(shown) == ["Work", "\\Inbox"]
    assert "user.imap.labels" in os.listxattr(p)
    # Gmail leaves a folder's own label out of FETCH X-GM-LABELS there;
    # the file in INBOX has \Inbox all the same
    ip = _path(m, b"INBOX", _uid(gmail, b"INBOX", mid))
    assert sorted(_getlabels(ip).split()) == ["Work", "\\Inbox"]

    os.setxattr(p, "user.imap.labels", b'+"To do"')
    assert gmail.labels(mid) == {"\\Inbox", "Work", "To do"}
    assert '"To do"' in _getlabels(p)
    # the new label is a folder, and the message is in it: one more link
    assert os.stat(p).st_nlink == 4
    assert sorted(os.listdir(os.path.join(m.path, "To do"))) == sorted(
        "%d.eml" % u for u in gmail.folder_uids(b"To do").values())
    os.setxattr(p, "user.imap.labels", b"-Work")
    assert gmail.labels(mid) == {"\\Inbox", "To do"}
    # taking off a folder's own label takes the file out of that folder
    ip = _path(m, b"INBOX", _uid(gmail, b"INBOX", mid))
    os.listdir(os.path.join(m.path, "INBOX"))
    os.setxattr(ip, "user.imap.labels", b"-\\Inbox")
    assert gmail.labels(mid) == {"To do"}
    # (the kernel is told from imapfs's notification thread, just after
    # the reply)
    deadline = time.time() + 2
    while os.path.exists(ip) and time.time() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(ip)
    assert os.listdir(os.path.join(m.path, "INBOX")) == []
    os.setxattr(p, "user.imap.labels", b"Travel \\Starred")
    assert gmail.labels(mid) == {"Travel", "\\Starred"}
    assert sorted(_getlabels(p).split()) == ["Travel", "\\Starred"]
    # beyond ASCII: modified UTF-7 on the wire, UTF-8 in the attribute
    os.setxattr(p, "user.imap.labels", "+Caf\u00e9".encode())
    assert gmail.labels(mid) == {"Travel", "\\Starred", "Caf&AOk-"}
    assert "Caf\u00e9" in _getlabels(p).split()
    os.setxattr(p, "user.imap.labels", "-Caf\u00e9".encode())
    # CR/LF never reach the wire: refused before anything is sent
    n = len(gmail.commands)
    with pytest.raises(OSError) as ei:
        os.setxattr(p, "user.imap.labels", b"+evil\r\nA1 DELETE INBOX")
    assert ei.value.errno == errno.EINVAL, ei.value
    assert not any(c[2] == "DELETE" for c in gmail.commands[n:])
    assert gmail.labels(mid) == {"Travel", "\\Starred"}


def test_bare_system_labels(gmail, pki, mount):
    """X-GM-LABELS (\\Inbox Work) as Google's documentation writes it:
    libetpan's parser wants "\\\\Inbox" quoted and would drop the
    connection; the listing works all the same."""
    gmail.bare_system_labels = True
    mid = gmail.add(_body(b"bare"), labels={"\\Inbox", "\\Important", "Work"})
    m = _mount(gmail, pki, mount)
    p = _path(m, ALL, _uid(gmail, ALL, mid))
    assert os.stat(p).st_nlink == 4     # All Mail, INBOX, Important, Work
    assert sorted(_getlabels(p).split()) == ["Work", "\\Important",
                                             "\\Inbox"]
    assert "error" not in [e[0] for e in gmail.events]


def test_rm_in_label_folder_removes_the_label(gmail, pki, mount):
    mid = gmail.add(_body(b"rmlabel"), labels={"\\Inbox", "Work"})
    m = _mount(gmail, pki, mount)
    wp = _path(m, b"Work", _uid(gmail, b"Work", mid))
    ap = _path(m, ALL, _uid(gmail, ALL, mid))
    assert os.stat(ap).st_nlink == 3
    os.unlink(wp)
    assert gmail.exists(mid)
    assert gmail.labels(mid) == {"\\Inbox"}
    assert mid in gmail.folder_uids(ALL)
    assert not os.path.exists(wp)
    assert os.stat(ap).st_nlink == 2
    assert sorted(os.listdir(os.path.join(m.path, "Work"))) == []


def test_rm_in_trash_deletes_for_ever(gmail, pki, mount):
    keep = gmail.add(_body(b"keep"), labels={"\\Trash"})
    mid = gmail.add(_body(b"bin"), labels={"\\Trash"})
    m = _mount(gmail, pki, mount)
    tp = _path(m, TRASH, _uid(gmail, TRASH, mid))
    assert os.stat(tp).st_nlink == 1    # not in All Mail while in Trash
    os.unlink(tp)
    assert not gmail.exists(mid)
    assert gmail.exists(keep)           # nothing else went


def test_rm_in_all_mail_moves_to_trash(gmail, pki, mount):
    mid = gmail.add(_body(b"allrm"), labels={"\\Inbox"})
    m = _mount(gmail, pki, mount)
    os.listdir(os.path.join(m.path, "INBOX"))
    os.unlink(_path(m, ALL, _uid(gmail, ALL, mid)))
    assert gmail.exists(mid)
    assert "\\Trash" in gmail.labels(mid)
    assert os.listdir(os.path.join(m.path, "INBOX")) == []
    assert os.listdir(os.path.join(m.path, "[Gmail]", "Trash")) == \
        ["%d.eml" % _uid(gmail, TRASH, mid)]


def test_mv_between_label_folders(gmail, pki, mount):
    mid = gmail.add(_body(b"mv"), labels={"\\Inbox", "Work"})
    gmail.add(_body(b"other"), labels={"Travel"})
    m = _mount(gmail, pki, mount)
    ino = os.stat(_path(m, b"Work", _uid(gmail, b"Work", mid))).st_ino
    os.rename(_path(m, b"Work", _uid(gmail, b"Work", mid)),
              os.path.join(m.path, "Travel", "new.eml"))
    assert gmail.labels(mid) == {"\\Inbox", "Travel"}
    assert len(gmail.store) == 2        # still one message
    tp = _path(m, b"Travel", _uid(gmail, b"Travel", mid))
    st = os.stat(tp)
    assert st.st_ino == ino and st.st_nlink == 3
    assert os.listdir(os.path.join(m.path, "Work")) == []


def test_label_folders(gmail, pki, mount):
    """mkdir / rmdir / mv of label folders: CREATE / DELETE / RENAME of
    labels; rmdir never takes a label off mail."""
    mid = gmail.add(_body(b"lf"), labels={"\\Inbox", "Work"})
    m = _mount(gmail, pki, mount)
    os.mkdir(os.path.join(m.path, "Later"))
    assert b"Later" in gmail.folders
    with pytest.raises(OSError) as e:
        os.rmdir(os.path.join(m.path, "Work"))
    assert e.value.errno == errno.ENOTEMPTY
    assert gmail.labels(mid) == {"\\Inbox", "Work"}
    os.rmdir(os.path.join(m.path, "Later"))
    assert b"Later" not in gmail.folders
    ap = _path(m, ALL, _uid(gmail, ALL, mid))
    assert os.stat(ap).st_nlink == 3
    os.rename(os.path.join(m.path, "Work"), os.path.join(m.path, "Job"))
    assert gmail.labels(mid) == {"\\Inbox", "Job"}
    assert b"Job" in gmail.folders and b"Work" not in gmail.folders
    # the message's labels followed: still three links, labels say Job
    assert os.stat(ap).st_nlink == 3
    assert sorted(_getlabels(ap).split()) == ["Job", "\\Inbox"]
    assert os.stat(_path(m, b"Job", _uid(gmail, b"Job", mid))).st_ino == \
        os.stat(ap).st_ino


def _idles_on(gs, folder):
    """Did a connection send IDLE with FOLDER selected?"""
    sel = {}
    for conn, _tag, cmd, raw in list(gs.commands):
        if cmd in ("SELECT", "EXAMINE"):
            sel[conn] = folder.decode() in raw.decode("latin-1")
        elif cmd == "IDLE" and sel.get(conn):
            return True
    return False


@pytest.mark.parametrize("mode", ["hide", "only"])
def test_allmail_option(gmail, pki, mount, mode):
    mid = gmail.add(_body(b"opt"), labels={"\\Inbox", "Work"})
    m = _mount(gmail, pki, mount, ["allmail=" + mode])
    top = sorted(os.listdir(m.path))
    gm = sorted(os.listdir(os.path.join(m.path, "[Gmail]")))
    if mode == "hide":
        assert "All Mail" not in gm and "INBOX" in top and "Work" in top
        st = os.stat(_path(m, b"Work", _uid(gmail, b"Work", mid)))
        assert st.st_nlink == 2
    else:
        assert top == ["[Gmail]"] and gm == ["All Mail"]
        st = os.stat(_path(m, ALL, _uid(gmail, ALL, mid)))
        assert st.st_nlink == 1
        # INBOX is hidden: the watcher idles on All Mail instead
        deadline = time.time() + 5
        while time.time() < deadline and not _idles_on(gmail, ALL):
            time.sleep(0.1)
        assert _idles_on(gmail, ALL), gmail.transcript()


def test_not_gmail_unchanged(pki, mount):
    gs = GmailServer(cert=pki.leaf("plain"), password="pw")
    gs.caps_auth = [c for c in gs.caps_auth if c != "X-GM-EXT-1"]
    gs.start()
    try:
        mid = gs.add(_body(b"plain"), labels={"\\Inbox", "Work"})
        m = _mount(gs, pki, mount)
        a = os.stat(_path(m, b"INBOX", _uid(gs, b"INBOX", mid)))
        b = os.stat(_path(m, b"Work", _uid(gs, b"Work", mid)))
        assert a.st_ino != b.st_ino and a.st_nlink == 1 and b.st_nlink == 1
        assert "user.imap.labels" not in os.listxattr(
            _path(m, b"INBOX", _uid(gs, b"INBOX", mid)))
        assert not any("X-GM" in c[3].decode("latin-1")
                       for c in gs.commands)
    finally:
        gs.stop()

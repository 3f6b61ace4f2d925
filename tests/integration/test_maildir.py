"""The Maildir view (-o layout=maildir; src/vfs_maildir.h; imapfs.1
MAILDIR; issue 17): every mailbox a Maildir that mutt, neomutt, mu and
notmuch open directly, each of their changes one IMAP change.

Against Dovecot, with the real clients from Debian, and every result
checked through imaplib: the shape and the names (their grammar computed
here, independently), reads byte-exact, a rename's info part as UID STORE
(T as \\Deleted that expunges nothing), rm as UID EXPUNGE of that UID,
tmp/ then new/ as one APPEND, a rename between Maildirs as a move; mutt
and neomutt flagging, deleting, saving to another folder and making a new
one; mu index and mu find; notmuch new with synchronize_flags and notmuch
tag reaching the server's flags. And what must never touch mail: a name
from another mailbox or an old UIDVALIDITY, the files layout's UID.eml.
"""

import errno
import os
import shutil
import subprocess
import tempfile

import pytest

import imaputil
from imaputil import personal_name, personal_rel
from liveutil import uniq, msg, wait_for


def _crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


_LETTERS = (("\\Draft", "D"), ("\\Flagged", "F"), ("$Forwarded", "P"),
            ("\\Answered", "R"), ("\\Seen", "S"), ("\\Deleted", "T"))


def _name(uv, uid, mailbox, flags):
    """The name imapfs.1 MAILDIR gives: UIDVALIDITY_UID_BOX.imapfs,U=UID:2,FLAGS
    (the first UID in ten digits)."""
    low = {f.lower() for f in flags}
    info = "".join(l for f, l in _LETTERS if f.lower() in low)
    return "%d_%010d_%08x.imapfs,U=%d:2,%s" % (uv, uid, _crc32c(mailbox.encode()), uid, info)


def _uv(c, name):
    return int(imaputil.status(c, name, ("UIDVALIDITY",))["UIDVALIDITY"])


def _box(s, c, tag, specs):
    """A fresh mailbox holding one message per (subject, flags) of SPECS
    -> (server name, path relative to the mount, [uids])."""
    leaf = uniq(tag)
    name = personal_name(s, leaf)
    imaputil.create(c, name)
    uids = [imaputil.append_uid(c, name, msg("%s %s" % (leaf, subj)), flags=flags)
            for subj, flags in specs]
    return name, personal_rel(s, leaf), uids


def _mount(mount, s):
    return mount(s, opts=["layout=maildir"])


def _server(fresh_servers):
    return fresh_servers("slash")


def _flags(c, name, uid):
    return {f for f in imaputil.flags_of(c, name, uid)}


def test_shape_names_and_reads(fresh_servers, mount, imap):
    s = _server(fresh_servers)
    c = imap(s)
    name, rel, uids = _box(s, c, "Shape", [("a", ()), ("b", ("\\Seen",)),
                                           ("c", ("\\Flagged", "\\Answered", "$Forwarded"))])
    imaputil.create(c, name + s.delimiter + "Sub")
    m = _mount(mount, s)
    d = os.path.join(m.path, rel)
    assert sorted(os.listdir(d)) == sorted(["cur", "new", "tmp", "Sub"])
    uv = _uv(c, name)
    want = {_name(uv, u, name, _flags(c, name, u)): u for u in uids}
    assert sorted(os.listdir(os.path.join(d, "cur"))) == sorted(want)
    assert os.listdir(os.path.join(d, "new")) == [] and os.listdir(os.path.join(d, "tmp")) == []
    imaputil.examine(c, name)
    for fn, u in want.items():
        with open(os.path.join(d, "cur", fn), "rb") as f:
            assert f.read() == imaputil.fetch_body(c, u)
    assert "U=%d:2,FPR" % uids[2] in [fn for fn in want if want[fn] == uids[2]][0]
    # (a mailbox named "cur" is shown as "%63ur": Dovecot refuses to make
    # one, so test_names covers it.) mkdir of a Maildir's own subdirectory:
    with pytest.raises(FileExistsError):
        os.mkdir(os.path.join(d, "cur"))
    assert os.stat(os.path.join(d, "cur")).st_nlink == 2


def test_names_that_must_not_reach_mail(fresh_servers, mount, imap):
    s = _server(fresh_servers)
    c = imap(s)
    name, rel, uids = _box(s, c, "Guard", [("a", ()), ("b", ())])
    other, orel, ouids = _box(s, c, "Other", [("x", ())])
    m = _mount(mount, s)
    d = os.path.join(m.path, rel)
    uv = _uv(c, name)
    for bad in ("%d.eml" % uids[0],                       # the files layout's name
                _name(uv + 1, uids[0], name, ()),         # another UIDVALIDITY
                _name(uv, uids[0], other, ()),            # another mailbox's
                _name(uv, uids[0], name, ("\\Seen",)),    # flags it does not have
                _name(uv, 99999, name, ())):
        with pytest.raises(FileNotFoundError):
            os.stat(os.path.join(d, "cur", bad))
        with pytest.raises(FileNotFoundError):
            os.unlink(os.path.join(d, "cur", bad))
    for bad in ("%d.eml" % uids[0], _name(uv, uids[0], name, ())):
        with pytest.raises(FileNotFoundError):
            os.unlink(os.path.join(d, bad))               # a mailbox's own directory holds no files
    with pytest.raises(PermissionError):
        open(os.path.join(d, "new.eml"), "wb")
    with pytest.raises(OSError):                         # a stored message never goes back to tmp/
        os.rename(os.path.join(d, "cur", _name(uv, uids[0], name, ())), os.path.join(d, "tmp", "x"))
    assert imaputil.uids(c, name) == uids and imaputil.uids(c, other) == ouids
    assert _flags(c, name, uids[0]) == set()


def test_rename_sets_flags_and_trash_never_expunges(fresh_servers, mount, imap):
    s = _server(fresh_servers)
    c = imap(s)
    name, rel, uids = _box(s, c, "Flags", [("a", ()), ("b", ("\\Seen",))])
    m = _mount(mount, s)
    cur = os.path.join(m.path, rel, "cur")
    uv = _uv(c, name)
    u = uids[0]

    def ren(old, new):
        os.rename(os.path.join(cur, _name(uv, u, name, old)), os.path.join(cur, _name(uv, u, name, new)))

    ren((), ("\\Flagged", "\\Seen"))
    assert _flags(c, name, u) == {"\\Flagged", "\\Seen"}
    assert _name(uv, u, name, ("\\Flagged", "\\Seen")) in os.listdir(cur)
    ren(("\\Flagged", "\\Seen"), ("\\Seen", "\\Deleted"))
    assert _flags(c, name, u) == {"\\Seen", "\\Deleted"}
    assert imaputil.uids(c, name) == uids                 # T expunges nothing
    ren(("\\Seen", "\\Deleted"), ("\\Seen", "$Forwarded", "\\Draft"))
    assert _flags(c, name, u) == {"\\Seen", "$Forwarded", "\\Draft"}
    assert _flags(c, name, uids[1]) == {"\\Seen"}        # the other one untouched
    # another client's change shows under the new name once the folder shows it
    imaputil.store_flags(c, name, uids[1], "+FLAGS", ["\\Answered"])
    want = _name(uv, uids[1], name, ("\\Seen", "\\Answered"))
    wait_for(lambda: want in os.listdir(cur), 30, "another client's \\Answered in the name")


def test_unlink_and_move_between_maildirs(fresh_servers, mount, imap):
    s = _server(fresh_servers)
    c = imap(s)
    name, rel, uids = _box(s, c, "Src", [("a", ()), ("b", ()), ("c", ("\\Flagged",))])
    dest, drel, _ = _box(s, c, "Dst", [])
    m = _mount(mount, s)
    cur = os.path.join(m.path, rel, "cur")
    uv = _uv(c, name)
    imaputil.examine(c, name)
    moved_body = imaputil.fetch_body(c, uids[2])
    os.unlink(os.path.join(cur, _name(uv, uids[0], name, ())))
    assert imaputil.uids(c, name) == uids[1:]
    src = os.path.join(cur, _name(uv, uids[2], name, ("\\Flagged",)))
    dst = os.path.join(m.path, drel, "cur", "moved:2,FS")
    os.rename(src, dst)
    assert imaputil.uids(c, name) == [uids[1]]
    (nu,) = imaputil.uids(c, dest)
    imaputil.examine(c, dest)
    assert imaputil.fetch_body(c, nu) == moved_body
    assert _flags(c, dest, nu) == {"\\Flagged", "\\Seen"}   # S added by the new name, first
    with open(dst, "rb") as f:                          # the name it was moved under, for a while
        assert f.read() == moved_body
    assert os.listdir(os.path.join(m.path, drel, "cur")) == [_name(_uv(c, dest), nu, dest, ("\\Flagged", "\\Seen"))]


def test_delivery_through_tmp(fresh_servers, mount, imap):
    s = _server(fresh_servers)
    c = imap(s)
    name, rel, uids = _box(s, c, "Dlv", [("a", ())])
    m = _mount(mount, s)
    d = os.path.join(m.path, rel)
    body = msg("delivered %s" % uniq("d"))
    with open(os.path.join(d, "tmp", "1700000000.M1P2.host"), "wb") as f:
        f.write(body)
    assert os.listdir(os.path.join(d, "tmp")) == ["1700000000.M1P2.host"]
    assert imaputil.uids(c, name) == uids                 # not stored while in tmp/
    os.rename(os.path.join(d, "tmp", "1700000000.M1P2.host"), os.path.join(d, "new", "1700000000.M1P2.host:2,S"))
    got = imaputil.uids(c, name)
    assert len(got) == 2
    imaputil.examine(c, name)
    assert imaputil.fetch_body(c, got[1]) == body
    assert _flags(c, name, got[1]) == {"\\Seen"}
    assert os.listdir(os.path.join(d, "tmp")) == [] and os.listdir(os.path.join(d, "new")) == []
    assert _name(_uv(c, name), got[1], name, ("\\Seen",)) in os.listdir(os.path.join(d, "cur"))
    # a file given up in tmp/ is never sent
    with open(os.path.join(d, "tmp", "gone"), "wb") as f:
        f.write(msg("never"))
    os.unlink(os.path.join(d, "tmp", "gone"))
    assert imaputil.uids(c, name) == got


# ---- the real clients ------------------------------------------------------

def _muttrc(tmp, root, prog):
    rc = os.path.join(tmp, prog + "rc")
    with open(rc, "w") as f:
        f.write("set mbox_type=Maildir\nset folder=%s\nset spoolfile=%s/INBOX\n"
                "set quit=yes\nset move=no\nset delete=yes\nset mark_old=no\n"
                "set confirmappend=no\nset confirmcreate=no\nset wait_key=no\n"
                "set sort=mailbox-order\nset beep=no\n" % (root, root))
        if prog == "neomutt":
            f.write("set header_cache=''\nset message_cachedir=''\n")
    return rc


def _mutt(prog, rc, folder, keys):
    """PROG (mutt or neomutt) in a terminal on FOLDER, typing KEYS."""
    cmd = "%s -n -F %s -f '%s' -e 'push \"%s\"'" % (prog, rc, folder, keys)
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True,
                       env=dict(os.environ, TERM="vt100", HOME=os.path.dirname(rc)), timeout=60)
    assert r.returncode == 0, r.stdout[-2000:]
    assert b"Unable to write" not in r.stdout, r.stdout[-2000:]
    return r.stdout


@pytest.mark.parametrize("prog", ["mutt", "neomutt"])
def test_mutt_flags_deletes_saves_and_creates(fresh_servers, mount, imap, prog):
    s = _server(fresh_servers)
    c = imap(s)
    name, rel, uids = _box(s, c, "Mutt", [("one", ()), ("two", ()), ("three", ("\\Seen",))])
    dest, drel, _ = _box(s, c, "MuttDest", [])
    m = _mount(mount, s)
    tmp = tempfile.mkdtemp(prefix="mutt-")
    rc = _muttrc(tmp, m.path, prog)
    folder = os.path.join(m.path, rel)
    _mutt(prog, rc, folder, "<first-entry><flag-message><sync-mailbox><quit>")
    assert _flags(c, name, uids[0]) == {"\\Flagged"}
    # reading it marks it read (the pager, then back to the index)
    _mutt(prog, rc, folder, "<first-entry><display-message><exit><sync-mailbox><quit>")
    assert _flags(c, name, uids[0]) == {"\\Flagged", "\\Seen"}
    _mutt(prog, rc, folder, "<first-entry><next-entry><delete-message><sync-mailbox><quit>")
    assert imaputil.uids(c, name) == [uids[0], uids[2]]
    imaputil.examine(c, name)
    body = imaputil.fetch_body(c, uids[2])
    out = _mutt(prog, rc, folder, "<last-entry><save-message>=%s<enter><sync-mailbox><quit>" % drel)
    assert imaputil.uids(c, name) == [uids[0]], out[-3000:]
    (nu,) = imaputil.uids(c, dest)
    imaputil.examine(c, dest)
    saved = imaputil.fetch_body(c, nu)
    # mutt writes its own few headers (Content-Length, Lines) into a copy
    head, _, text = body.partition(b"\r\n\r\n")
    assert saved.endswith(b"\r\n\r\n" + text) and head.split(b"\r\n")[0] in saved
    assert "\\Seen" in _flags(c, dest, nu)
    # a new folder: mutt makes the Maildir (mkdir, then cur/ new/ tmp/)
    leaf = uniq("MuttNew")
    _mutt(prog, rc, folder, "<first-entry><copy-message>=%s<enter><quit>" % personal_rel(s, leaf))
    new = personal_name(s, leaf)
    assert new.encode() in imaputil.mailbox_names(c)
    (cu,) = imaputil.uids(c, new)
    imaputil.examine(c, new)
    imaputil.examine(c, name)
    assert imaputil.uids(c, name) == [uids[0]]           # a copy: the original stays
    shutil.rmtree(tmp)


def test_mu_index_and_find(fresh_servers, mount, imap):
    s = _server(fresh_servers)
    c = imap(s)
    name, rel, uids = _box(s, c, "Mu", [("alpha", ()), ("beta", ("\\Flagged",)),
                                         ("gamma", ("\\Seen", "\\Flagged"))])
    m = _mount(mount, s)
    home = tempfile.mkdtemp(prefix="mu-")
    run = lambda *a: subprocess.run(["mu", *a, "--muhome=" + home], capture_output=True, text=True,
                                    timeout=120)
    r = run("init", "--maildir=" + m.path)
    assert r.returncode == 0, r.stderr
    r = run("index")
    assert r.returncode == 0, r.stderr
    r = run("find", "maildir:/" + rel, "--fields=l")
    found = sorted(r.stdout.split("\n")[:-1])
    uv = _uv(c, name)
    want = sorted(os.path.join(m.path, rel, "cur", _name(uv, u, name, _flags(c, name, u))) for u in uids)
    assert found == want, r.stderr
    r = run("find", "maildir:/" + rel, "flag:flagged", "--fields=l")
    assert len(r.stdout.split("\n")[:-1]) == 2
    r = run("find", "maildir:/" + rel, "flag:unread", "--fields=s")
    assert r.stdout.split("\n")[:-1] == ["%s alpha" % os.path.basename(rel),
                                         "%s beta" % os.path.basename(rel)] or \
        len(r.stdout.split("\n")[:-1]) == 2, r.stdout
    shutil.rmtree(home)


def test_notmuch_tags_reach_the_server(fresh_servers, mount, imap):
    s = _server(fresh_servers)
    c = imap(s)
    name, rel, uids = _box(s, c, "Nm", [("alpha", ()), ("beta", ("\\Seen",))])
    m = _mount(mount, s)
    d = tempfile.mkdtemp(prefix="notmuch-")
    cfg = os.path.join(d, "config")
    with open(cfg, "w") as f:
        f.write("[database]\npath=%s/db\nmail_root=%s\n[user]\nname=T\nprimary_email=t@example.org\n"
                "[new]\ntags=inbox;\n[maildir]\nsynchronize_flags=true\n" % (d, os.path.join(m.path, rel)))
    os.mkdir(os.path.join(d, "db"))
    env = dict(os.environ, NOTMUCH_CONFIG=cfg)
    nm = lambda *a: subprocess.run(["notmuch", *a], capture_output=True, text=True, env=env, timeout=120)
    r = nm("new")
    assert r.returncode == 0 and "Added 2 new messages" in r.stdout, r.stdout + r.stderr
    leaf = os.path.basename(rel)
    r = nm("tag", "+flagged", "--", "subject:'%s alpha'" % leaf)
    assert r.returncode == 0, r.stderr
    assert _flags(c, name, uids[0]) == {"\\Flagged"}
    r = nm("tag", "-unread", "+replied", "--", "subject:'%s alpha'" % leaf)
    assert r.returncode == 0, r.stderr
    assert _flags(c, name, uids[0]) == {"\\Flagged", "\\Seen", "\\Answered"}
    r = nm("tag", "+unread", "--", "subject:'%s beta'" % leaf)
    assert _flags(c, name, uids[1]) == set()
    r = nm("new")
    assert r.returncode == 0 and "No new mail" in r.stdout, r.stdout + r.stderr
    r = nm("search", "--output=files", "tag:flagged")
    uv = _uv(c, name)
    assert r.stdout.split("\n")[:-1] == [os.path.join(m.path, rel, "cur",
                                                       _name(uv, uids[0], name, _flags(c, name, uids[0])))]
    assert imaputil.uids(c, name) == uids
    shutil.rmtree(d)


def test_review_cases_never_touch_another_message(fresh_servers, mount, imap):
    """A name another client's flag change made stale is renamed anew (the
    kernel keeps no entry that would make the rename a no-op); a delivery
    identical to a message already there is no handle on that message; a
    rename onto another message's name is refused; a dot-name is tmp/'s."""
    s = _server(fresh_servers)
    c = imap(s)
    name, rel, uids = _box(s, c, "Review", [("a", ("\\Seen",)), ("b", ())])
    m = _mount(mount, s)
    d = os.path.join(m.path, rel)
    cur = os.path.join(d, "cur")
    uv = _uv(c, name)
    a_seen = _name(uv, uids[0], name, ("\\Seen",))
    a_plain = _name(uv, uids[0], name, ())
    assert os.path.exists(os.path.join(cur, a_seen))
    # another client clears \Seen; the mount shows the new name; mutt's rename back stores it
    imaputil.store_flags(c, name, uids[0], "-FLAGS", ["\\Seen"])
    wait_for(lambda: a_plain in os.listdir(cur), 30, "the other client's change in the name")
    os.stat(os.path.join(cur, a_plain))
    os.rename(os.path.join(cur, a_plain), os.path.join(cur, a_seen))
    assert _flags(c, name, uids[0]) == {"\\Seen"}
    # onto another message's name: refused, both intact
    b = _name(uv, uids[1], name, ())
    with pytest.raises(FileExistsError):
        os.rename(os.path.join(cur, a_seen), os.path.join(cur, b))
    with pytest.raises(PermissionError):
        os.rename(os.path.join(cur, a_seen), os.path.join(cur, ".hidden"))
    with pytest.raises(PermissionError):
        os.rename(os.path.join(cur, a_seen), os.path.join(cur, "%d.eml" % uids[1]))
    # a delivery identical to message b: nothing stored, and its name moves or flags nothing
    imaputil.examine(c, name)
    body_b = imaputil.fetch_body(c, uids[1])
    with open(os.path.join(d, "tmp", "dup"), "wb") as f:
        f.write(body_b)
    os.rename(os.path.join(d, "tmp", "dup"), os.path.join(d, "new", "dup:2,"))
    assert imaputil.uids(c, name) == uids
    with pytest.raises(OSError) as e:
        os.rename(os.path.join(d, "new", "dup:2,"), os.path.join(d, "new", "dup:2,T"))
    assert e.value.errno == errno.EXDEV
    os.unlink(os.path.join(d, "new", "dup:2,"))
    assert imaputil.uids(c, name) == uids
    assert _flags(c, name, uids[1]) == set() and _flags(c, name, uids[0]) == {"\\Seen"}


def test_search_and_sync_commands_use_the_maildir_names(fresh_servers, mount, imap, imapfs_bin):
    """imapfs search prints each result's real path in the Maildir
    (BOX/cur/NAME, a file that is there); imapfs sync reads the messages
    in cur/ (every body into the cache, none marked read)."""
    s = _server(fresh_servers)
    c = imap(s)
    name, rel, uids = _box(s, c, "Cmds", [("needle one", ()), ("hay", ()), ("needle two", ("\\Flagged",))])
    m = _mount(mount, s)
    uv = _uv(c, name)
    r = subprocess.run([imapfs_bin, "search", os.path.join(m.path, rel), "subject:needle"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    want = [os.path.join(m.path, rel, "cur", _name(uv, u, name, _flags(c, name, u))) for u in (uids[0], uids[2])]
    assert r.stdout.split("\n")[:-1] == want
    assert all(os.path.isfile(p) for p in want)
    r = subprocess.run([imapfs_bin, "sync", "-q", os.path.join(m.path, rel)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    st = subprocess.run([imapfs_bin, "status", m.path], capture_output=True, text=True).stdout
    assert " 3 bodies" in st, st
    assert all("\\Seen" not in _flags(c, name, u) for u in uids)

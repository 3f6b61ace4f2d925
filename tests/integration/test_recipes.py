"""Every scripting recipe of README.md and imapfs.1, run verbatim.

The recipes are extracted from the two files (recipes.py: what a recipe
is and the one rule that leaves lines out), so a recipe changed in the
docs is tested as changed. Each runs with `bash -e -o pipefail`, HOME set
to a temporary home whose ~/mail is a real imapfs mount of a Dovecot of
its own, seeded (seed()) with what the recipes name: INBOX (first UID
4711) with mail from boss@example.com and from others over 2024-2026,
Lists with unread mail, saved.eml in the working directory, ~/Maildir/cur
with Maildir-named files (":2,FS") with LF line ends, ~/mail-backup/INBOX
with files as `rsync -aX` makes them.

Asserted for each: exit status 0, then the server's state through imaplib
by the recipe's checker (CHECKERS: a regex on the recipe's text -> a
function; a recipe matched by no checker or by two fails, so a new recipe
needs a check), then for all: no Message-ID twice, no seeded message
lost, never EXPUNGE or CLOSE in the mount's transcript.
"""

import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

import corpus
import dovecot
import imaputil
import mountutil
import recipes
import transcript

RECIPES = recipes.all_recipes()

BOSS = "boss@example.com"
DAY = 86400


def _epoch(y, mo, d, h=12):
    import calendar
    return calendar.timegm((y, mo, d, h, 0, 0, 0, 0, 0))


def _rfc2822(epoch):
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(epoch))


def _msg(msgid, frm, subject, epoch, body, to="Bob <bob@example.org>"):
    return corpus.msg_plain(subject, body, frm=frm, to=to,
                            date=_rfc2822(epoch), msgid=msgid)


NOW = int(time.time())
INVOICE_PDF = b"%PDF-1.4\n" + bytes(range(256)) * 300


def _with_attachment(body, fname, data):
    """BODY (from _msg) made multipart/mixed: its text, then DATA as an
    attachment named FNAME, base64 in lines of 76."""
    head, text = body.split(b"\r\n\r\n", 1)
    head = re.sub(rb"(?im)^Content-Type:.*$", b'Content-Type: multipart/mixed; boundary="==b=="',
                  head)
    return corpus._lines(
        head, "", "--==b==", "Content-Type: text/plain; charset=us-ascii", "", text,
        "--==b==", "Content-Type: application/pdf",
        "Content-Transfer-Encoding: base64",
        'Content-Disposition: attachment; filename="%s"' % fname, "",
        corpus._b64_lines(data), "--==b==--")

# mailbox -> [(msgid, From, Subject, INTERNALDATE, flags, extra)]
SEED = {
    "INBOX": [
        ("in-hello", BOSS, "hello", _epoch(2025, 3, 10), (), {}),
        ("in-q3", "Boss <%s>" % BOSS, "Q3 numbers", _epoch(2024, 6, 1), (),
         {}),
        ("in-invoice", "Alice <alice@example.org>", "invoice 2025-117",
         _epoch(2025, 7, 15), (), {"body": ["The Invoice is attached."],
                                   "attach": ("invoice-2025-117.pdf", INVOICE_PDF)}),
        ("in-again", "carol@example.org", "hello again",
         _epoch(2024, 11, 20), (), {}),
        ("in-recent", "dave@example.org", "Re: hello", NOW - 2 * DAY, (), {}),
        ("in-cc", "erin@example.org", "for the boss", _epoch(2025, 2, 2), (),
         {"to": BOSS}),
    ],
    "Lists": [
        ("li-1", "list@lists.example.org", "digest 1", _epoch(2025, 5, 1),
         (), {}),
        ("li-2", "list@lists.example.org", "digest 2", _epoch(2025, 5, 2),
         ("$Label1",), {}),
        ("li-3", "list@lists.example.org", "digest 3", _epoch(2025, 5, 3),
         ("\\Seen",), {}),
    ],
}
FIRST_INBOX_UID = 4711

# ~/Maildir/cur: file name -> (msgid, flags the import must give)
MAILDIR = {
    "1700000000.1.host:2,FS": ("md-fs", {"\\Flagged", "\\Seen"}),
    "1700000001.2.host:2,RS": ("md-rs", {"\\Answered", "\\Seen"}),
    "1700000002.3.host:2,T": ("md-t", set()),
    "1700000003.4.host:2,DPa": ("md-dp", {"\\Draft", "$Forwarded"}),
    "1700000004.5.host:2,": ("md-none", set()),
}
# ~/mail-backup/INBOX: file -> (msgid, flags xattr, mtime)
BACKUP = {
    "101.eml": ("bk-1", "\\Seen", _epoch(2023, 1, 2)),
    "102.eml": ("bk-2", "", _epoch(2023, 2, 3)),
    "103.eml": ("bk-3", "\\Flagged \\Seen", _epoch(2023, 3, 4)),
}
SAVED_MTIME = _epoch(2023, 5, 6)


def _mid(msgid):
    return "<%s@imapfs.test>" % msgid


def _msgid_of(body):
    m = re.search(rb"(?im)^Message-ID:[ \t]*(<[^>\r\n]*>)", body)
    return m.group(1).decode() if m else None


def _write(path, data, mtime=None):
    with open(path, "wb") as f:
        f.write(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def seed(s, c, home):
    """Fill the server (through C) and HOME; -> dict msgid -> mailbox."""
    # the docs name INBOX/4711.eml
    s.make_mailbox_from_uid("INBOX", FIRST_INBOX_UID)
    where = {}
    for box, msgs in SEED.items():
        if box != "INBOX":
            imaputil.create(c, box)
        for msgid, frm, subj, when, flags, extra in msgs:
            body = _msg(msgid, frm, subj, when,
                        extra.get("body", ["text of %s" % msgid]),
                        to=extra.get("to", "Bob <bob@example.org>"))
            if "attach" in extra:
                body = _with_attachment(body, *extra["attach"])
            imaputil.append_uid(c, box, body, flags,
                                imaputil.internaldate_str(when))
            where[_mid(msgid)] = box
    assert imaputil.uids(c, "INBOX")[0] == FIRST_INBOX_UID
    _write(os.path.join(home, "saved.eml"),
           _msg("saved-1", "frank@example.org", "kept", SAVED_MTIME,
                ["saved text"]), SAVED_MTIME)
    cur = os.path.join(home, "Maildir", "cur")
    os.makedirs(cur)
    os.makedirs(os.path.join(home, "Maildir", "new"))
    os.makedirs(os.path.join(home, "Maildir", "tmp"))
    for name, (msgid, _) in MAILDIR.items():
        lf = _msg(msgid, "gina@example.org", "imported " + msgid,
                  _epoch(2023, 11, 14), ["line one", "line two"])
        _write(os.path.join(cur, name), lf.replace(b"\r\n", b"\n"))
    bk = os.path.join(home, "mail-backup", "INBOX")
    os.makedirs(bk)
    for name, (msgid, flags, mtime) in BACKUP.items():
        p = os.path.join(bk, name)
        _write(p, _msg(msgid, "hank@example.org", "backed up " + msgid,
                       mtime, ["from the backup"]))
        # what rsync -aX copied from a mount: server state and the flags
        os.setxattr(p, "user.imap.flags", flags.encode())
        os.setxattr(p, "user.imap.uid", name.split(".")[0].encode())
        os.setxattr(p, "user.imap.modseq", b"7")
        os.setxattr(p, "user.imap.internaldate", imaputil.internaldate_str(
            mtime).strip('"').encode())
        os.utime(p, (mtime, mtime))
    # Gmail's backup recipe on this (non-Gmail) server: ~/gmail is the same
    # mount (the hard links themselves are tested in test_gmail.py)
    os.symlink("mail", os.path.join(home, "gmail"))
    return where


# ---------------------------------------------------------------- state


def personal_boxes(c):
    return sorted(n.decode() for n, attrs in imaputil.mailbox_names(c).items()
                  if not n.startswith((b"Public", b"shared"))
                  and "\\noselect" not in [a.lower() for a in attrs])


def state(c):
    """-> dict mailbox -> dict uid -> {"msgid", "body", "flags", "date"}."""
    out = {}
    for box in personal_boxes(c):
        meta = imaputil.fetch_meta(c, box)
        out[box] = {}
        for uid, m in meta.items():
            body = imaputil.fetch_body(c, uid)
            out[box][uid] = {
                "msgid": _msgid_of(body), "body": body,
                "flags": {f for f in m["FLAGS"] if f.lower() != "\\recent"},
                "date": imaputil.internaldate_epoch(m["INTERNALDATE"])}
    return out


def msgids(st, box):
    return {m["msgid"] for m in st.get(box, {}).values()}


def seeded(box, pred=lambda e: True):
    return {_mid(e[0]) for e in SEED[box] if pred(e)}


def by_msgid(st):
    return {m["msgid"]: (box, uid, m) for box, ms in st.items()
            for uid, m in ms.items()}


class Ctx:
    def __init__(self, **kw):
        self.__dict__.update(kw)

    def path(self, *p):
        return os.path.join(self.home, *p)


# ---------------------------------------------------------------- checkers


def _unchanged(x):
    st = state(x.c)
    for box in SEED:
        assert msgids(st, box) == seeded(box), box
    assert set(st) == set(x.before), "mailboxes changed: %r -> %r" % (
        sorted(x.before), sorted(st))
    for box, ms in x.before.items():
        assert {u: m["flags"] for u, m in st[box].items()} == \
            {u: m["flags"] for u, m in ms.items()}, "flags changed in " + box


def check_mkdir_mail(x):
    assert os.path.ismount(x.path("mail"))
    _unchanged(x)


def _check_backup(x, dest, with_xattrs):
    st = state(x.c)
    n = 0
    for box, ms in st.items():
        for uid, m in ms.items():
            p = os.path.join(dest, box, "%d.eml" % uid)
            with open(p, "rb") as f:
                assert f.read() == m["body"], p
            assert int(os.stat(p).st_mtime) == m["date"], p
            if with_xattrs:
                flags = os.getxattr(p, "user.imap.flags").decode().split()
                assert set(flags) == m["flags"], p
            n += 1
    assert n >= sum(len(v) for v in SEED.values())
    _unchanged(x)


def check_tour_readme(x):
    out = x.result.stdout
    for name in ("INBOX", "Lists", "Archive"):
        assert re.search(r"(?m)^%s$" % name, out) or name in out.split(), out
    assert x.path("mail/INBOX/%d.eml" % x.uid["in-invoice"]) in out
    assert "user.imap.unseen" in out and "user.imap.flags" in out, out
    _check_find_week(x, out)
    _check_backup(x, x.path("mail-backup"), False)


def _check_find_week(x, out):
    # find's lines (grep -rl's too) are absolute; getfattr's "# file:" not
    found = set(re.findall(r"^/.*/mail/INBOX/(\d+)\.eml$", out, re.M)) - {
        str(x.uid["in-invoice"])}
    assert found == {str(x.uid["in-recent"])}, out


def check_tour_man(x):
    out = x.result.stdout
    assert x.path("mail/INBOX/%d.eml" % x.uid["in-invoice"]) in out, out
    assert "%d %s/" % (len(SEED["INBOX"]), x.path("mail/INBOX")) in out, out
    assert "2 %s/" % x.path("mail/Lists") in out, out
    _check_find_week(x, out)
    _unchanged(x)


def _check_lists_seen(x, st):
    for uid, m in st["Lists"].items():
        seed_flags = x.before["Lists"][uid]["flags"]
        assert m["flags"] == seed_flags | {"\\Seen"}, (uid, m["flags"])
    for uid, m in st["INBOX"].items():
        assert "\\Seen" not in m["flags"], "reading set \\Seen on %d" % uid


def check_mark_read(x):
    _check_lists_seen(x, state(x.c))
    # imapfs flag: one UID STORE for the folder, not one per file
    stores = transcript.find(transcript.since(x.s), rb"^UID STORE ")
    assert len(stores) == 1 and stores[0].endswith(b"+FLAGS.SILENT (\\Seen)"), stores


BOSS_MAIL = {_mid("in-hello"), _mid("in-q3")}
YEAR_2025 = {_mid(e[0]) for e in SEED["INBOX"]
             if _epoch(2025, 1, 1) <= e[3] < _epoch(2026, 1, 1)}


def check_boss(x):
    st = state(x.c)
    assert msgids(st, "Boss") == BOSS_MAIL
    assert msgids(st, "INBOX") == seeded("INBOX") - BOSS_MAIL


def check_archive(x):
    st = state(x.c)
    assert msgids(st, "Archive/2025") == YEAR_2025
    assert msgids(st, "INBOX") == seeded("INBOX") - YEAR_2025


def check_man_sorting(x):
    st = state(x.c)
    _check_lists_seen(x, st)
    assert msgids(st, "Boss") == BOSS_MAIL
    assert msgids(st, "Archive/2025") == YEAR_2025 - BOSS_MAIL
    assert msgids(st, "INBOX") == seeded("INBOX") - BOSS_MAIL - YEAR_2025


def check_unread_counts(x):
    out = x.result.stdout
    assert "%d %s/" % (len(SEED["INBOX"]), x.path("mail/INBOX")) in out, out
    assert "2 %s/" % x.path("mail/Lists") in out, out
    _unchanged(x)


def check_line_ends(x):
    hello = x.path("mail/INBOX/%d.eml" % x.uid["in-hello"])
    assert x.result.stdout == "%s\n%s\n1\n" % (hello, hello), x.result.stdout
    # what the docs say goes wrong without the idiom: CRLF defeats '$'
    r = subprocess.run(["grep", "-c", "^From: %s$" % BOSS, hello],
                       capture_output=True, text=True, timeout=60)
    assert r.stdout == "0\n", r.stdout
    _unchanged(x)


def check_saved(x):
    st = state(x.c)
    assert msgids(st, "INBOX") == seeded("INBOX") | {_mid("saved-1")}
    box, uid, m = by_msgid(st)[_mid("saved-1")]
    assert m["date"] == SAVED_MTIME
    with open(x.path("saved.eml"), "rb") as f:
        assert m["body"] == f.read()
    assert x.result.stdout.splitlines()[-1] == "%d.eml" % uid, \
        x.result.stdout


def check_maildir_import(x):
    st = state(x.c)
    want = {_mid(msgid): flags for msgid, flags in MAILDIR.values()}
    assert msgids(st, "Imported") == set(want)
    for name, (msgid, flags) in MAILDIR.items():
        m = by_msgid(st)[_mid(msgid)][2]
        with open(x.path("Maildir", "cur", name), "rb") as f:
            lf = f.read()
        assert m["body"].replace(b"\r\n", b"\n") == lf, name
        assert "\\Deleted" not in m["flags"], name
        assert m["flags"] == flags, "%s: flags %r, want %r" % (
            name, sorted(m["flags"]), sorted(flags))


def check_restore(x):
    with_x = bool(re.search(r"rsync -a\w*X", x.text))

    def restored():
        st = state(x.c)
        assert msgids(st, "Restored") == {_mid(v[0]) for v in BACKUP.values()}
        for name, (msgid, flags, mtime) in BACKUP.items():
            m = by_msgid(st)[_mid(msgid)][2]
            with open(x.path("mail-backup", "INBOX", name), "rb") as f:
                assert m["body"] == f.read(), name
            assert m["date"] == mtime, name
            if with_x:
                assert m["flags"] == set(flags.split()), name
        return {u: m["msgid"] for u, m in st["Restored"].items()}

    first = restored()
    # on a new mount, so that only the check for identical messages (not
    # the names the first run left for a minute) can keep it from
    # appending again
    x.remount()
    snap = transcript.mark(x.s)
    r = x.run()
    assert r.returncode == 0, "second run exited %d:\n%s" % (r.returncode,
                                                             r.stderr)
    again = transcript.counts(transcript.since(x.s, snap))
    assert again["APPEND"] == 0, "second run appended %d messages again" \
        % again["APPEND"]
    assert restored() == first


def check_backup_x(x):
    _check_backup(x, x.path("mail-backup"), True)


def check_gmail_backup(x):
    _check_backup(x, x.path("gmail-backup"), False)


def check_search(x):
    """The search views: the names each ls shows, and imapfs search's real
    paths piped into grep; nothing changed on the server."""
    out = x.result.stdout.split("\n")
    assert "%d.eml" % x.uid["in-invoice"] in out, out
    assert "INBOX" in out and "Lists" in out, out
    assert x.path("mail/INBOX/%d.eml" % x.uid["in-hello"]) in out, out
    _unchanged(x)


def check_parts(x):
    """The invoice's PDF saved from the parts view, byte for byte, and its
    attributes shown; nothing changed on the server."""
    with open(x.path("invoice-2025-117.pdf"), "rb") as f:
        assert f.read() == INVOICE_PDF
    assert x.uid["in-invoice"] == 4713, x.uid   # the recipe names it
    out = x.result.stdout
    assert 'user.mime.filename="invoice-2025-117.pdf"' in out, out
    assert 'user.mime.type="application/pdf"' in out, out
    _unchanged(x)


CHECKERS = [
    (r"\Amkdir -p ~/mail\n\Z", check_mkdir_mail),
    (r"^ls ~/mail .*\n(.*\n)*rsync -a ~/mail/ ~/mail-backup/", check_tour_readme),
    (r"\Agrep -rl -i invoice ~/mail/INBOX\nfor d in", check_tour_man),
    (r"\A# mark everything", check_mark_read),
    (r"\A# move all mail from one sender", check_boss),
    (r"\A# archive last year", check_archive),
    (r"\Aimapfs flag \S+ ~/mail/Lists/.*\n(.*\n)*.*xargs -r mv(.*\n)*find ",
     check_man_sorting),
    (r"\A# unread counts", check_unread_counts),
    (r"grep -l \$'\^Subject: hello\\r\$'", check_line_ends),
    (r"^cp -p saved\.eml ", check_saved),
    (r"^cp -r ~/Maildir/cur ~/mail/Imported$", check_maildir_import),
    (r"^rsync -aX? ~/mail-backup/INBOX/ ~/mail/Restored/$", check_restore),
    (r"\Arsync -aX ~/mail/ ~/mail-backup/\n\Z", check_backup_x),
    (r"\Arsync -aH ~/gmail/ ~/gmail-backup/\n\Z", check_gmail_backup),
    (r"\Als ~/mail/INBOX/\.search/", check_search),
    (r"\A# save the PDFs", check_parts),
]


def checkers_for(recipe):
    return [fn for pat, fn in CHECKERS if re.search(pat, recipe.text, re.M)]


def test_every_recipe_has_one_checker():
    assert len(RECIPES) >= 10, RECIPES
    bad = ["%s: %d checkers (%s)" % (r.id, len(checkers_for(r)),
                                     [f.__name__ for f in checkers_for(r)])
           for r in RECIPES if len(checkers_for(r)) != 1]
    assert not bad, "each recipe needs exactly one checker in CHECKERS:\n" \
        + "\n".join(bad)
    used = {f for r in RECIPES for f in checkers_for(r)}
    stale = [f.__name__ for _, f in CHECKERS if f not in used]
    assert not stale, "checkers that match no recipe: %r" % stale


def test_roff_unescape():
    assert recipes.roff_unescape(r"grep \-l \(aq^x\(aq +\e\eSeen \fBa\fR\&") \
        == "grep -l '^x' +\\\\Seen a"
    with pytest.raises(ValueError):
        recipes.roff_unescape(r"a \(zz b")
    with pytest.raises(ValueError):
        recipes.roff_unescape(r"a \s+2 b")


@pytest.fixture
def own_server():
    """A Dovecot of this test's own (slash layout: ~/mail/Boss is the
    mailbox Boss), logging every session's commands."""
    d = dovecot.Dovecot("slash", rawlog=True)
    d.start()
    yield d
    d.stop()


def _bash(text, home):
    # `imapfs flag` as a user runs it: the program on the PATH
    path = os.path.dirname(mountutil.imapfs_bin()) + ":" + \
        os.environ.get("PATH", "/usr/bin:/bin")
    env = {"HOME": home, "PATH": path, "LC_ALL": "C.UTF-8", "TZ": "UTC"}
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", text],
                          cwd=home, env=env, capture_output=True, text=True,
                          timeout=180)


@pytest.mark.timeout_s(400)
@pytest.mark.parametrize("recipe", RECIPES, ids=[r.id for r in RECIPES])
def test_recipe(recipe, own_server, mount):
    found = checkers_for(recipe)
    assert len(found) == 1, "%s has %d checkers: add exactly one to " \
        "CHECKERS" % (recipe.id, len(found))
    s = own_server
    c = transcript.connect(s)
    home = tempfile.mkdtemp(prefix="imapfs-home-")
    os.makedirs(os.path.join(home, "mail"))
    seed(s, c, home)
    before = state(c)
    uid = {m["msgid"][1:].split("@")[0]: u for box in ("INBOX",)
           for u, m in before[box].items()}
    m = mount(s, mountpoint=os.path.join(home, "mail"))
    r = _bash(recipe.text, home)
    assert r.returncode == 0, "%s exited %d\n--- recipe\n%s--- stderr\n%s" \
        % (recipe.id, r.returncode, recipe.text, r.stderr)
    held = [m]

    def remount():
        """A new mount: names the last run left (aliases) are gone."""
        held[0].stop(cleanup=False)
        held[0] = mount(s, mountpoint=os.path.join(home, "mail"))

    x = Ctx(c=c, s=s, home=home, mnt=m.path, result=r, text=recipe.text,
            before=before, uid=uid, run=lambda: _bash(recipe.text, home),
            remount=remount)
    found[0](x)
    after = state(c)
    count = {}
    for box, ms in after.items():
        for u, msg in ms.items():
            count[msg["msgid"]] = count.get(msg["msgid"], 0) + 1
    twice = {k: v for k, v in count.items() if v > 1}
    assert not twice, "appended more than once: %r" % twice
    lost = {msg["msgid"] for ms in before.values() for msg in ms.values()} \
        - set(count)
    assert not lost, "lost: %r" % lost
    cmds = transcript.since(s)
    transcript.assert_never_expunge_all(cmds)
    added = set(count) - {msg["msgid"] for ms in before.values()
                          for msg in ms.values()}
    appends = transcript.counts(cmds)["APPEND"]
    assert appends == len(added), "%d APPENDs for %d new messages" % (
        appends, len(added))
    c.logout()
    held[0].stop(cleanup=False)
    if not os.path.ismount(os.path.join(home, "mail")):
        shutil.rmtree(home, ignore_errors=True)

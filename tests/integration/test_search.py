"""Search views (src/vfs_search.c, src/search_query.c, src/session_search.c;
imapfs.1, SEARCH): MAILBOX/.search/QUERY/ and the root's .search/QUERY/.

Every result is compared with what an independent client (imaplib) gets
from the same Dovecot for the same IMAP search keys, key by key; results
are the originals (same inode, same bytes, rm removes the original, as
imaplib confirms); walkers never enter .search; a query that cannot be
sent fails with EINVAL and one log line, and nothing reaches the server
(Dovecot's rawlog); a repeated ls within the poll interval sends no
second SEARCH, and a change by another client shows.
"""

import errno
import os
import subprocess
import threading
import time

import pytest

import imaputil
import transcript
from imaputil import personal_name, personal_rel
from liveutil import OPTS, POLL_BOUND, uniq, wait_for

DAY = 86400
T0 = 1700000000          # 2023-11-14


def _msg(frm, to, subject, body, cc=None, extra=()):
    lines = ["From: %s" % frm, "To: %s" % to]
    if cc:
        lines.append("Cc: %s" % cc)
    lines += ["Subject: %s" % subject,
              "Date: Tue, 14 Nov 2023 22:13:20 +0000",
              "Message-ID: <%s@search.test>" % uniq("m")]
    lines += list(extra)
    lines += ["MIME-Version: 1.0",
              "Content-Type: text/plain; charset=utf-8",
              "Content-Transfer-Encoding: 8bit", "", body]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


# (body, flags, days after T0): each key below matches some and not all
MESSAGES = [
    (_msg("Alice <alice@example.org>", "bob@example.org", "Invoice 42",
          "Please pay invoice 42 by Friday."), ["\\Seen"], 0),
    (_msg("Bob <bob@example.org>", "alice@example.org", "Re: Invoice 42",
          "Paid. Thanks!", cc="carol@example.org"), ["\\Seen", "\\Answered"], 10),
    (_msg("Carol <carol@example.org>", "team@example.org", "Weekly report",
          "Numbers are up.\r\n" + "padding line\r\n" * 400,
          extra=["List-Id: <team.example.org>"]), ["\\Flagged"], 20),
    (_msg("alice@example.org", "team@example.org", "Grüße aus Köln",
          "Schöne Grüße, Alice"), ["$Todo"], 30),
    (_msg("Dave <dave@example.org>", "alice@example.org", "draft of the plan",
          "the plan, unfinished"), ["\\Draft"], 40),
    (_msg("Eve <eve@example.org>", "bob@example.org", "weekly report (late)",
          "sorry, late; the invoice follows"), [], 50),
]

# query -> the IMAP search keys imaplib sends for the same question
KEYS = [
    ("from:alice", 'FROM "alice"'),
    ("to:team@example.org", 'TO "team@example.org"'),
    ("cc:carol", 'CC "carol"'),
    ("subject:invoice", 'SUBJECT "invoice"'),
    ("body:invoice", 'BODY "invoice"'),
    ("text:invoice", 'TEXT "invoice"'),
    ("invoice", 'TEXT "invoice"'),
    ('subject:"weekly report"', 'SUBJECT "weekly report"'),
    ("header:List-Id:team", 'HEADER "List-Id" "team"'),
    ("after:2023-12-04", "SINCE 4-Dec-2023"),
    ("before:2023-12-04", "BEFORE 4-Dec-2023"),
    ("on:2023-11-24", "ON 24-Nov-2023"),
    ("larger:4k", "LARGER 4096"),
    ("smaller:4k", "SMALLER 4096"),
    ("is:seen", "SEEN"),
    ("is:unseen", "UNSEEN"),
    ("is:flagged", "FLAGGED"),
    ("is:answered", "ANSWERED"),
    ("is:draft", "DRAFT"),
    ("keyword:$Todo", "KEYWORD $Todo"),
    ("from:alice or from:bob", 'OR FROM "alice" FROM "bob"'),
    ("from:alice -is:seen", 'FROM "alice" NOT SEEN'),
    ("not subject:invoice is:seen", 'NOT SUBJECT "invoice" SEEN'),
    ("(from:carol or from:eve) subject:weekly",
     'OR FROM "carol" FROM "eve" SUBJECT "weekly"'),
    ("subject:Grüße", None),            # CHARSET UTF-8: compared below
]


@pytest.fixture(scope="module")
def box(fresh_servers):
    """A Dovecot with rawlog and full-text indexes (fts_xapian, as a real
    server's BODY search runs) and one mailbox holding MESSAGES."""
    s = fresh_servers("slash", rawlog=True, fts=True)
    c = transcript.connect(s)
    leaf = uniq("Search")
    name = personal_name(s, leaf)
    imaputil.create(c, name)
    uids = []
    for body, flags, days in MESSAGES:
        typ, dat = imaputil.append(c, name, flags,
                                   imaputil.internaldate_str(T0 + days * DAY + 3600),
                                   body)
        imaputil.check((typ, dat), "APPEND")
        uids.append(int(dat[-1].split(b"APPENDUID ")[1].split(b" ")[1].rstrip(b"]")))
    c.logout()
    return s, name, personal_rel(s, leaf), uids


def _imap_search(s, name, keys, utf8=False):
    c = transcript.connect(s)
    try:
        imaputil.examine(c, name)
        if utf8:
            c.literal = keys.encode("utf-8")
            typ, dat = c.uid("SEARCH", "CHARSET", "UTF-8", "SUBJECT")
        else:
            typ, dat = c.uid("SEARCH", keys)
        imaputil.check((typ, dat), "UID SEARCH " + str(keys))
        return sorted(int(x) for x in dat[0].split())
    finally:
        c.logout()


def _listed(path):
    return sorted(int(n[:-4]) for n in os.listdir(path) if n.endswith(".eml"))


def test_each_key_matches_imap_search(box, mount):
    s, name, rel, uids = box
    m = mount(s)
    d = os.path.join(m.path, rel)
    for query, keys in KEYS:
        if keys is None:
            want = _imap_search(s, name, "Grüße", utf8=True)
        else:
            want = _imap_search(s, name, keys)
        got = _listed(os.path.join(d, ".search", query))
        assert got == want, "%s: mount %r, imaplib %r" % (query, got, want)
    # the keys above are not trivially all or nothing
    assert _listed(os.path.join(d, ".search", "from:alice")) == [uids[0], uids[3]]
    assert _listed(os.path.join(d, ".search", "subject:Grüße")) == [uids[3]]


def test_results_are_the_originals(box, mount, imap):
    s, name, rel, uids = box
    m = mount(s)
    d = os.path.join(m.path, rel)
    q = os.path.join(d, ".search", "is:flagged")
    assert os.listdir(q) == ["%d.eml" % uids[2]]
    orig = os.path.join(d, "%d.eml" % uids[2])
    res = os.path.join(q, "%d.eml" % uids[2])
    assert os.stat(res).st_ino == os.stat(orig).st_ino
    c = imap(s)
    imaputil.examine(c, name)
    with open(res, "rb") as f, open(orig, "rb") as g:
        assert f.read() == g.read() == imaputil.fetch_body(c, uids[2])
    assert b"\\Flagged" in os.getxattr(res, "user.imap.flags")
    # a name that is no result is not there, even if the mailbox has it
    with pytest.raises(FileNotFoundError):
        os.stat(os.path.join(q, "%d.eml" % uids[0]))
    # the view is read by name only, and holds no other kind of entry
    with pytest.raises(OSError) as ei:
        os.mkdir(os.path.join(q, "x"))
    assert ei.value.errno in (errno.EPERM, errno.EACCES)
    with pytest.raises(OSError) as ei:
        open(os.path.join(q, "new.eml"), "wb").close()
    assert ei.value.errno in (errno.EPERM, errno.EACCES)


def _new_box(s, c, tag, *subjects):
    """A fresh mailbox with one message per subject -> (name, leaf, uids)."""
    leaf = uniq(tag)
    name = personal_name(s, leaf)
    imaputil.create(c, name)
    return name, leaf, [imaputil.append_uid(c, name, _msg("a@x", "b@x", subj, "x"))
                        for subj in subjects]


def test_rm_of_a_result_removes_the_original(fresh_servers, mount, imap):
    s = fresh_servers("slash", rawlog=True, fts=True)
    c = imap(s)
    name, leaf, (keep, gone) = _new_box(s, c, "SearchRm", "keep me", "remove me")
    m = mount(s)
    d = os.path.join(m.path, personal_rel(s, leaf))
    orig = os.path.join(d, "%d.eml" % gone)
    assert os.path.exists(orig)                   # the kernel holds it
    q = os.path.join(d, ".search", "subject:remove")
    assert os.listdir(q) == ["%d.eml" % gone]
    os.unlink(os.path.join(q, "%d.eml" % gone))
    assert imaputil.uids(c, name) == [keep]       # the server agrees
    assert not os.path.exists(orig)
    assert os.listdir(q) == []
    assert sorted(os.listdir(d)) == ["%d.eml" % keep]
    # rm of a name that is no result there removes nothing
    with pytest.raises(FileNotFoundError):
        os.unlink(os.path.join(q, "%d.eml" % keep))
    assert imaputil.uids(c, name) == [keep]


def test_walkers_never_enter_search(box, mount):
    s, name, rel, uids = box
    m = mount(s)
    d = os.path.join(m.path, rel)
    assert _listed(os.path.join(d, ".search", "from:alice")) == [uids[0], uids[3]]
    assert ".search" not in os.listdir(d) and ".search" not in os.listdir(m.path)
    found = subprocess.run(["find", m.path], capture_output=True, text=True,
                           check=True).stdout.split("\n")
    assert not [p for p in found if ".search" in p]
    assert os.path.join(d, "%d.eml" % uids[0]) in found
    grep = subprocess.run(["grep", "-rl", "invoice", m.path],
                          capture_output=True, text=True).stdout.split()
    assert grep and not [p for p in grep if ".search" in p]
    du = subprocess.run(["du", "-a", m.path], capture_output=True, text=True).stdout
    assert ".search" not in du
    out = os.path.join(os.path.dirname(m.path), "rsync-out")
    subprocess.run(["rsync", "-a", m.path + "/", out + "/"], check=True,
                   capture_output=True)
    for root, dirs, files in os.walk(out):
        assert ".search" not in dirs


def test_root_search_mirrors_paths(box, mount, imap):
    s, name, rel, uids = box
    c = imap(s)
    other = personal_name(s, uniq("Other"), "Deep")
    imaputil.create(c, other)
    ouid = imaputil.append_uid(c, other, _msg("Alice <alice@example.org>", "z@x",
                                              "deep invoice", "x"))
    m = mount(s)
    q = os.path.join(m.path, ".search", "from:alice subject:invoice")
    got = set()
    for root, dirs, files in os.walk(q):
        for f in files:
            got.add(os.path.relpath(os.path.join(root, f), q))
    want = {os.path.join(rel, "%d.eml" % uids[0]),
            os.path.join(_rel_of(s, other), "%d.eml" % ouid)}
    # and imaplib finds exactly these over every mailbox
    found = set()
    for mbox in imaputil.mailbox_names(c):
        mb = mbox.decode() if isinstance(mbox, bytes) else mbox
        try:
            hits = _imap_search(s, mb, 'FROM "alice" SUBJECT "invoice"')
        except Exception:
            continue        # \Noselect
        for u in hits:
            found.add(os.path.join(_rel_of(s, mb), "%d.eml" % u))
    assert got == want == found, (got, want, found)
    # a mirrored file is the original
    p = os.path.join(q, _rel_of(s, other), "%d.eml" % ouid)
    assert os.stat(p).st_ino == os.stat(os.path.join(m.path, _rel_of(s, other),
                                                     "%d.eml" % ouid)).st_ino


def _rel_of(s, name):
    """Server mailbox NAME -> its path under the mount."""
    return imaputil.fs_path(name, s.delimiter)


def test_bad_queries_fail_einval_and_send_nothing(box, mount, imap):
    s, name, rel, uids = box
    m = mount(s)
    d = os.path.join(m.path, rel, ".search")
    before = transcript.mark(s)
    for q, why in [("foo:bar", "unknown key"), ("after:2024-13-01", "YYYY-MM-DD"),
                   ("subject:\"open", "quote is not closed"),
                   ("subject:a\r\nX DELETE INBOX", "control byte"),
                   ("subject:x\nY LOGOUT", "control byte")]:
        with pytest.raises(OSError) as ei:
            os.listdir(os.path.join(d, q))
        assert ei.value.errno == errno.EINVAL, q
        assert why in m.log(), (q, m.log()[-2000:])
    sent = transcript.since(s, before)
    assert not transcript.find(sent, rb"SEARCH|DELETE|LOGOUT"), sent
    # the mailbox is untouched, and the mount still searches
    assert imaputil.uids(imap(s), name) == uids
    assert _listed(os.path.join(d, "is:flagged")) == [uids[2]]
    assert m.alive()


def test_repeated_ls_costs_nothing_and_changes_show(fresh_servers, mount, imap):
    s = fresh_servers("slash", rawlog=True, fts=True)
    c = imap(s)
    name, leaf, (u1,) = _new_box(s, c, "SearchLive", "alpha one")
    m = mount(s, opts=["poll=30", "timeout=10"])
    d = os.path.join(m.path, personal_rel(s, leaf))
    q = os.path.join(d, ".search", "subject:alpha")
    assert _listed(q) == [u1]
    before = transcript.mark(s)
    for _ in range(5):
        assert _listed(q) == [u1]
    assert not transcript.find(transcript.since(s, before), rb"SEARCH"), \
        "a repeated ls searched again"
    m.stop()
    m = mount(s, opts=OPTS)
    d = os.path.join(m.path, personal_rel(s, leaf))
    q = os.path.join(d, ".search", "subject:alpha")
    assert _listed(q) == [u1]
    # another client's new match and flag change show as the folder does
    u2 = imaputil.append_uid(c, name, _msg("a@x", "b@x", "alpha two", "2"))
    wait_for(lambda: _listed(q) == [u1, u2], POLL_BOUND,
             lambda: "new match not shown: %r\n%s" % (_listed(q), m.log()))
    f = os.path.join(d, ".search", "is:flagged")
    assert _listed(f) == []
    imaputil.store_flags(c, name, u1, "+FLAGS", ["\\Flagged"])
    # as fresh as the folder: the view shows it once the folder does
    p1 = os.path.join(d, "%d.eml" % u1)
    wait_for(lambda: b"\\Flagged" in os.getxattr(p1, "user.imap.flags"), POLL_BOUND,
             "the folder did not show the flag change")
    wait_for(lambda: _listed(f) == [u1], 3,
             lambda: "flag change not shown: %r\n%s" % (_listed(f), m.log()))


def test_search_command(box, mount, imapfs_bin):
    s, name, rel, uids = box
    m = mount(s)
    d = os.path.join(m.path, rel)
    out = subprocess.run([imapfs_bin, "search", d, "from:alice"],
                         capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:-1] == [os.path.join(d, "%d.eml" % u) for u in (uids[0], uids[3])]
    out = subprocess.run([imapfs_bin, "search", "-0", m.path, "is:flagged from:carol"],
                         capture_output=True, check=True).stdout
    assert out == (os.path.join(d, "%d.eml" % uids[2]) + "\0").encode()
    r = subprocess.run([imapfs_bin, "search", d, "foo:bar"], capture_output=True, text=True)
    assert r.returncode != 0 and "unknown key" in r.stderr
    r = subprocess.run([imapfs_bin, "search", d, "after:2024/01/01"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "/" in r.stderr
    # nothing found: no output, exit 0 (an empty listing once hit UBSan)
    r = subprocess.run([imapfs_bin, "search", d, "subject:no-such-subject-anywhere"],
                       capture_output=True, text=True)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", ""), r
    # DIR/.search/.. is DIR: never a query (it would print every message)
    for q in ("..", "."):
        r = subprocess.run([imapfs_bin, "search", d, q], capture_output=True, text=True)
        assert r.returncode != 0 and r.stdout == "" and "not a query" in r.stderr, r
    # a query that begins with -o is a query, not mount.fuse3's options
    r = subprocess.run([imapfs_bin, "search", d, "-outlook"], capture_output=True,
                       text=True)
    assert r.returncode == 0 and "mount" not in r.stderr, r
    assert r.stdout.split("\n")[:-1] == [
        os.path.join(d, "%d.eml" % u) for u in _imap_search(s, name, 'NOT TEXT "outlook"')]


def test_weak_server_refusals_are_einval(pki, mount):
    """A server weaker than Dovecot (fakeserver search_weak): no CHARSET
    but US-ASCII, few search keys. A query it refuses fails with EINVAL
    and the server's reason in the log; what it can do still works."""
    from fakeserver import FakeServer, Message
    from mountutil import local_url
    body = (b"From: a@b.example\r\nSubject: hello there\r\nList-Id: <x.example>\r\n"
            b"\r\nhi\r\n")
    other = b"From: c@d.example\r\nSubject: other\r\n\r\nho\r\n"
    fake = FakeServer("imaps", cert=pki.leaf("fake-search"), password="pw",
                      mailboxes={b"INBOX": {"attrs": ["\\HasNoChildren"],
                                            "messages": [Message(1, body),
                                                         Message(2, other)]}}).start()
    try:
        fake.search_weak = True
        m = mount(url=local_url("alice", fake.port), cafile=pki.cafile,
                  password="pw", opts=["poll=2"])
        d = os.path.join(m.path, "INBOX", ".search")
        assert os.listdir(os.path.join(d, "header:List-Id:x.example")) == ["1.eml"]
        for q, said in [("subject:Grüße", "BADCHARSET"), ("body:hi", "refused")]:
            for _ in range(3):
                with pytest.raises(OSError) as ei:
                    os.listdir(os.path.join(d, q))
                assert ei.value.errno == errno.EINVAL, q
            assert said in m.log(), (q, m.log()[-2000:])
        # a refusal is remembered for the poll interval: asked once, and
        # the BAD's dropped connection is not made again and again
        sent = [c for c in fake.commands if c[2] == "UID SEARCH"]
        assert len(sent) == 3, sent     # header:List-Id, then one per refusal
        assert len([c for c in fake.commands if c[2] == "LOGIN"]) <= 3
        assert m.alive()
        assert os.listdir(os.path.join(d, "header:Subject:other")) == ["2.eml"]
    finally:
        fake.stop()


def test_root_search_skips_a_mailbox_the_server_will_not_open(pki, mount):
    """A root query over a mailbox that LIST shows but SELECT refuses (a
    shared one without the read right) searches the others and says which
    one it left out; it does not fail as a whole."""
    from fakeserver import FakeServer, Message
    from mountutil import local_url
    hit = b"From: a@b.example\r\nSubject: hit\r\nX-Tag: yes\r\n\r\nx\r\n"
    fake = FakeServer("imaps", cert=pki.leaf("fake-search2"), password="pw",
                      mailboxes={
                          b"INBOX": {"attrs": ["\\HasNoChildren"],
                                     "messages": [Message(1, hit)]},
                          b"Closed": {"attrs": ["\\HasNoChildren"],
                                      "messages": [Message(1, hit)],
                                      "select_refusal": b"NO [NOPERM] no read right"},
                          b"Open": {"attrs": ["\\HasNoChildren"],
                                    "messages": [Message(7, hit)]}}).start()
    try:
        m = mount(url=local_url("alice", fake.port), cafile=pki.cafile,
                  password="pw", opts=["poll=2"])
        q = os.path.join(m.path, ".search", "header:X-Tag:yes")
        got = sorted(os.path.relpath(os.path.join(r, f), q)
                     for r, _, fs in os.walk(q) for f in fs)
        assert got == ["INBOX/1.eml", "Open/7.eml"], got
        assert "Closed left out" in m.log(), m.log()[-2000:]
        # asked once, not once per name the walk looked up
        tries = [c for c in fake.commands
                 if c[2] in ("SELECT", "EXAMINE") and b"Closed" in c[3]]
        assert len(tries) == 1, tries
    finally:
        fake.stop()


def _searches(s, before):
    return len(transcript.find(transcript.since(s, before), rb"^UID SEARCH"))


def test_root_query_lookups_do_not_search_everything(box, mount, imap):
    """A lookup of one result after the poll interval searches its own
    mailbox only, and listings side by side share one search of all."""
    s, name, rel, uids = box
    c = imap(s)
    for i in range(4):
        mb = personal_name(s, uniq("Sweep%d" % i))
        imaputil.create(c, mb)
        imaputil.append_uid(c, mb, _msg("z@x", "y@x", "sweep %d" % i, "s"))
    m = mount(s, opts=["poll=2", "timeout=10"])
    q = os.path.join(m.path, ".search", "subject:sweep")
    assert len(list(os.walk(q))) >= 5
    nboxes = len([n for n, a in imaputil.mailbox_names(c).items()
                  if "\\Noselect" not in a])
    one = [os.path.join(r, f) for r, _, fs in os.walk(q) for f in fs][0]
    time.sleep(2.5)                     # past the poll interval
    before = transcript.mark(s)
    assert os.path.exists(one)
    assert _searches(s, before) == 1, transcript.since(s, before)
    time.sleep(2.5)
    before = transcript.mark(s)
    outs = []
    th = [threading.Thread(target=lambda: outs.append(sorted(os.listdir(q))))
          for _ in range(6)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    assert len(outs) == 6 and all(o == outs[0] for o in outs)
    n = _searches(s, before)
    assert n <= nboxes, "%d searches for %d mailboxes" % (n, nboxes)


def test_deleted_mailbox_leaves_a_root_query(box, mount, imap):
    """A mailbox deleted by another client after a root query found it
    leaves the query's listing, and so does its parent, which holds no
    match of its own (a stale result must not keep an empty folder)."""
    s, name, rel, uids = box
    c = imap(s)
    par = uniq("Par")
    child = personal_name(s, par, "Child")
    imaputil.create(c, child)
    imaputil.append_uid(c, child, _msg("zorro@x", "y@x", "mark of zorro", "z"))
    m = mount(s, opts=OPTS)
    q = os.path.join(m.path, ".search", "from:zorro")
    top = personal_rel(s, par).split("/")[0]
    assert top in os.listdir(q)
    imaputil.check(c.delete(imaputil.quote(child)), "DELETE")
    wait_for(lambda: top not in os.listdir(q), POLL_BOUND + 4,
        lambda: "a deleted mailbox's parent still in the query: %r\n%s"
        % (os.listdir(q), m.log()[-2000:]))

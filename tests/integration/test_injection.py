"""Nothing reaches the server but what the user meant (issue 10, items 1,
2 and 14).

The security review deleted a mailbox on a real Dovecot with a folder name
holding %0D%0A (decoded to CR LF and sent inside a quoted string), and
could have with a 4 GiB file (libetpan's 32-bit literal count). Each vector
here runs against the real test Dovecot, and an independent imaplib client
then checks that every mailbox and message is still there. What Dovecot
will not send (a mailbox name with CR LF in it) or cannot show us (what a
LOGIN looked like on the wire) uses the scripted server, which records
every command line it receives.
"""

import errno
import os
import subprocess

import pytest

import corpus
import imaputil
from fakeserver import FakeServer, Message
from imaputil import personal_name, personal_rel
from mountutil import local_url


def _snapshot(s):
    """{mailbox: {uid: body}} of every selectable mailbox, on a fresh
    connection."""
    c = imaputil.connect(s)
    try:
        out = {}
        for name, attrs in imaputil.mailbox_names(c).items():
            low = [a.lower() for a in attrs]
            if "\\noselect" in low or "\\nonexistent" in low:
                continue
            out[name] = imaputil.bodies(c, name.decode())
        return out
    finally:
        c.logout()


def _vectors(s, victim):
    """The review's name: CR LF, a DELETE of VICTIM, CR LF (only where the
    victim's name has no delimiter in it: in Dovecot's '.' layout every
    personal name does, and a '.' in a component is refused earlier); and
    one that would empty INBOX on either layout."""
    out = ["x%0D%0AZ9 SELECT INBOX%0D%0AZ8 STORE 1:* +FLAGS (\\Deleted)"
           "%0D%0AZ7 EXPUNGE%0D%0AZ6 NOOP"]
    if s.layout == "slash":
        out.append("x%0D%0AZ9 DELETE " + victim + "%0D%0AZ8 NOOP")
    return out


@pytest.fixture
def victim(fresh_server, imap):
    s = fresh_server
    c = imap(s)
    name = personal_name(s, "Victim")
    if name.encode() not in imaputil.mailbox_names(c):
        imaputil.create(c, name)
        for i in range(3):
            imaputil.append_uid(c, name, corpus.msg_plain(
                "victim %d" % i, ["keep me"], msgid="victim-%d@x" % i))
    if not imaputil.uids(c, "INBOX"):
        imaputil.append_uid(c, "INBOX", corpus.msg_plain(
            "inbox victim", ["keep me"], msgid="inbox-victim@x"))
    return name


def _no_forged_lines(log):
    for line in log.splitlines():
        assert not line.startswith("Z9") and not line.startswith("Z8"), \
            "a log line was forged by a name:\n" + log


def test_mkdir_crlf_name_sends_nothing(fresh_server, mount, victim):
    s = fresh_server
    before = _snapshot(s)
    m = mount(s)
    parent = os.path.join(m.path, os.path.dirname(personal_rel(s, "Victim")))
    for v in _vectors(s, victim):
        with pytest.raises(OSError) as ei:
            os.mkdir(os.path.join(parent, v))
        assert ei.value.errno == errno.EINVAL, (v, ei.value)
    after = _snapshot(s)
    assert after == before, "mailboxes changed: %r -> %r" % (
        sorted(before), sorted(after))
    assert m.alive()
    log = m.log()
    assert "\\r\\nZ9 " in log, "the refusal is logged, escaped:\n" + log
    _no_forged_lines(log)


def test_rename_dir_to_crlf_name_sends_nothing(fresh_server, mount, imap,
                                               victim):
    s = fresh_server
    c = imap(s)
    src = personal_name(s, "RenSrc")
    if src.encode() not in imaputil.mailbox_names(c):
        imaputil.create(c, src)
    before = _snapshot(s)
    m = mount(s)
    srcpath = os.path.join(m.path, personal_rel(s, "RenSrc"))
    for v in _vectors(s, victim):
        with pytest.raises(OSError) as ei:
            os.rename(srcpath, os.path.join(os.path.dirname(srcpath), v))
        assert ei.value.errno == errno.EINVAL, (v, ei.value)
    assert _snapshot(s) == before
    assert os.path.isdir(srcpath)
    _no_forged_lines(m.log())


def test_keyword_injection_refused(fresh_server, mount, imap, victim):
    s = fresh_server
    c = imap(s)
    uid = sorted(imaputil.uids(c, victim))[0]
    flags_before = imaputil.flags_of(c, victim, uid)
    before = _snapshot(s)
    m = mount(s)
    f = os.path.join(m.path, personal_rel(s, "Victim"), "%d.eml" % uid)
    for value in (b"+$a\r\nZ9 DELETE " + victim.encode(), b"+$a (x",
                  b"+$a\\b"):
        with pytest.raises(OSError) as ei:
            os.setxattr(f, "user.imap.flags", value)
        assert ei.value.errno == errno.EINVAL, (value, ei.value)
    assert _snapshot(s) == before
    assert imaputil.flags_of(c, victim, uid) == flags_before


def test_file_of_4gib_refused_before_sending(fresh_server, mount, imap,
                                             victim):
    """2^32+41 bytes: the literal count would wrap to 41 and the rest run
    as commands. The write that crosses 4 GiB fails with EFBIG (so does a
    truncate to that size), nothing is appended, and the mount goes on."""
    s = fresh_server
    before = _snapshot(s)
    m = mount(s)
    inbox = os.path.join(m.path, "INBOX")
    big = os.path.join(inbox, "big.eml")
    with open(big, "wb", buffering=0) as f:
        f.write(b"Subject: small start\r\n\r\n")
        with pytest.raises(OSError) as ei:
            f.seek(2 ** 32 + 40)
            f.write(b"x")
            f.flush()
        assert ei.value.errno == errno.EFBIG, ei.value
        with pytest.raises(OSError) as ei:
            os.ftruncate(f.fileno(), 2 ** 32 + 41)
        assert ei.value.errno == errno.EFBIG, ei.value
    r = subprocess.run(["truncate", "-s", str(2 ** 32 + 41),
                        os.path.join(inbox, "big2.eml")],
                       capture_output=True, timeout=60)
    assert r.returncode != 0 and b"too large" in r.stderr.lower(), r
    after = _snapshot(s)
    inbox_name = b"INBOX"
    # the small start of big.eml may have been appended at close; nothing
    # else changed, and no other mailbox was touched
    assert {k: v for k, v in after.items() if k != inbox_name} == \
        {k: v for k, v in before.items() if k != inbox_name}
    new = set(after[inbox_name]) - set(before[inbox_name])
    assert all(after[inbox_name][u] == b"Subject: small start\r\n\r\n"
               for u in new), new
    assert "may not exceed" in m.log()
    # a normal message still goes in
    body = corpus.msg_plain("after big", ["fine"], msgid="after-big@x")
    with open(os.path.join(inbox, "ok.eml"), "wb") as f:
        f.write(body)
    assert body in _snapshot(s)[inbox_name].values()


def test_bare_lf_sent_as_crlf(fresh_server, mount, imap):
    """Item 14: IMAP messages have CRLF line ends; a file written with bare
    LF is APPENDed with CRLF (libetpan converts; imapfs.1 says so), and the
    message then shows its size on the server."""
    s = fresh_server
    c = imap(s)
    m = mount(s)
    inbox = os.path.join(m.path, "INBOX")
    before = set(imaputil.uids(c, "INBOX"))
    lf = (b"From: lf@example.com\nSubject: bare lf\nMessage-ID: <lf@x>\n\n"
          b"line one\nline two\n")
    with open(os.path.join(inbox, "lf.eml"), "wb") as f:
        f.write(lf)
    new = sorted(set(imaputil.uids(c, "INBOX")) - before)
    assert len(new) == 1, new
    got = imaputil.bodies(c, "INBOX")[new[0]]
    assert got == lf.replace(b"\n", b"\r\n"), got
    st = os.stat(os.path.join(inbox, "%d.eml" % new[0]))
    assert st.st_size == len(got)


# ------------------------------------------------ the scripted server


def _fake(pki, **kw):
    mbs = kw.pop("mailboxes", None) or {
        b"INBOX": {"attrs": ["\\HasNoChildren"], "messages": [
            Message(1, b"From: a@b.example\r\nSubject: one\r\n\r\nbody\r\n",
                    ["\\Seen"])]},
    }
    return FakeServer("imaps", cert=pki.leaf("fake-inject"), password="pw",
                      mailboxes=mbs, **kw).start()


def _lines(fs):
    with fs._lock:
        return [c[3] for c in fs.commands]


def test_server_name_with_crlf_never_selected(pki, mount):
    """A server-sent name with CR LF is shown (escaped) but never sent
    back: SELECT of it would have been `SELECT "nl` then `X"`."""
    fs = _fake(pki, mailboxes={
        b"INBOX": {"attrs": ["\\HasNoChildren"], "messages": [
            Message(1, b"Subject: one\r\n\r\nbody\r\n")]},
        b"nl\r\nX": {"attrs": ["\\HasNoChildren"], "messages": [
            Message(1, b"Subject: two\r\n\r\nbody\r\n")]},
    })
    try:
        m = mount(url=local_url("alice", fs.port),
                  cafile=pki.cafile, password="pw", opts=["timeout=10"])
        names = os.listdir(m.path)
        odd = [n for n in names if n != "INBOX"]
        assert len(odd) == 1 and "\r" not in odd[0] and "\n" not in odd[0], \
            names
        with pytest.raises(OSError) as ei:
            os.listdir(os.path.join(m.path, odd[0]))
        assert ei.value.errno == errno.EINVAL, ei.value
        for line in _lines(fs):
            assert not line.startswith(b'X"'), fs.transcript()
            assert b"nl" not in line, fs.transcript()
        assert m.alive()
        assert os.listdir(os.path.join(m.path, "INBOX")) == ["1.eml"]
        _no_forged_lines(m.log())
    finally:
        fs.stop()


def test_url_user_with_crlf_never_sent(pki, mount):
    fs = _fake(pki)
    try:
        m = mount(url="imaps://u%%0D%%0AZ9%%20DELETE%%20INBOX%%0D%%0A"
                  "@127.0.0.1:%d/" % fs.port, cafile=pki.cafile,
                  password="pw", opts=["timeout=10"], start=False)
        with pytest.raises(AssertionError):
            m.start()
        assert m.returncode not in (None, 0)
        assert "CR or LF" in m.log(), m.log()
        assert not fs.saw("LOGIN", "DELETE", "NOOP"), fs.transcript()
        for line in _lines(fs):
            assert not line.startswith(b"Z9"), fs.transcript()
    finally:
        fs.stop()


def test_appendlimit_refused_before_sending(pki, mount):
    """RFC 7889: a server advertising APPENDLIMIT=N gets nothing larger.
    Too large as written: the write fails with EFBIG. Under the limit as
    written but over it once bare LFs become CRLF: close() fails with
    EFBIG. Nothing is sent either way; a message under the limit is."""
    caps = ["IMAP4rev1", "NAMESPACE", "UIDPLUS", "ID", "ENABLE", "LITERAL+",
            "CHILDREN", "UNSELECT", "APPENDLIMIT=2000"]
    fs = _fake(pki, caps_auth=caps)
    try:
        m = mount(url=local_url("alice", fs.port),
                  cafile=pki.cafile, password="pw", opts=["timeout=10"])
        inbox = os.path.join(m.path, "INBOX")
        with open(os.path.join(inbox, "a.eml"), "wb", buffering=0) as f:
            with pytest.raises(OSError) as ei:
                f.write(b"Subject: big\r\n\r\n" + b"x" * 2100)
                f.flush()
            assert ei.value.errno == errno.EFBIG, ei.value
        fd = os.open(os.path.join(inbox, "b.eml"), os.O_WRONLY | os.O_CREAT)
        os.write(fd, b"Subject: lf\n\n" + b"y\n" * 990)  # 1993 -> 2983
        with pytest.raises(OSError) as ei:
            os.close(fd)
        assert ei.value.errno == errno.EFBIG, ei.value
        assert fs.appended == [], fs.transcript()
        body = b"Subject: small\r\n\r\n" + b"z" * 1000 + b"\r\n"
        with open(os.path.join(inbox, "c.eml"), "wb") as f:
            f.write(body)
        assert fs.appended == [(b"INBOX", body)], fs.transcript()
        assert "APPENDLIMIT" in m.log()
        assert m.alive()
    finally:
        fs.stop()

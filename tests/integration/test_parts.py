"""The parts view (src/vfs_parts.c, src/mime_parts.c, src/mime_decode.c,
src/session_parts.c; imapfs.1, PARTS): MAILBOX/.parts/UID/.

Against the real Dovecot: every entry's bytes equal what Python's email
package decodes from the same message (as imaplib fetches it), sizes are
exact before the first read, walkers never enter .parts, a part is
fetched alone (bytes counted by a proxy), decoded parts come from the disk
cache after a remount, and a broken message stays readable. Against the
scripted server: a BODYSTRUCTURE that cannot be parsed, one nested beyond
bounds, one whose base64 lines are not all alike.
"""

import binascii
import email
import email.policy
import errno
import os
import pathlib
import stat
import subprocess

import pytest

import corpus
import imaputil
import transcript
from fakeserver import FakeServer, Message
from imaputil import personal_name, personal_rel
from liveutil import uniq
from mountutil import local_url
from proxy import Proxy

PDF = b"%PDF-1.4\n" + bytes((i * 7919 + 13) % 256 for i in range(60000))


def _imap_parts(msg, prefix=""):
    """Python's parts of MSG (an email.message.Message) by IMAP part number
    (RFC 3501 6.4.5): {section: part}."""
    out = {}
    if not msg.is_multipart():
        out[prefix + "1" if not prefix else prefix] = msg
        return out
    for i, p in enumerate(msg.get_payload(), 1):
        sec = "%s%d" % (prefix + "." if prefix else "", i)
        out[sec] = p
        if p.get_content_type() == "message/rfc822":
            inner = p.get_payload()[0]
            if inner.is_multipart():
                out.update(_imap_parts(inner, sec))
            else:
                out[sec + ".1"] = inner
        elif p.is_multipart():
            out.update(_imap_parts(p, sec))
    return out


def _decoded(part):
    return part.get_payload(decode=True)


def _as_utf8(part):
    cs = part.get_content_charset() or "us-ascii"
    return _decoded(part).decode(cs, "replace").encode("utf-8")


def _read(path):
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def box(fresh_servers):
    s = fresh_servers("slash", rawlog=True)
    c = transcript.connect(s)
    leaf = uniq("Parts")
    name = personal_name(s, leaf)
    imaputil.create(c, name)
    nested = imaputil.append_uid(c, name, corpus.msg_nested("nested", PDF))
    broken = imaputil.append_uid(c, name, corpus.msg_broken_mime("broken"))
    plain = imaputil.append_uid(c, name, corpus.msg_qp(corpus.SUBJ_LATIN1_Q))
    imaputil.examine(c, name)
    raw = {u: imaputil.fetch_body(c, u) for u in (nested, broken, plain)}
    secs = {}
    for u, want in ((nested, ("3", "3.HEADER", "HEADER")), (broken, ("1", "2"))):
        for sec in want:
            typ, dat = c.uid("FETCH", str(u), "(BODY.PEEK[%s])" % sec)
            imaputil.check((typ, dat), "FETCH")
            secs[(u, sec)] = dat[0][1]
    c.logout()
    return s, name, personal_rel(s, leaf), {"nested": nested, "broken": broken,
                                             "plain": plain}, raw, secs


def test_entries_are_what_python_decodes(box, mount):
    s, name, rel, uids, raw, secs = box
    m = mount(s)
    d = os.path.join(m.path, rel, ".parts", str(uids["nested"]))
    names = sorted(os.listdir(d))
    assert names == sorted([
        "header", "text", "html", "raw", "1.1", "1.2", "2", "3", "4", "5", "6",
        "\u20ac rates for 2024.pdf", "\u20ac rates for 2024 (2).pdf", "fwd.eml",
        "_.._etc_passwd", "header (2)"]), names
    # every size is exact before anything is read
    sizes = {n: os.stat(os.path.join(d, n)).st_size for n in names if n != "3"}
    py = email.message_from_bytes(raw[uids["nested"]], policy=email.policy.compat32)
    parts = _imap_parts(py)
    want = {
        "header": secs[(uids["nested"], "HEADER")],
        "raw": raw[uids["nested"]],
        "text": _as_utf8(parts["1.1"]),
        "html": _as_utf8(parts["1.2"]),
        "1.1": _decoded(parts["1.1"]),
        "1.2": _decoded(parts["1.2"]),
        "2": PDF,
        "\u20ac rates for 2024.pdf": PDF,
        "4": b"the second one",
        "\u20ac rates for 2024 (2).pdf": b"the second one",
        "fwd.eml": secs[(uids["nested"], "3")],
        "5": _decoded(parts["5"]),
        "_.._etc_passwd": _decoded(parts["5"]),
        "6": _decoded(parts["6"]),
        "header (2)": _decoded(parts["6"]),
    }
    assert _decoded(parts["2"]) == PDF
    assert "Grüße aus Köln".encode() in want["text"]
    for n, data in want.items():
        got = _read(os.path.join(d, n))
        assert got == data, n
        assert sizes[n] == len(data), (n, sizes[n], len(data))
    # the forwarded message: a directory of the same shape
    inner = os.path.join(d, "3")
    assert stat.S_ISDIR(os.stat(inner).st_mode)
    assert sorted(os.listdir(inner)) == sorted(["header", "text", "raw", "3.1", "3.2",
                                                "\u00fcber.bin"])
    assert _read(os.path.join(inner, "raw")) == secs[(uids["nested"], "3")]
    assert _read(os.path.join(inner, "header")) == secs[(uids["nested"], "3.HEADER")]
    assert _read(os.path.join(inner, "text")) == _decoded(parts["3.1"])
    assert _read(os.path.join(inner, "\u00fcber.bin")) == _decoded(parts["3.2"]) \
        == b"inner attachment\x00\x01\xff"
    # raw is the message itself
    assert os.stat(os.path.join(d, "raw")).st_ino == \
        os.stat(os.path.join(m.path, rel, "%d.eml" % uids["nested"])).st_ino
    # a single-part message: its body is part 1, its text converted
    p = os.path.join(m.path, rel, ".parts", str(uids["plain"]))
    assert sorted(os.listdir(p)) == ["1", "header", "raw", "text"]
    py = email.message_from_bytes(raw[uids["plain"]])
    assert _read(os.path.join(p, "text")) == _as_utf8(py)
    assert "Olá".encode() in _read(os.path.join(p, "text"))
    assert _read(os.path.join(p, "1")) == _decoded(py)


def test_xattrs(box, mount):
    s, name, rel, uids, raw, secs = box
    m = mount(s)
    d = os.path.join(m.path, rel, ".parts", str(uids["nested"]))

    def x(n, a):
        try:
            return os.getxattr(os.path.join(d, n), "user.mime." + a).decode()
        except OSError as e:
            assert e.errno == errno.ENODATA
            return None
    pdf = "\u20ac rates for 2024.pdf"
    assert x(pdf, "type") == "application/pdf"
    assert x(pdf, "filename") == "\u20ac rates for 2024.pdf"
    assert x(pdf, "part") == "2"
    assert x(pdf, "charset") is None
    assert x("text", "type") == "text/plain"
    assert x("text", "charset") == "utf-8"        # converted
    assert x("1.1", "charset") == "iso-8859-1"    # as sent
    assert x("header", "type") == "text/rfc822-headers"
    assert x("3", "type") == "message/rfc822"
    assert x("3", "filename") == "fwd.eml"
    assert x("_.._etc_passwd", "filename") == "../../etc/passwd"
    assert sorted(os.listxattr(os.path.join(d, pdf))) == \
        ["user.mime.filename", "user.mime.part", "user.mime.type"]


def test_walkers_never_enter(box, mount):
    s, name, rel, uids, raw, secs = box
    m = mount(s)
    snap = transcript.mark(s)
    top = os.path.join(m.path, rel)
    assert ".parts" not in os.listdir(top)
    found = subprocess.run(["find", m.path], capture_output=True, text=True, check=True).stdout
    assert ".parts" not in found
    subprocess.run(["grep", "-rl", "Köln", top], capture_output=True)
    subprocess.run(["du", "-s", m.path], capture_output=True, check=True)
    dst = os.path.join(m.workdir, "copy")
    subprocess.run(["rsync", "-a", top + "/", dst + "/"], check=True)
    assert sorted(os.listdir(dst)) == sorted("%d.eml" % u for u in uids.values())
    assert not transcript.find(transcript.since(s, snap), rb"BODYSTRUCTURE|BODY\.PEEK\[\d"), \
        "a walker took a message apart"
    # .parts is reachable by name, and lists nothing itself
    assert os.listdir(os.path.join(top, ".parts")) == []
    assert os.path.isdir(os.path.join(top, ".parts", str(uids["plain"])))
    for bad in ("0", "007", "x", "%d.eml" % uids["plain"], "99999"):
        assert not os.path.exists(os.path.join(top, ".parts", bad)), bad


def test_nothing_is_changed_through_parts(box, mount, imap):
    s, name, rel, uids, raw, secs = box
    m = mount(s)
    d = os.path.join(m.path, rel, ".parts", str(uids["nested"]))
    for op in (lambda: os.unlink(os.path.join(d, "text")),
               lambda: os.rename(os.path.join(d, "text"), os.path.join(m.path, rel, "t")),
               lambda: os.mkdir(os.path.join(d, "x")),
               lambda: open(os.path.join(d, "new"), "wb").close(),
               lambda: open(os.path.join(d, "text"), "r+b").close(),
               lambda: os.truncate(os.path.join(d, "text"), 0)):
        with pytest.raises(OSError) as ei:
            op()
        assert ei.value.errno in (errno.EPERM, errno.EACCES, errno.EROFS), ei.value
    c = imap(s)
    assert sorted(imaputil.uids(c, name)) == sorted(uids.values())


def test_broken_mime_stays_readable(box, mount):
    s, name, rel, uids, raw, secs = box
    m = mount(s)
    d = os.path.join(m.path, rel, ".parts", str(uids["broken"]))
    names = sorted(os.listdir(d))
    assert {"header", "raw", "1", "2", "cut.bin"} <= set(names), names
    assert _read(os.path.join(d, "raw")) == raw[uids["broken"]]
    # the server's bytes of each part, decoded by Python (where the cut
    # structure ends, Dovecot and Python's parser differ by a line end)
    sec = secs[(uids["broken"], "1")], secs[(uids["broken"], "2")]
    assert _read(os.path.join(d, "1")) == binascii.a2b_base64(sec[0]) == \
        b"Gr\xfc\xfe\xdfe aus"
    assert _read(os.path.join(d, "cut.bin")) == binascii.a2b_qp(sec[1])
    assert _read(os.path.join(d, "2")) == binascii.a2b_qp(sec[1])
    # the unknown charset is read as Windows-1252 where not UTF-8
    assert _read(os.path.join(d, "text")) == "Grüþße aus".encode()
    for n in names:
        assert len(_read(os.path.join(d, n))) == os.stat(os.path.join(d, n)).st_size, n


def _two_attachments(size):
    a = bytes((i * 31 + 7) % 256 for i in range(size))
    b = bytes((i * 17 + 3) % 256 for i in range(size))
    bnd = "==two=="
    return corpus._lines(
        *corpus._hdr("two big ones"), "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="%s"' % bnd, "",
        "--" + bnd, "Content-Type: text/plain", "", "see attached", "",
        "--" + bnd, "Content-Type: application/octet-stream",
        "Content-Transfer-Encoding: base64",
        'Content-Disposition: attachment; filename="a.bin"', "",
        corpus._b64_lines(a), "",
        "--" + bnd, "Content-Type: application/octet-stream",
        "Content-Transfer-Encoding: base64",
        'Content-Disposition: attachment; filename="b.bin"', "",
        corpus._b64_lines(b), "",
        "--" + bnd + "--", ""), a, b


def test_a_part_is_fetched_alone(fresh_servers, mount, imap):
    """Bytes from the server, counted by a proxy (TLS included): ls -l of
    the parts costs a few KiB; cp of one 2 MB attachment of a 5.5 MB
    message fetches that attachment's encoded bytes plus at most 10%,
    never the whole message; head -c 100 of the other, at most 64 KiB;
    the same cp again, nothing."""
    s = fresh_servers("slash")
    c = imap(s)
    leaf = uniq("PartsWire")
    name = personal_name(s, leaf)
    imaputil.create(c, name)
    body, a, b = _two_attachments(2 * 1024 * 1024)
    uid = imaputil.append_uid(c, name, body)
    enc = len(corpus._b64_lines(a))
    p = Proxy(s.imaps_port).start()
    try:
        m = mount(url=local_url(s.user, p.port), cafile=s.cafile, password=s.password)
        tmp_path = pathlib.Path(m.workdir)
        top = os.path.join(m.path, personal_rel(s, leaf))
        os.listdir(top)
        d = os.path.join(top, ".parts", str(uid))
        p.reset()
        out = subprocess.run(["ls", "-l", d], capture_output=True, text=True, check=True).stdout
        assert " %d " % len(a) in out and " %d " % len(b) in out, out
        down, _ = p.counts()
        assert down < 32 * 1024, "ls -l fetched %d bytes" % down
        p.reset()
        subprocess.run(["cp", os.path.join(d, "a.bin"), str(tmp_path / "a")], check=True)
        down, _ = p.counts()
        assert (tmp_path / "a").read_bytes() == a
        assert enc <= down <= enc * 1.10, (down, enc, len(body))
        p.reset()
        head = subprocess.run("head -c 100 '%s'" % os.path.join(d, "b.bin"), shell=True,
                              capture_output=True, check=True).stdout
        assert head == b[:100]
        down, _ = p.counts()
        assert down <= 64 * 1024, "head -c 100 fetched %d bytes" % down
        p.reset()
        subprocess.run(["cp", os.path.join(d, "a.bin"), str(tmp_path / "a2")], check=True)
        assert p.counts()[0] == 0
        assert (tmp_path / "a2").read_bytes() == a
        # tar and rsync get every byte (sizes were exact before reading)
        subprocess.run(["tar", "-C", d, "-cf", str(tmp_path / "t.tar"), "b.bin", "a.bin"],
                       check=True)
        subprocess.run(["tar", "-C", str(tmp_path), "-xf", str(tmp_path / "t.tar")], check=True)
        assert (tmp_path / "b.bin").read_bytes() == b
        subprocess.run(["rsync", "-a", d + "/", str(tmp_path / "r") + "/"], check=True)
        assert (tmp_path / "r" / "b.bin").read_bytes() == b
        assert (tmp_path / "r" / "text").read_bytes() == b"see attached\r\n"
    finally:
        p.stop()


def test_decoded_parts_are_cached(box, mount):
    """A part read once is read from the disk cache after a remount (no
    FETCH of its section in the rawlog), stored private (0600 in 0700)."""
    s, name, rel, uids, raw, secs = box
    m = mount(s)
    cache = os.path.join(m.workdir, "cache")
    m.stop()
    m = mount(s, opts=["cache_dir=" + cache])
    d = os.path.join(m.path, rel, ".parts", str(uids["nested"]))
    pdf = os.path.join(d, "\u20ac rates for 2024.pdf")
    assert _read(pdf) == PDF
    files = []
    for root, dirs, fs in os.walk(cache):
        for n in dirs:
            assert stat.S_IMODE(os.stat(os.path.join(root, n)).st_mode) == 0o700
        for n in fs:
            assert stat.S_IMODE(os.stat(os.path.join(root, n)).st_mode) == 0o600
            files.append(os.path.join(root, n))
    # the decoded PDF is one of them, after the 64-byte header
    assert any(os.path.getsize(f) == 64 + len(PDF) for f in files), files
    m.stop()
    snap = transcript.mark(s)
    m = mount(s, opts=["cache_dir=" + cache])
    d = os.path.join(m.path, rel, ".parts", str(uids["nested"]))
    assert os.stat(os.path.join(d, "\u20ac rates for 2024.pdf")).st_size == len(PDF)
    assert _read(os.path.join(d, "\u20ac rates for 2024.pdf")) == PDF
    assert not transcript.find(transcript.since(s, snap), rb"BODY\.PEEK\[2\]"), \
        "read again from the server"


def test_read_only_mount(box, mount):
    s, name, rel, uids, raw, secs = box
    m = mount(s, opts=["ro"])
    d = os.path.join(m.path, rel, ".parts", str(uids["nested"]))
    assert _read(os.path.join(d, "2")) == PDF
    assert _read(os.path.join(d, "html")).startswith("<p>Grüße".encode())


# ---- the scripted server: what Dovecot never sends -------------------------

SIMPLE = (b"From: a@b\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n")


def _fake(pki, structures, body=SIMPLE):
    fs = FakeServer("imaps", cert=pki.leaf("fake-parts"), password="pw",
                    mailboxes={b"INBOX": {"attrs": ["\\HasNoChildren"],
                                          "messages": [Message(1, body, [])]}})
    fs.structures = structures
    return fs.start()


def _fake_mount(fs, pki, mount):
    return mount(url=local_url("alice", fs.port), cafile=pki.cafile, password="pw",
                 opts=["timeout=10"])


@pytest.mark.parametrize("shape", [
    b'("TEXT" "PLAIN" ((( garbage',                                  # unparsable
    b"(" * 40 + b'"TEXT" "PLAIN" NIL NIL NIL "7BIT" 5 1' + b' "MIXED")' * 40,  # too deep
], ids=["unparsable", "too-deep"])
def test_structure_the_server_cannot_give(pki, mount, shape):
    fs = _fake(pki, {1: (shape, {})})
    try:
        m = _fake_mount(fs, pki, mount)
        d = os.path.join(m.path, "INBOX", ".parts", "1")
        assert sorted(os.listdir(d)) == ["header", "raw"]
        assert _read(os.path.join(d, "raw")) == SIMPLE
        assert _read(os.path.join(d, "header")) == SIMPLE[:SIMPLE.index(b"\r\n\r\n") + 4]
        assert m.alive()
        assert "no MIME structure" in m.log()
    finally:
        fs.stop()


def test_irregular_base64_lines_are_read_whole(pki, mount):
    """The two ends of a base64 part say one size, its middle another: the
    size is corrected when the part is read, and every byte comes."""
    data = bytes(range(256)) * 40
    import base64
    enc = base64.b64encode(data)
    lines = [enc[:76], enc[76:230]]     # 154: two lines and two characters
    rest = enc[230:]
    lines += [rest[i:i + 76] for i in range(0, len(rest), 76)]
    part = b"\r\n".join(lines) + b"\r\n"
    shape = (b'("APPLICATION" "OCTET-STREAM" ("NAME" "x.bin") NIL NIL "BASE64" %d NIL '
             b'("ATTACHMENT" ("FILENAME" "x.bin")) NIL NIL)' % len(part))
    fs = _fake(pki, {1: (shape, {"1": part})})
    try:
        m = _fake_mount(fs, pki, mount)
        f = os.path.join(m.path, "INBOX", ".parts", "1", "x.bin")
        with open(f, "rb") as fh:
            got = fh.read()
        assert got == data
        assert os.stat(f).st_size == len(data)
        assert "as its two ends said" in m.log()
    finally:
        fs.stop()


def _many_attachments(n, size):
    bnd = "==many=="
    lines = [*corpus._hdr("many parts"), "MIME-Version: 1.0",
             'Content-Type: multipart/mixed; boundary="%s"' % bnd, ""]
    datas = []
    for i in range(n):
        d = bytes((i * 131 + k * 7) % 256 for k in range(size))
        datas.append(d)
        lines += ["--" + bnd, "Content-Type: application/octet-stream",
                  "Content-Transfer-Encoding: base64",
                  'Content-Disposition: attachment; filename="p%03d.bin"' % i, "",
                  corpus._b64_lines(d), ""]
    lines += ["--" + bnd + "--", ""]
    return corpus._lines(*lines), datas


@pytest.mark.parametrize("cache", [["cache_size=200K"], ["cache=no", "cache_size=200K"]])
def test_many_parts_in_a_small_cache(fresh_servers, mount, imap, cache):
    """300 parts of 8 KiB, read in a cache that holds 25 of them: the done
    parts beyond the 256 the mount keeps open are read back from the
    cache, and those evicted meanwhile are fetched again; every byte
    right, the daemon fine. The kernel's page cache is dropped before the
    second round, so the reads reach the mount."""
    s = fresh_servers("slash")
    c = imap(s)
    leaf = uniq("PartsMany")
    name = personal_name(s, leaf)
    imaputil.create(c, name)
    body, datas = _many_attachments(300, 8 * 1024)
    uid = imaputil.append_uid(c, name, body)
    m = mount(s, opts=cache + ["debug"])
    d = os.path.join(m.path, personal_rel(s, leaf), ".parts", str(uid))
    assert len([n for n in os.listdir(d) if n.startswith("p")]) == 300
    for rnd in range(2):
        for i in range(300) if rnd == 0 else [299, 280, 260, 0, 1, 2, 150]:
            fd = os.open(os.path.join(d, "p%03d.bin" % i), os.O_RDONLY)
            try:
                if rnd:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                got = b""
                while True:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        break
                    got += chunk
            finally:
                os.close(fd)
            assert got == datas[i], (rnd, i)
    assert m.alive()
    assert "Too many open files" not in m.log()
    assert "left the cache; fetching it again" in m.log()


def test_large_text_in_another_charset(fresh_servers, mount, imap):
    """A quoted-printable ISO-8859-1 text of 400 KiB (read in windows, and
    converted whole at its end): sizes exact, bytes what Python makes of
    it; a rename of the mailbox meanwhile changes nothing."""
    s = fresh_servers("slash")
    c = imap(s)
    leaf = uniq("PartsText")
    name = personal_name(s, leaf)
    imaputil.create(c, name)
    line = "Gr=FC=DFe aus K=F6ln, caf=E9 cr=E8me br=FBl=E9e, a line of some length ="
    body = corpus._lines(*corpus._hdr("long latin-1"), "MIME-Version: 1.0",
                         "Content-Type: text/html; charset=iso-8859-1",
                         "Content-Transfer-Encoding: quoted-printable", "",
                         *([line, "and its end.<br>"] * 5000))
    uid = imaputil.append_uid(c, name, body)
    m = mount(s)
    d = os.path.join(m.path, personal_rel(s, leaf), ".parts", str(uid))
    sizes = {n: os.stat(os.path.join(d, n)).st_size for n in os.listdir(d)}
    assert sorted(sizes) == ["1", "header", "html", "raw"]
    imaputil.examine(c, name)
    py = email.message_from_bytes(imaputil.fetch_body(c, uid), policy=email.policy.compat32)
    assert sizes["html"] == len(_as_utf8(py)) > 400 * 1024
    assert _read(os.path.join(d, "html")) == _as_utf8(py)
    assert _read(os.path.join(d, "1")) == _decoded(py)
    # renamed: the parts are read under the mailbox's new name
    p1 = os.path.join(d, "1")
    new_leaf = uniq("PartsTextRenamed")
    os.rename(os.path.join(m.path, personal_rel(s, leaf)), os.path.join(m.path, personal_rel(s, new_leaf)))
    d2 = os.path.join(m.path, personal_rel(s, new_leaf), ".parts", str(uid))
    assert _read(os.path.join(d2, "1")) == _decoded(py)
    assert not os.path.exists(p1)
    assert m.alive()


def _latin1_shape(claim):
    return (b'("TEXT" "PLAIN" ("CHARSET" "ISO-8859-1") NIL NIL "QUOTED-PRINTABLE" %d 1 NIL NIL NIL NIL)'
            % claim)


@pytest.mark.parametrize("claim,sent,what", [
    (1000, b"caf=E9 " * 60000, "more than its structure says"),     # 420 KB for 1 KB
    (5000, b"caf=E9 " * 10, "cut short"),                            # 70 bytes for 5000
], ids=["longer", "shorter"])
def test_a_server_that_lies_about_a_part(pki, mount, claim, sent, what):
    """The part's bytes disagree with its structure: that part fails with
    EIO and a log line, nothing of it is kept, the daemon stays up with
    its memory bounded by the message, and the message's raw is fine."""
    big = SIMPLE + b"x" * 100000                       # RFC822.SIZE ~100 KB
    fs = _fake(pki, {1: (_latin1_shape(claim), {"1": sent})}, body=big)
    try:
        m = _fake_mount(fs, pki, mount)
        d = os.path.join(m.path, "INBOX", ".parts", "1")
        names = sorted(os.listdir(d))
        assert "text" not in names and "1" not in names, names   # left out, logged
        for n in ("text", "1"):
            with pytest.raises(OSError) as ei:
                _read(os.path.join(d, n))
            assert ei.value.errno == errno.EIO, (n, ei.value)
        assert "bytes of part 1; its structure says" in m.log()
        assert _read(os.path.join(d, "raw")) == big
        assert m.alive()
    finally:
        fs.stop()


def test_too_many_parts(pki, mount):
    shape = b"(" + b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1 NIL NIL NIL NIL)' * 2001 + b' "MIXED")'
    fs = _fake(pki, {1: (shape, {})})
    try:
        m = _fake_mount(fs, pki, mount)
        d = os.path.join(m.path, "INBOX", ".parts", "1")
        assert sorted(os.listdir(d)) == ["header", "raw"]
        assert "more than 2000" in m.log()
    finally:
        fs.stop()


def test_quoted_printable_without_line_ends(pki, mount):
    """300 KB of quoted-printable with no line end, read in windows: no
    window's end splits an escape ("=C3=A9" every 10 bytes)."""
    qp = b"caf=C3=A9 " * 30000
    shape = (b'("TEXT" "PLAIN" ("CHARSET" "UTF-8") NIL NIL "QUOTED-PRINTABLE" %d 1 NIL NIL NIL NIL)'
             % len(qp))
    fs = _fake(pki, {1: (shape, {"1": qp})}, body=SIMPLE + b"x" * len(qp))
    try:
        m = _fake_mount(fs, pki, mount)
        d = os.path.join(m.path, "INBOX", ".parts", "1")
        want = "café ".encode() * 30000
        assert os.stat(os.path.join(d, "1")).st_size == len(want)
        assert _read(os.path.join(d, "1")) == want
        assert _read(os.path.join(d, "text")) == want
    finally:
        fs.stop()

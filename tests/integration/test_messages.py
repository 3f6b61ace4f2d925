"""Message files: names, sizes, bytes, times, flags as xattrs, and reading
without side effects on the server."""

import os
import subprocess

import imaputil


def _xattr(path, name):
    return os.getxattr(path, name).decode("utf-8")


def _server_state(c):
    """-> dict relpath -> (server name, {uid: meta}) for every selectable
    mailbox."""
    out = {}
    for rel, info in imaputil.expected_tree(c).items():
        if info["selectable"]:
            out[rel] = (info["name"], imaputil.fetch_meta(c, info["name"]))
    return out


def _flagset(flags):
    return {f for f in flags if f.lower() != "\\recent"}


def test_every_message(server, mnt, imap):
    c = imap(server)
    state = _server_state(c)
    checked = 0
    problems = []
    for rel, (name, meta) in sorted(state.items()):
        d = os.path.join(mnt.path, rel)
        emls = sorted(n for n in os.listdir(d) if n.endswith(".eml"))
        want = sorted("%d.eml" % u for u in meta)
        assert emls == want, "%s: files %r, server UIDs %r" % (rel, emls,
                                                                want)
        imaputil.examine(c, name)
        for uid, m in sorted(meta.items()):
            p = os.path.join(d, "%d.eml" % uid)
            body = imaputil.fetch_body(c, uid)
            st = os.stat(p)
            if st.st_size != len(body):
                problems.append("%s: st_size %d, BODY[] is %d bytes "
                                "(RFC822.SIZE %d)" % (p, st.st_size,
                                                      len(body),
                                                      m["RFC822.SIZE"]))
            with open(p, "rb") as f:
                data = f.read()
            if data != body:
                i = next((k for k in range(min(len(data), len(body)))
                          if data[k] != body[k]), min(len(data), len(body)))
                problems.append("%s: bytes differ from BODY[] at offset %d "
                                "(read %d bytes, BODY[] %d)"
                                % (p, i, len(data), len(body)))
            want_mtime = imaputil.internaldate_epoch(m["INTERNALDATE"])
            if int(st.st_mtime) != want_mtime:
                problems.append("%s: st_mtime %s, INTERNALDATE %s = %d"
                                % (p, st.st_mtime, m["INTERNALDATE"],
                                   want_mtime))
            flags = set(_xattr(p, "user.imap.flags").split())
            if flags != _flagset(m["FLAGS"]):
                problems.append("%s: user.imap.flags %r, server %r"
                                % (p, sorted(flags), sorted(m["FLAGS"])))
            if _xattr(p, "user.imap.uid") != str(uid):
                problems.append("%s: user.imap.uid %r" % (
                    p, _xattr(p, "user.imap.uid")))
            idate = _xattr(p, "user.imap.internaldate")
            if idate != m["INTERNALDATE"].decode():
                problems.append("%s: user.imap.internaldate %r, server %r"
                                % (p, idate, m["INTERNALDATE"]))
            modseq = _xattr(p, "user.imap.modseq")
            if not modseq.isdigit() or (m["MODSEQ"] is not None and
                                        int(modseq) != m["MODSEQ"]):
                problems.append("%s: user.imap.modseq %r, server %r"
                                % (p, modseq, m["MODSEQ"]))
            checked += 1
    assert not problems, "\n".join(problems)
    assert checked >= 20, "corpus too small? checked %d" % checked

    # Reading everything (BODY.PEEK) changed no flag on the server.
    after = _server_state(c)
    for rel, (name, meta) in state.items():
        for uid, m in meta.items():
            assert _flagset(after[rel][1][uid]["FLAGS"]) == \
                _flagset(m["FLAGS"]), "%s/%d.eml: flags changed by reading: " \
                "%r -> %r" % (rel, uid, m["FLAGS"], after[rel][1][uid]["FLAGS"])


def test_inodes_stable(server, mnt):
    root = os.path.join(mnt.path, "INBOX")
    files = sorted(n for n in os.listdir(root) if n.endswith(".eml"))
    first = {n: os.stat(os.path.join(root, n)).st_ino for n in files}
    dino = os.stat(root).st_ino
    assert len(set(first.values())) == len(first), "inode numbers not unique"
    # visit everything else
    for dirpath, dnames, fnames in os.walk(mnt.path):
        for f in fnames:
            os.stat(os.path.join(dirpath, f))
    again = {n: os.stat(os.path.join(root, n)).st_ino for n in files}
    assert again == first
    assert os.stat(root).st_ino == dino
    # inodes are unique across the whole mount
    seen = {}
    for dirpath, dnames, fnames in os.walk(mnt.path):
        for n in dnames + fnames:
            p = os.path.join(dirpath, n)
            ino = os.lstat(p).st_ino
            assert ino not in seen, "%s and %s share inode %d" % (
                p, seen[ino], ino)
            seen[ino] = p


def test_find_newer(server, mnt, imap):
    c = imap(server)
    state = _server_state(c)
    mtimes = {}
    for rel, (name, meta) in state.items():
        for uid, m in meta.items():
            mtimes[os.path.join(mnt.path, rel, "%d.eml" % uid)] = \
                imaputil.internaldate_epoch(m["INTERNALDATE"])
    ref = os.path.join(mnt.path, "INBOX", "1.eml")   # 01-Jan-2024 10:00
    assert ref in mtimes
    want = sorted(p for p, t in mtimes.items() if t > mtimes[ref])
    assert want and len(want) < len(mtimes), "corpus has no spread of dates"
    r = subprocess.run(["find", mnt.path, "-type", "f", "-newer", ref],
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    got = sorted(r.stdout.decode().splitlines())
    assert got == want


def test_grep_finds_needle(server, mnt, imap):
    c = imap(server)
    name = server.corpus.needle_mailbox
    imaputil.examine(c, name)
    typ, dat = c.uid("SEARCH", "BODY", '"%s"' % server.corpus.needle)
    hits = dat[0].split()
    assert len(hits) == 1
    rel = [r for r, info in imaputil.expected_tree(c).items()
           if info["name"] == name.encode()][0]
    want = os.path.join(mnt.path, rel, "%d.eml" % int(hits[0]))
    r = subprocess.run(["grep", "-rl", server.corpus.needle, mnt.path],
                       capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == [want]

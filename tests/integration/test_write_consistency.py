"""After a burst of changes through the mount, the mount and the server
agree, right away and after the mount has re-synchronised with the server
(-o poll=1): no written name left behind, no message twice, no removed
message back, flags as stored."""

import os
import subprocess
import tempfile

import corpus
import imaputil
from imaputil import personal_name, personal_rel
import transcript
from waitutil import poll


_msg = corpus.tagged("consistency", "cs", ["c"])


def _expect(c, m, s, box, children=()):
    sname = personal_name(s, box)
    want = sorted(["%d.eml" % u for u in imaputil.uids(c, sname)] +
                  list(children))
    got = sorted(os.listdir(os.path.join(m.path, personal_rel(s, box))))
    return got, want


def test_mount_and_server_agree_after_changes(fresh_server, fresh_servers,
                                              mount, imap):
    # this layout's server with a rawlog, to see the mount's polls
    s = fresh_servers(fresh_server.layout, rawlog=True)
    c = imap(s)
    w, v = personal_name(s, "BurstW"), personal_name(s, "BurstV")
    imaputil.create(c, w)
    imaputil.create(c, v)
    u1, u2, u3 = [imaputil.append_uid(c, w, _msg("w%d" % i))
                  for i in range(3)]
    src = tempfile.mkdtemp(prefix="imapfs-src-")
    new = _msg("new")
    with open(os.path.join(src, "new.eml"), "wb") as f:
        f.write(new)
    m = mount(s, opts=["poll=1"])
    wd = os.path.join(m.path, personal_rel(s, "BurstW"))
    vd = os.path.join(m.path, personal_rel(s, "BurstV"))
    r = subprocess.run(["cp", os.path.join(src, "new.eml"), wd + "/"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    os.unlink(os.path.join(wd, "%d.eml" % u1))
    os.rename(os.path.join(wd, "%d.eml" % u2), os.path.join(vd, "x.eml"))
    os.mkdir(os.path.join(wd, "Sub"))
    os.setxattr(os.path.join(wd, "%d.eml" % u3), "user.imap.flags",
                b"\\Flagged $Burst")
    before = None
    for when in ("right away", "after re-sync"):
        if before is not None:
            # two polls since the first check: the second LIST comes after
            # all the first poll did (one poll period late at worst, a
            # second period, plus slack)
            assert poll(lambda: transcript.relisted(s, before, 2), 3 + 8)[0], \
                "no two polls within 11 s\n" + m.log()
        for box, kids in (("BurstW", ["Sub"]), ("BurstV", [])):
            got, want = _expect(c, m, s, box, kids)
            assert got == want, "%s: %s lists %r, server %r" % (
                when, box, got, want)
        flags = set(os.getxattr(os.path.join(wd, "%d.eml" % u3),
                                "user.imap.flags").decode().split())
        assert flags == imaputil.flags_of(c, w, u3) == {"\\Flagged",
                                                        "$Burst"}, when
        assert len(imaputil.uids(c, w)) == 2      # u3 + the new one
        assert len(imaputil.uids(c, v)) == 1
        before = transcript.commands(s)

"""ACL rights (RFC 4314) on a server with the ACL capability.

imapfs reads MYRIGHTS when it lists a mailbox. Without the insert right
('i') and the create rights ('k'/'c') the directory is mode 0500, and
creating a message there fails with EACCES (nothing is APPENDed); without
't' (delete messages) or 'e' (expunge), rm fails with EACCES and the
message stays. A mailbox with full rights is 0700.

The "slash" Dovecot has the acl/imap_acl plugins (acl = vfile) and a
shared namespace shared/<owner>/: here bob owns mailboxes and grants alice
chosen rights with SETACL; imapfs mounts as alice. Every outcome is
checked with imaplib (as bob, the owner, and as alice).
"""

import errno
import os
import stat
import subprocess
import tempfile

import pytest

import corpus
import dovecot
import imaputil
from imaputil import check, quote


@pytest.fixture(scope="module")
def acl_server(fresh_servers):
    return fresh_servers("slash")


_msg = corpus.tagged("acl test", "acl", ["acl body"])


def _shared_box(s, imap, box, rights, messages=1):
    """As bob: create BOX with MESSAGES messages and grant alice RIGHTS.
    -> (bob's client, {uid: body}, rel path of it in alice's mount)."""
    b = imap(s, s.user2, s.password2)
    imaputil.create(b, box)
    bodies = {}
    for i in range(messages):
        data = _msg("%s-%d" % (box, i))
        bodies[imaputil.append_uid(b, box, data)] = data
    check(b._simple_command("SETACL", quote(box), s.user, rights), "SETACL")
    return b, bodies, "shared/%s/%s" % (s.user2, box)


def _myrights(c, name):
    typ, dat = c._simple_command("MYRIGHTS", quote(name))
    check((typ, dat), "MYRIGHTS")
    typ, dat = c._untagged_response(typ, dat, "MYRIGHTS")
    rights = imaputil.parse(dat[0])[1]
    return rights.decode() if isinstance(rights, bytes) else str(rights)


def _mode_after_listing(d):
    """List D (imapfs reads MYRIGHTS then), then its permission bits."""
    os.listdir(d)
    return stat.S_IMODE(os.stat(d).st_mode)


def _cp(d, data, name="new.eml"):
    sd = tempfile.mkdtemp(prefix="imapfs-src-")
    p = os.path.join(sd, name)
    with open(p, "wb") as f:
        f.write(data)
    return subprocess.run(["cp", p, d + "/"], capture_output=True,
                          timeout=120)


def _create_errno(path, data):
    """open(O_CREAT)+write+close in the mount -> errno of the failure, or
    None if it all succeeded."""
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as e:
        return e.errno
    return None


# ------------------------------------------------------------- read-only


@pytest.mark.parametrize("rights", ["lr", "lrs", "lrwstek"])
def test_no_insert_right_refuses_new_message(acl_server, mount, imap,
                                             rights):
    """Without 'i', creating a message fails with EACCES and nothing is
    appended; the directory is 0500 when 'k'/'c' are missing too."""
    s = acl_server
    box = "NoInsert-" + rights
    b, bodies, rel = _shared_box(s, imap, box, rights)
    a = imap(s)
    shared = "shared/%s/%s" % (s.user2, box)
    assert "i" not in _myrights(a, shared)
    m = mount(s)
    d = os.path.join(m.path, rel)
    assert sorted(os.listdir(d)) == sorted("%d.eml" % u for u in bodies)
    mode = _mode_after_listing(d)
    if "k" not in rights:
        assert mode == 0o500, "%s (MYRIGHTS %s) has mode %o, expected " \
            "0500" % (rel, rights, mode)
    data = _msg("refused-" + rights)
    err = _create_errno(os.path.join(d, "refused.eml"), data)
    r = _cp(d, data, "copied.eml")
    # the server, as the owner: nothing new
    assert imaputil.bodies(b, box) == bodies, "a message was APPENDed to " \
        "%s although alice lacks the insert right" % box
    assert err == errno.EACCES, "creating a message in %s (rights %s): " \
        "%s, expected EACCES" % (rel, rights,
                                 errno.errorcode.get(err, err))
    assert r.returncode != 0, "cp into %s succeeded" % rel
    assert b"Permission denied" in r.stderr, r.stderr
    names = sorted(os.listdir(d))
    assert names == sorted("%d.eml" % u for u in bodies), names


@pytest.mark.parametrize("rights", ["lr", "lrwsi", "lrwsit", "lrwsie"])
def test_rm_without_delete_and_expunge_rights(acl_server, mount, imap,
                                              rights):
    """rm needs both 't' and 'e': without either it fails with EACCES and
    the message stays (flags untouched)."""
    s = acl_server
    box = "NoDelete-" + rights
    b, bodies, rel = _shared_box(s, imap, box, rights, messages=2)
    u1, u2 = sorted(bodies)
    m = mount(s)
    d = os.path.join(m.path, rel)
    assert sorted(os.listdir(d)) == ["%d.eml" % u1, "%d.eml" % u2]
    with pytest.raises(OSError) as ei:
        os.unlink(os.path.join(d, "%d.eml" % u1))
    assert imaputil.bodies(b, box) == bodies, "rm in %s (rights %s) " \
        "removed a message" % (rel, rights)
    assert imaputil.flags_of(b, box, u1) == set(), \
        "rm left flags %r on the message" % imaputil.flags_of(b, box, u1)
    assert ei.value.errno == errno.EACCES, "rm failed with %s, expected " \
        "EACCES" % errno.errorcode.get(ei.value.errno, ei.value.errno)
    assert "%d.eml" % u1 in os.listdir(d)
    with open(os.path.join(d, "%d.eml" % u1), "rb") as f:
        assert f.read() == bodies[u1]


# ------------------------------------------------------------- writable


def test_insert_right_allows_new_message(acl_server, mount, imap):
    """'i' without 't'/'e': creating works (0700), the message arrives."""
    s = acl_server
    box = "InsertOnly"
    b, bodies, rel = _shared_box(s, imap, box, "lrwsi", messages=0)
    m = mount(s)
    d = os.path.join(m.path, rel)
    assert os.listdir(d) == []
    assert _mode_after_listing(d) == 0o700
    data = _msg("insert-only")
    r = _cp(d, data)
    assert r.returncode == 0, r.stderr
    got = imaputil.bodies(b, box)
    assert list(got.values()) == [data], "%d messages on the server" \
        % len(got)
    assert sorted(os.listdir(d)) == ["%d.eml" % u for u in got]


def test_full_rights_are_writable(acl_server, mount, imap):
    """Full rights: 0700, cp appends, rm expunges that message."""
    s = acl_server
    box = "FullRights"
    b, bodies, rel = _shared_box(s, imap, box, "lrwstipekxa")
    (old,) = bodies
    m = mount(s)
    d = os.path.join(m.path, rel)
    assert os.listdir(d) == ["%d.eml" % old]
    assert _mode_after_listing(d) == 0o700
    data = _msg("full")
    r = _cp(d, data)
    assert r.returncode == 0, r.stderr
    got = imaputil.bodies(b, box)
    new = [u for u in got if u != old]
    assert len(new) == 1 and got[new[0]] == data, got.keys()
    os.unlink(os.path.join(d, "%d.eml" % old))
    assert imaputil.uids(b, box) == new, "rm with full rights did not " \
        "expunge exactly that message"
    assert sorted(os.listdir(d)) == ["%d.eml" % new[0]]


def test_own_mailboxes_are_0700(acl_server, mount, imap):
    s = acl_server
    a = imap(s)
    imaputil.create(a, "Mine")
    assert "i" in _myrights(a, "Mine") and "i" in _myrights(a, "INBOX")
    m = mount(s)
    for rel in ("INBOX", "Mine"):
        assert _mode_after_listing(os.path.join(m.path, rel)) == 0o700, rel


def test_personal_mailbox_with_owner_lr(acl_server, mount, imap):
    """A personal mailbox whose dovecot-acl (vfile, in the maildir folder)
    gives its owner only 'lr': 0500, new messages and rm refused."""
    s = acl_server
    a = imap(s)
    box = "OwnerReadOnly"
    imaputil.create(a, box)
    data0 = _msg("owner-lr")
    u0 = imaputil.append_uid(a, box, data0)
    folder = os.path.join(s.maildir_home(), "Maildir", box)
    assert os.path.isdir(folder), os.listdir(os.path.dirname(folder))
    acl = os.path.join(folder, "dovecot-acl")
    with open(acl, "w") as f:
        f.write("owner lr\n")
    os.chown(acl, dovecot.MAIL_UID, dovecot.MAIL_GID)
    a2 = imap(s)     # a fresh session sees the new ACL file
    assert _myrights(a2, box) == "lr", _myrights(a2, box)
    m = mount(s)
    d = os.path.join(m.path, box)
    assert os.listdir(d) == ["%d.eml" % u0]
    assert _mode_after_listing(d) == 0o500
    err = _create_errno(os.path.join(d, "x.eml"), _msg("owner-lr-new"))
    with pytest.raises(OSError) as ei:
        os.unlink(os.path.join(d, "%d.eml" % u0))
    assert imaputil.bodies(a2, box) == {u0: data0}
    assert err == errno.EACCES, errno.errorcode.get(err, err)
    assert ei.value.errno == errno.EACCES, ei.value

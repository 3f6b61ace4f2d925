"""Mailbox directories expose STATUS and LIST attributes as xattrs; message
xattrs other than flags are read-only; getfattr -d shows them all."""

import errno
import os
import subprocess

import pytest

import imaputil

DIR_STATUS = {"user.imap.messages": "MESSAGES", "user.imap.unseen": "UNSEEN",
              "user.imap.uidnext": "UIDNEXT",
              "user.imap.uidvalidity": "UIDVALIDITY"}
DIR_ATTRS = sorted(list(DIR_STATUS) + ["user.imap.attributes"])
FILE_ATTRS = ["user.imap.flags", "user.imap.internaldate",
              "user.imap.modseq", "user.imap.uid"]


def _x(path, name):
    return os.getxattr(path, name).decode("utf-8")


def test_status_xattrs(server, mnt, imap):
    c = imap(server)
    problems = []
    for rel, info in sorted(imaputil.expected_tree(c).items()):
        if not info["selectable"]:
            continue
        p = os.path.join(mnt.path, rel)
        st = imaputil.status(c, info["name"])
        for xa, item in DIR_STATUS.items():
            try:
                v = _x(p, xa)
            except OSError as e:
                problems.append("%s: %s: %s" % (rel, xa, e))
                continue
            if v.strip() != str(st[item]):
                problems.append("%s: %s = %r, STATUS %s = %d"
                                % (rel, xa, v, item, st[item]))
    assert not problems, "\n".join(problems)


def test_list_attributes(server, mnt, imap):
    c = imap(server)
    problems = []
    for rel, info in sorted(imaputil.expected_tree(c).items()):
        if info["name"] is None:
            continue  # a parent the server did not list
        p = os.path.join(mnt.path, rel)
        try:
            got = _x(p, "user.imap.attributes").split()
        except OSError as e:
            problems.append("%s: %s" % (rel, e))
            continue
        if {a.lower() for a in got} != {a.lower() for a in info["attrs"]}:
            problems.append("%s: user.imap.attributes %r, LIST %r"
                            % (rel, got, info["attrs"]))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("box,use", [("Sent", "\\Sent"),
                                     ("Trash", "\\Trash"),
                                     ("Archive", "\\Archive")])
def test_special_use(server, mnt, imap, box, use):
    c = imap(server)
    name = (server.personal_prefix + box).encode()
    assert use in imaputil.list_special_use(c).get(name, []), \
        "Dovecot config: %s should be %s" % (name, use)
    rel = ("" if server.layout == "slash" else "INBOX/") + box
    attrs = _x(os.path.join(mnt.path, rel), "user.imap.attributes").split()
    assert use.lower() in [a.lower() for a in attrs], attrs


def _getfattr_names(path):
    r = subprocess.run(["getfattr", "-d", "--absolute-names", path],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    names = set()
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        if "=" in line and not line.startswith("#"):
            names.add(line.split("=", 1)[0])
    return names


def test_getfattr_lists_all(server, mnt):
    d = os.path.join(mnt.path, "INBOX")
    names = _getfattr_names(d)
    assert set(DIR_ATTRS) <= names, names
    assert set(DIR_ATTRS) <= set(os.listxattr(d))
    f = os.path.join(d, "1.eml")
    names = _getfattr_names(f)
    assert set(FILE_ATTRS) <= names, names
    assert set(FILE_ATTRS) <= set(os.listxattr(f))


@pytest.mark.parametrize("attr", [a for a in DIR_ATTRS
                                  if a != "user.imap.subscribed"])
def test_dir_xattrs_server_state(server, mnt, attr):
    """What the server holds: a write (a restore with rsync -X or cp -a)
    is accepted and changes nothing."""
    d = os.path.join(mnt.path, "INBOX")
    before = _x(d, attr)
    r = subprocess.run(["setfattr", "-n", attr, "-v", "42", d],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, "setfattr %s: %r" % (attr, r.stderr)
    os.removexattr(d, attr)
    assert _x(d, attr) == before


@pytest.mark.parametrize("attr", ["user.imap.uid", "user.imap.internaldate",
                                  "user.imap.modseq"])
def test_file_xattrs_server_state(server, mnt, attr):
    f = os.path.join(mnt.path, "INBOX", "1.eml")
    before = _x(f, attr)
    os.setxattr(f, attr, b"42")
    os.removexattr(f, attr)
    assert _x(f, attr) == before


def test_file_flags_not_removable(server, mnt):
    """Removing user.imap.flags is not "clear the flags" (write "" for
    that): rsync -X from a backup without attributes must not wipe them."""
    f = os.path.join(mnt.path, "INBOX", "1.eml")
    before = _x(f, "user.imap.flags")
    with pytest.raises(OSError) as ei:
        os.removexattr(f, "user.imap.flags")
    assert ei.value.errno == errno.EPERM, ei.value
    assert _x(f, "user.imap.flags") == before


def test_unknown_xattr(server, mnt):
    f = os.path.join(mnt.path, "INBOX", "1.eml")
    with pytest.raises(OSError) as ei:
        os.getxattr(f, "user.imap.nonexistent")
    assert ei.value.errno in (errno.ENODATA, errno.EOPNOTSUPP)


def test_other_namespaces_are_not_supported(mnt):
    """security.* and system.* do not exist here: ENOTSUP (not ENODATA),
    so that ls -l stops asking for SELinux labels and ACLs per file."""
    inbox = os.path.join(mnt.path, "INBOX")
    msg = os.path.join(inbox, sorted(os.listdir(inbox))[0])
    for path in (inbox, msg):
        for name in ("security.selinux", "system.posix_acl_access", "trusted.x"):
            try:
                os.getxattr(path, name)
            except OSError as e:
                assert e.errno == errno.ENOTSUP, (path, name, e)
            else:
                raise AssertionError("%s has %s" % (path, name))

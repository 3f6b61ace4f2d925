"""An account with very many mailboxes (issue 10, item 8): the tree, the
LSUB merge and the watcher's LIST comparison must not be quadratic.

A scripted server (fakeserver.py: Dovecot takes minutes to create this
many) lists MANY mailboxes: most at the root, the rest in groups of 100.
Before the tree was indexed, mounting 40,000 took 20 s and 80,000 took
100 s, so the bounds here (a mount within MOUNT_BOUND seconds) catch the
quadratic code while leaving a slow, shared machine a wide margin: the
mount takes a few seconds now. They are upper bounds only; bench/
manymbox.py has the figures.
"""

import errno
import os
import random
import re
import time

import pytest

from fakeserver import FakeServer, Message
from liveutil import wait_for
from mountutil import local_url

MANY = 60000            # mailboxes, INBOX included
GROUPS = 100            # parents of 100 mailboxes each
MOUNT_BOUND = 30        # seconds; about 60 s before the fix, 1-3 s after
LOCK_BOUND_MS = 1000    # the watcher's longest tree-lock hold: ms after the fix

BODY = b"From: a@b.example\r\nSubject: hi\r\n\r\nhello\r\n"


def _mailboxes(unsubscribed_every=0):
    """-> (fakeserver mailboxes, flat names, {group: [children]}).
    With UNSUBSCRIBED_EVERY, every so many flat mailboxes are left out
    of LSUB."""
    mbs = {b"INBOX": {"attrs": ["\\HasNoChildren"],
                      "messages": [Message(1, BODY), Message(2, BODY)]}}
    flat, groups = [], {}
    nflat = MANY - 1 - GROUPS * 100 - GROUPS
    for i in range(nflat):
        name = "box%06d" % i
        flat.append(name)
        e = {"attrs": ["\\HasNoChildren"], "messages": []}
        if unsubscribed_every and i % unsubscribed_every == 0:
            e["unsubscribed"] = True
        mbs[name.encode()] = e
    for g in range(GROUPS):
        parent = "group%03d" % g
        mbs[parent.encode()] = {"attrs": ["\\HasChildren"], "messages": []}
        groups[parent] = []
        for k in range(100):
            leaf = "sub%06d" % (g * 100 + k)
            groups[parent].append(leaf)
            mbs[("%s/%s" % (parent, leaf)).encode()] = {
                "attrs": ["\\HasNoChildren"], "messages": []}
    assert len(mbs) == MANY
    return mbs, flat, groups


def _server(pki, mbs):
    return FakeServer("imaps", cert=pki.leaf("fake-many"), password="pw",
                      mailboxes=mbs).start()


def _mount(fake, pki, mount, opts):
    m = mount(url=local_url("alice", fake.port),
              cafile=pki.cafile, password="pw", opts=opts, start=False)
    t0 = time.monotonic()
    m.start(timeout=MOUNT_BOUND)
    root = os.listdir(m.path)
    return m, root, time.monotonic() - t0


def _exists(path):
    try:
        os.stat(path)
        return True
    except FileNotFoundError:
        return False


def test_many_mailboxes_mount_lookup_and_watch(pki, mount):
    mbs, flat, groups = _mailboxes()
    fake = _server(pki, mbs)
    try:
        m, root, took = _mount(fake, pki, mount, ["poll=1", "timeout=30"])
        assert took < MOUNT_BOUND, "mount and first listing took %.1fs" % took
        want = set(flat) | set(groups) | {"INBOX"}
        assert len(root) == len(want) and set(root) == want, \
            "root lists %d entries, expected %d" % (len(root), len(want))

        # lookups, at the root and one level down, and of absent names
        rnd = random.Random(8)
        for name in rnd.sample(flat, 300):
            assert os.path.isdir(os.path.join(m.path, name)), name
        for parent in rnd.sample(sorted(groups), 10):
            assert sorted(os.listdir(os.path.join(m.path, parent))) == \
                groups[parent], parent
            leaf = rnd.choice(groups[parent])
            assert os.path.isdir(os.path.join(m.path, parent, leaf))
            assert not _exists(os.path.join(m.path, parent, "nosuch"))
        for i in range(50):
            assert not _exists(os.path.join(m.path, "box9%06d" % i))
        assert sorted(os.listdir(os.path.join(m.path, "INBOX"))) == \
            ["1.eml", "2.eml"]

        # another client adds one mailbox and removes another, among them
        gone_flat = flat[12345]
        gone_sub = groups["group042"][7]
        assert os.path.isdir(os.path.join(m.path, gone_flat))
        assert os.path.isdir(os.path.join(m.path, "group042", gone_sub))
        fake.mailboxes[b"zz-added-by-another-client"] = {
            "attrs": ["\\HasNoChildren"], "messages": []}
        fake.mailboxes[b"group042/zz-new-child"] = {
            "attrs": ["\\HasNoChildren"], "messages": []}
        del fake.mailboxes[gone_flat.encode()]
        del fake.mailboxes[("group042/" + gone_sub).encode()]
        wait_for(lambda: "zz-added-by-another-client" in os.listdir(m.path)
                 and not _exists(os.path.join(m.path, gone_flat)), 30,
                 lambda: "the watcher did not show the change\n" + m.log()[-3000:])
        sub = os.listdir(os.path.join(m.path, "group042"))
        wait_for(lambda: "zz-new-child" in os.listdir(
            os.path.join(m.path, "group042")) and not _exists(
            os.path.join(m.path, "group042", gone_sub)), 30,
            lambda: "the watcher did not show the change in group042: %r"
            % sorted(sub)[-3:])
        root = os.listdir(m.path)
        assert len(root) == len(want), "%d entries" % len(root)
        assert gone_flat not in root
        with pytest.raises(OSError) as ei:
            os.stat(os.path.join(m.path, gone_flat))
        assert ei.value.errno == errno.ENOENT
        # everything else is still where it was
        for name in rnd.sample(flat, 100):
            if name != gone_flat:
                assert os.path.isdir(os.path.join(m.path, name)), name

        # the comparison ran over the whole list, and never held the tree
        # lock for long (milliseconds; the bound is generous)
        st = os.getxattr(m.path, "user.imapfs.status").decode()
        mm = re.search(r"mailbox list: (\d+) mailboxes in the last LIST, "
                       r"compared in ([\d.]+) ms; the comparison held the "
                       r"tree lock for ([\d.]+) ms at most", st)
        assert mm, st
        assert int(mm.group(1)) == MANY, st
        assert float(mm.group(3)) < LOCK_BOUND_MS, st
        assert m.alive()
    finally:
        fake.stop()


def test_many_mailboxes_subscribed(pki, mount):
    """-o subscribed: LSUB (all but every third flat mailbox) is merged
    into the tree of MANY mailboxes at mount."""
    mbs, flat, groups = _mailboxes(unsubscribed_every=3)
    fake = _server(pki, mbs)
    try:
        m, root, took = _mount(fake, pki, mount,
                               ["subscribed", "poll=0", "timeout=30"])
        assert took < MOUNT_BOUND, "mount and first listing took %.1fs" % took
        want = {n for i, n in enumerate(flat) if i % 3} | set(groups) | \
            {"INBOX"}
        assert set(root) == want, "%d entries, expected %d" % (
            len(root), len(want))
        assert not _exists(os.path.join(m.path, flat[0]))
        assert os.path.isdir(os.path.join(m.path, flat[1]))
        assert sorted(os.listdir(os.path.join(m.path, "group007"))) == \
            groups["group007"]
    finally:
        fake.stop()

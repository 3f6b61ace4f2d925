"""-o watch=MAILBOX[,...]: IDLE on mailboxes other than INBOX (src/vfs_watch.c).

With polling off (-o poll=0) nothing but IDLE can tell the mount about a
change, so a change by another client in a watched mailbox that shows up
within seconds proves the watch is there; the same change in a mailbox
that is not watched must not show up (no poller runs).
"""

import os
import time

import imaputil
from liveutil import IDLE_BOUND, new_mailbox, msg, wait_for


def test_watch_other_mailbox(fresh_server, imap, mount):
    c = imap(fresh_server)
    name, rel, (u1,) = new_mailbox(fresh_server, imap, "Watched", [msg("w one")])
    oname, orel, (o1,) = new_mailbox(fresh_server, imap, "Unwatched", [msg("u one")])
    m = mount(fresh_server, opts=["poll=0", "timeout=10", "watch=%s" % rel])
    d, od = os.path.join(m.path, rel), os.path.join(m.path, orel)
    assert os.listdir(d) == ["%d.eml" % u1]
    assert os.listdir(od) == ["%d.eml" % o1]

    u2 = imaputil.append_uid(c, name, msg("w two", ["second"]))
    o2 = imaputil.append_uid(c, oname, msg("u two", ["second"]))
    wait_for(lambda: "%d.eml" % u2 in os.listdir(d), IDLE_BOUND,
             lambda: "append to watched %s not shown: %r\n%s" % (rel, os.listdir(d), m.log()))
    # the unwatched one is neither idled on nor polled (poll=0)
    time.sleep(3)
    assert "%d.eml" % o2 not in os.listdir(od), \
        "unwatched mailbox updated without IDLE or polling: the test proves nothing"


def test_notify_reports_other_mailboxes(fresh_server, imap, mount):
    """Dovecot offers NOTIFY (RFC 5465): with it, a change in a mailbox that
    is neither idled on nor due for polling (poll=3600) still shows within
    seconds."""
    c = imap(fresh_server)
    caps = c.capability()[1][0].split()
    assert b"NOTIFY" in caps, "this Dovecot does not offer NOTIFY: %r" % (caps,)
    oname, orel, (o1,) = new_mailbox(fresh_server, imap, "Notified", [msg("n one")])
    m = mount(fresh_server, opts=["poll=3600", "timeout=10"])
    od = os.path.join(m.path, orel)
    assert os.listdir(od) == ["%d.eml" % o1]
    # let the watcher finish starting up (it looks at every mailbox once
    # after NOTIFY SET), so that only a notification can report what follows
    time.sleep(3)
    o2 = imaputil.append_uid(c, oname, msg("n two", ["second"]))
    wait_for(lambda: "%d.eml" % o2 in os.listdir(od), IDLE_BOUND,
             lambda: "append to %s not shown via NOTIFY: %r\n%s" % (orel, os.listdir(od), m.log()))

"""-o watch=MAILBOX[,...]: IDLE on mailboxes other than INBOX (src/vfs_watch.c).

With polling off (-o poll=0) nothing but IDLE can tell the mount about a
change, so a change by another client in a watched mailbox that shows up
within seconds proves the watch is there; the same change in a mailbox
that is not watched must not show up (no poller runs).
"""

import os

import imaputil
import transcript
from liveutil import IDLE_BOUND, new_mailbox, msg, wait_for

TIMEOUT = 10    # -o timeout
SLACK = 4       # process start-up, a loaded machine


def _rawlog_server(fresh_server, fresh_servers):
    """FRESH_SERVER's layout, with a rawlog: what the watcher sent."""
    return fresh_servers(fresh_server.layout, rawlog=True)


def test_watch_other_mailbox(fresh_server, fresh_servers, imap, mount):
    s = _rawlog_server(fresh_server, fresh_servers)
    c = imap(s)
    name, rel, (u1,) = new_mailbox(s, imap, "Watched", [msg("w one")])
    oname, orel, (o1,) = new_mailbox(s, imap, "Unwatched", [msg("u one")])
    m = mount(s, opts=["poll=0", "timeout=%d" % TIMEOUT, "watch=%s" % rel])
    d, od = os.path.join(m.path, rel), os.path.join(m.path, orel)
    assert os.listdir(d) == ["%d.eml" % u1]
    assert os.listdir(od) == ["%d.eml" % o1]

    o2 = imaputil.append_uid(c, oname, msg("u two", ["second"]))
    before = transcript.commands(s)
    u2 = imaputil.append_uid(c, name, msg("w two", ["second"]))
    wait_for(lambda: "%d.eml" % u2 in os.listdir(d), IDLE_BOUND,
             lambda: "append to watched %s not shown: %r\n%s" % (rel, os.listdir(d), m.log()))
    # the unwatched one is neither idled on nor polled (poll=0): not even
    # once the watcher has done all the change in the watched one (o2
    # already there) made it do, and has gone back to IDLE (resync, IDLE:
    # under one timeout; with poll=0 nothing else ends an IDLE, so one
    # sent since BEFORE is the one after that news)
    wait_for(lambda: transcript.sent(s, before, b"IDLE"),
             TIMEOUT + SLACK,
             lambda: "the watcher did not IDLE again\n" + m.log())
    assert "%d.eml" % o2 not in os.listdir(od), \
        "unwatched mailbox updated without IDLE or polling: the test proves nothing"


def test_notify_reports_other_mailboxes(fresh_server, fresh_servers, imap,
                                        mount):
    """Dovecot offers NOTIFY (RFC 5465): with it, a change in a mailbox that
    is neither idled on nor due for polling (poll=3600) still shows within
    seconds."""
    s = _rawlog_server(fresh_server, fresh_servers)
    c = imap(s)
    caps = c.capability()[1][0].split()
    assert b"NOTIFY" in caps, "this Dovecot does not offer NOTIFY: %r" % (caps,)
    oname, orel, (o1,) = new_mailbox(s, imap, "Notified", [msg("n one")])
    m = mount(s, opts=["poll=3600", "timeout=%d" % TIMEOUT])
    od = os.path.join(m.path, orel)
    assert os.listdir(od) == ["%d.eml" % o1]
    # let the watcher finish starting up (it looks at every mailbox once
    # after NOTIFY SET, then IDLEs), so that only a notification can
    # report what follows: connect, the look, SELECT, each within the
    # timeout
    wait_for(lambda: transcript.sent(s, {}, b"NOTIFY", b"IDLE"),
             3 * TIMEOUT + SLACK,
             lambda: "the watcher did not start\n" + m.log())
    o2 = imaputil.append_uid(c, oname, msg("n two", ["second"]))
    wait_for(lambda: "%d.eml" % o2 in os.listdir(od), IDLE_BOUND,
             lambda: "append to %s not shown via NOTIFY: %r\n%s" % (orel, os.listdir(od), m.log()))

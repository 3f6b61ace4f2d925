"""What the tests of changes made by another client share (test_live.py,
test_watch.py, test_watch_nocondstore.py, test_watch_own.py,
test_dir_mtime.py, test_tree_many.py, test_deadline.py): the bounds within which the mount
must show a change, the mount options they assume, fresh mailboxes and
messages, and wait_for, which polls a change up to its bound and fails
the test after it.

  INBOX (watched by IDLE)          within IDLE_BOUND seconds
  other loaded mailboxes, LIST     within POLL_BOUND seconds (-o poll=POLL)
"""

import os

import pytest

import corpus
import imaputil
from imaputil import personal_name, personal_rel
from waitutil import poll

POLL = 2
IDLE_BOUND = 5 + 6                 # "within ~5 s" + slack
POLL_BOUND = 2 * POLL + 8          # one poll period late at worst + slack
OPTS = ["poll=%d" % POLL, "timeout=10"]

_seq = [0]


def uniq(tag):
    """TAG made unique in this process (and, mostly, across processes)."""
    _seq[0] += 1
    return "%s%d%d" % (tag, os.getpid() % 1000, _seq[0])


def msg(subject, lines=("hello",), **kw):
    return corpus.msg_plain(subject, list(lines), **kw)


def wait_for(pred, bound, what):
    """Poll PRED (a function returning a true value when done) for up to
    BOUND seconds; fail with WHAT (a string or a function giving one).
    An OSError from PRED counts as not done yet."""
    last, err = poll(pred, bound, interval=0.2, ignore=(OSError,))
    if not last:
        text = what() if callable(what) else what
        pytest.fail("%s (not within %ss; last error %r)" % (text, bound, err))
    return last


def new_mailbox(server, imap, tag, bodies=()):
    """Create a fresh personal mailbox holding BODIES -> (name, rel, uids)."""
    c = imap(server)
    leaf = uniq(tag)
    name = personal_name(server, leaf)
    imaputil.create(c, name)
    uids = [imaputil.append_uid(c, name, b) for b in bodies]
    return name, personal_rel(server, leaf), uids

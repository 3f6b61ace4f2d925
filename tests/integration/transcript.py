"""What imapfs sent to a Dovecot started with rawlog=True, for tests that
count commands (test_recipes.py, test_shell_tools.py).

The tests' own imaplib sessions say ID ("name" "imapfs-write-tests")
first (connect() here), and every session holding that mark is left out,
so what remains is the mount's traffic.

Dovecot writes its rawlog when it gets round to it, so a reader waits for
the transcript to stop changing (settled()) rather than sleeping a fixed
time; a snapshot (mark()) lets a test look at just what one action sent.
"""

import imaplib
import re
import time

import imaputil

MARK = b"imapfs-write-tests"
LINE = re.compile(rb"^\d+\.\d+ (\S+) (.*)$")
TIMED = re.compile(rb"^(\d+\.\d+) (\S+) (.*)$")


def connect(s):
    """An imaplib session to S that the transcript leaves out."""
    imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))
    c = imaputil.connect(s)
    imaputil.check(c._simple_command("ID", '("name" "%s")' % MARK.decode()),
                   "ID")
    return c


def _sessions(s):
    """-> dict session file -> list of (time, command), tag stripped."""
    out = {}
    for name, data in s.imap_sessions():
        if MARK in data:
            continue
        out[name] = [(float(m.group(1)), m.group(3)) for m in
                     map(TIMED.match, data.split(b"\r\n")) if m]
    return out


def settled(s, quiet=0.5, bound=8.0):
    """The transcript once it has not changed for QUIET seconds (at most
    BOUND seconds of waiting): dict session -> commands."""
    deadline = time.monotonic() + bound
    last = _sessions(s)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = _sessions(s)
        if now == last:
            break
        last = now
    return last


def mark(s):
    """A snapshot to pass to since()."""
    return {k: len(v) for k, v in settled(s).items()}


def since(s, snap=None):
    """Commands the mount sent after SNAP (all of them without one), in
    the order the server got them (rawlog time stamps), once the
    transcript has settled."""
    snap = snap or {}
    out = []
    for name, cmds in settled(s).items():
        out += cmds[snap.get(name, 0):]
    return [c for _, c in sorted(out, key=lambda tc: tc[0])]


def commands(s):
    """The transcript now, without waiting: dict session -> list of
    (time, command). A rawlog_dir .in file is written as Dovecot reads,
    so a command it has answered is there."""
    return _sessions(s)


def relisted(s, before, n=1):
    """One session of the mount has sent LIST or LSUB at least N times
    since BEFORE (a commands() snapshot), each followed by another
    command: one command at a time, so each LIST's answer had been used
    by then. A poll of -o poll= begins with the watcher's LIST."""
    for name, cmds in commands(s).items():
        new = [c.split(b" ", 1)[0].upper()
               for _, c in cmds[len(before.get(name, ())):]]
        got = sum(1 for i, c in enumerate(new)
                  if c in (b"LIST", b"LSUB") and
                  any(x not in (b"LIST", b"LSUB") for x in new[i + 1:]))
        if got >= n:
            return True
    return False


def sent(s, before, *verbs):
    """One session of the mount has sent the commands VERBS (bytes, in
    that order, others between allowed) since BEFORE (a commands()
    snapshot; {} for all along)."""
    for name, cmds in commands(s).items():
        want = [v.upper() for v in verbs]
        for _, c in cmds[len(before.get(name, ())):]:
            if want and c.split(b" ", 1)[0].upper() == want[0]:
                want.pop(0)
        if not want:
            return True
    return False


def find(cmds, pattern):
    r = re.compile(pattern, re.I)
    return [c for c in cmds if r.search(c)]


# The commands that change mail; counted per action.
CHANGING = {
    "APPEND": rb"^APPEND ",
    "MOVE": rb"^UID MOVE ",
    "COPY": rb"^UID COPY ",
    "UID EXPUNGE": rb"^UID EXPUNGE ",
    "EXPUNGE": rb"^EXPUNGE$",
    "CLOSE": rb"^CLOSE$",
}


def counts(cmds):
    """-> dict name -> how many of CHANGING were sent."""
    return {k: len(find(cmds, p)) for k, p in CHANGING.items()}


def assert_never_expunge_all(cmds):
    bad = find(cmds, rb"^(EXPUNGE|CLOSE)$")
    assert not bad, "EXPUNGE/CLOSE sent (removes every \\Deleted message " \
        "of the mailbox): %r" % bad

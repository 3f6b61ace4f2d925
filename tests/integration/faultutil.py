"""Helpers shared by the fault and deadline tests: file operations run in a
child process, so that a hang fails the test instead of hanging it, and
the URL of a mount through a FaultProxy. (The `proxy` fixture is in
conftest.py.)"""

import os
import subprocess
import sys
import time

import pytest

from mountutil import local_url

# open + read a file in a child; prints "OK <len>" then the bytes, or
# "ERR <errno name>"
_READER = r"""
import errno, sys
try:
    with open(sys.argv[1], "rb") as f:
        d = f.read()
    sys.stdout.write("OK %d\n" % len(d))
    sys.stdout.buffer.write(d)
except OSError as e:
    sys.stdout.write("ERR %s\n" % errno.errorcode.get(e.errno, e.errno))
"""


def child_read(path, limit):
    """-> (status line, data, seconds); fails the test if it hangs."""
    t = time.monotonic()
    try:
        r = subprocess.run([sys.executable, "-c", _READER, path],
                           capture_output=True, timeout=limit)
    except subprocess.TimeoutExpired:
        pytest.fail("reading %s hung for more than %ss" % (path, limit))
    el = time.monotonic() - t
    head, _, data = r.stdout.partition(b"\n")
    return head.decode(), data, el


def assert_reads_back(d, uids, bodies, limit, m):
    """Every UID.eml in directory D reads (each within LIMIT s) as BODIES
    (uid -> bytes, as imaplib reads them); M's log goes with a failure."""
    for u in uids:
        status, data, _ = child_read(os.path.join(d, "%d.eml" % u), limit)
        assert status == "OK %d" % len(bodies[u]), (status, m.log())
        assert data == bodies[u]


def child_ls(path, limit):
    """-> (exit code, sorted names, seconds) of `ls -1 PATH`; fails the
    test if it hangs."""
    t = time.monotonic()
    try:
        r = subprocess.run(["ls", "-1", path], capture_output=True,
                           timeout=limit)
    except subprocess.TimeoutExpired:
        pytest.fail("ls %s hung for more than %ss" % (path, limit))
    return r.returncode, sorted(r.stdout.decode().split()), \
        time.monotonic() - t


def proxy_url(server, p):
    """The imaps URL of SERVER's account through proxy P."""
    return local_url(server.user, p.port)

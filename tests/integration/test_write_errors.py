"""Write errors become a clear errno with nothing half done: a full quota
is EDQUOT at close and no message appears on the server."""

import errno
import os
import subprocess
import tempfile
import time

import pytest

import corpus
import imaputil


@pytest.fixture(scope="module", params=["slash", "dot"])
def quota_server(request, fresh_servers):
    return fresh_servers(request.param, quota="1M")


def _big(tag):
    data = corpus.msg_big("quota %s" % tag, 2 * 1024 * 1024,
                          time.monotonic_ns() % 1000)
    assert len(data) > 1024 * 1024 * 3 // 2
    return data


def _state(c):
    return imaputil.bodies(c, "INBOX")


def test_quota_exceeded_python(quota_server, mount, imap):
    s = quota_server
    c = imap(s)
    before = _state(c)
    m = mount(s)
    inbox = os.path.join(m.path, "INBOX")
    listed_before = sorted(os.listdir(inbox))
    data = _big("py")
    f = open(os.path.join(inbox, "big.eml"), "wb")
    err = None
    try:
        f.write(data)
        f.flush()
    except OSError as e:
        err = e
    try:
        f.close()
    except OSError as e:
        err = err or e
    assert err is not None, "a 2 MB APPEND over a 1 MB quota succeeded"
    assert err.errno == errno.EDQUOT, err
    assert _state(c) == before, "the server got a message despite EDQUOT"
    listed = sorted(n for n in os.listdir(inbox) if n.endswith(".eml"))
    assert listed == sorted(n for n in listed_before if n.endswith(".eml")), \
        "after EDQUOT the mailbox lists %r" % listed


def test_quota_exceeded_cp(quota_server, mount, imap):
    s = quota_server
    c = imap(s)
    before = _state(c)
    d = tempfile.mkdtemp(prefix="imapfs-src-")
    src = os.path.join(d, "big.eml")
    with open(src, "wb") as f:
        f.write(_big("cp"))
    m = mount(s)
    r = subprocess.run(["cp", src, os.path.join(m.path, "INBOX") + "/"],
                       capture_output=True, timeout=120)
    assert r.returncode != 0, "cp over quota exited 0"
    assert _state(c) == before


def test_quota_small_message_fits(quota_server, mount, imap):
    """The same mount appends a small message (so the failures above come
    from the quota)."""
    s = quota_server
    c = imap(s)
    before = _state(c)
    body = corpus.msg_plain("fits", ["small"], msgid="fit-%d"
                            % time.monotonic_ns())
    m = mount(s)
    with open(os.path.join(m.path, "INBOX", "small.eml"), "wb") as f:
        f.write(body)
    after = _state(c)
    new = {u: b for u, b in after.items() if u not in before}
    assert list(new.values()) == [body]

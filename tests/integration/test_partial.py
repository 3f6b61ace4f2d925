"""Reads are lazy and partial: `head` of a big message does not download
it. Measured with a counting TCP proxy between imapfs and Dovecot's imaps
port (the certificate has IP:127.0.0.1, so TLS verifies through it)."""

import os
import subprocess
import time

import pytest

import corpus
import imaputil
from mountutil import local_url
from proxy import Proxy

LIMIT = 512 * 1024      # far below the 2 MB (and 20 MB) message
HEAD_LIMIT = 64 * 1024  # `head -c 100`: at most 64 KiB on the wire (TLS and IMAP framing included)


@pytest.fixture
def proxied(slash_server, mount):
    p = Proxy(slash_server.imaps_port).start()
    m = mount(slash_server,
              url=local_url(slash_server.user, p.port))
    yield m, p
    p.stop()


def _big(server, imap, name):
    c = imap(server)
    meta = imaputil.fetch_meta(c, name)
    assert len(meta) == 1
    uid = next(iter(meta))
    return uid, imaputil.fetch_body(c, uid)


def test_head_is_partial(slash_server, proxied, imap):
    m, p = proxied
    uid, body = _big(slash_server, imap, slash_server.corpus.big_mailbox)
    assert len(body) > 1_500_000
    path = os.path.join(m.path, "Big", "%d.eml" % uid)
    os.listdir(os.path.join(m.path, "Big"))       # metadata, not bodies
    assert os.stat(path).st_size == len(body)
    p.settle()
    p.reset()
    r = subprocess.run(["head", "-c", "100", path], capture_output=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == body[:100]
    p.settle()
    down, _ = p.counts()
    print("head -c 100: %d bytes from the server" % down)
    assert down <= HEAD_LIMIT, "head -c 100 of a %d-byte message made the server " \
        "send %d bytes" % (len(body), down)


def test_read_at_offset(slash_server, proxied, imap):
    m, p = proxied
    uid, body = _big(slash_server, imap, slash_server.corpus.big_mailbox)
    path = os.path.join(m.path, "Big", "%d.eml" % uid)
    os.stat(path)
    p.settle()
    p.reset()
    # dd with a block size: blocks 200..201 of 4 KiB
    r = subprocess.run(["dd", "if=" + path, "bs=4096", "skip=200", "count=2",
                        "status=none"], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == body[200 * 4096:202 * 4096]
    # an unaligned read in the middle, and the tail
    with open(path, "rb") as f:
        f.seek(1_000_003)
        assert f.read(777) == body[1_000_003:1_000_003 + 777]
        f.seek(len(body) - 100)
        assert f.read(1000) == body[-100:]
        assert f.read(10) == b""
    p.settle()
    down, _ = p.counts()
    print("three small reads: %d bytes from the server" % down)
    assert down < 3 * LIMIT, "three small reads made the server send %d " \
        "bytes of a %d-byte message" % (down, len(body))


@pytest.mark.timeout_s(600)
def test_head_of_20mb(slash_server, mount, imap):
    """The design's promise: `head` does not download 20 MB. The mailbox
    exists only during this test (created before mounting)."""
    c = imap(slash_server)
    name = "Huge"
    imaputil.check(c.create(imaputil.quote(name)), "CREATE Huge")
    p = Proxy(slash_server.imaps_port).start()
    try:
        imaputil.check(imaputil.append(
            c, name, [], imaputil.internaldate_str(1704103200),
            corpus.msg_big("Huge", corpus.HUGE_SIZE, 2)), "APPEND huge")
        uid, body = _big(slash_server, imap, name)
        m = mount(slash_server, url=local_url(slash_server.user, p.port))
        assert len(body) > 15_000_000
        path = os.path.join(m.path, name, "%d.eml" % uid)
        assert os.stat(path).st_size == len(body)
        p.settle()
        p.reset()
        r = subprocess.run(["head", "-c", "100", path], capture_output=True,
                           timeout=120)
        assert r.stdout == body[:100]
        p.settle()
        down, _ = p.counts()
        print("head -c 100 of 20 MB: %d bytes from the server" % down)
        assert down <= HEAD_LIMIT, "head of 20 MB transferred %d bytes" % down
    finally:
        p.stop()
        c2 = imap(slash_server)
        c2.delete(imaputil.quote(name))

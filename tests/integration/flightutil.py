"""What the one-flight tests share (test_one_flight.py: rm, setfattr,
imapfs flag; test_one_flight_mv_cp.py: mv, cp): a Dovecot logging every
session (rawlog), an imaplib session the transcript leaves out, mounts
through delayproxy.py, and reading what one operation sent.

The fixtures are imported into each test module (pytest finds them
there)."""

import pytest

import transcript
from delayproxy import DelayProxy
from mountutil import local_url

DELAY = 0.02


@pytest.fixture(scope="module")
def s(fresh_servers):
    return fresh_servers("slash", rawlog=True)


@pytest.fixture
def c(s):
    with transcript.connect(s) as c:     # (logs out at the end)
        yield c


@pytest.fixture
def link(s, mount):
    """link(server=S, opts=()) -> (proxy, mount): a mount through a
    DelayProxy (made after the test's folders, which a mount lists when
    it starts)."""
    made = []

    def _link(server=None, opts=()):
        server = server or s
        p = DelayProxy(server.imaps_port, delay=DELAY).start()
        made.append(p)
        return p, mount(server, url=local_url(server.user, p.port), opts=opts)
    yield _link
    for p in made:
        p.stop()


def session_with(s, raw, pattern, more=0):
    """The commands the session sent since RAW (a transcript.mark) in
    which PATTERN matches one, up to and including that one and MORE
    after it: what the operation sent."""
    for name, cmds in transcript.settled(s).items():
        new = [cmd for _, cmd in cmds[raw.get(name, 0):]]
        hits = transcript.find(new, pattern)
        if hits:
            return new[:new.index(hits[0]) + 1 + more]
    raise AssertionError("no session sent %r:\n%r" % (
        pattern, transcript.since(s, raw)))


def steady(p, s):
    assert p.settle(), "the link did not go quiet"
    return transcript.mark(s), p.mark()

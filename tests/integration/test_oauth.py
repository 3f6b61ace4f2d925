"""OAuth2 login: -o auth=xoauth2 and -o auth=oauthbearer against a
scripted server that checks the exact SASL client response, inline
(SASL-IR) when the server offers it and after a "+" when it does not. The
access token comes from password_command, which runs again for every new
connection (tokens expire): a counter file proves it. A rejected token is
one clear line naming the mechanism (exit 3), after the client answered
the server's error challenge as the RFC says; the token never reaches the
protocol trace."""

import base64
import os
import signal
import tempfile

import pytest

from fakeserver import FakeServer
from mountutil import Mount, in_proc_mounts, poll_until, run_imapfs

USER = "me@example.com"


def _token_command(d, prefix="tok"):
    """A password_command printing PREFIX-N, N counting its runs. The
    mount's connections may run it at the same moment (the watcher's and
    the pool's after a cut): the count is read and written under a lock,
    so that every run prints a token of its own."""
    counter = os.path.join(d, "runs")
    script = os.path.join(d, "token.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nexec 9>>%s.lock\nflock 9\n"
                "n=$(( $(cat %s 2>/dev/null || echo 0) + 1 ))\n"
                "echo $n > %s\necho %s-$n\n"
                % (counter, counter, counter, prefix))
    os.chmod(script, 0o755)
    return script, counter


def _runs(counter):
    with open(counter) as f:
        return int(f.read())


def _cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read()


def _token(mech, dec, port):
    """The token in the SASL response DEC, which must be well formed."""
    assert dec is not None and b"auth=Bearer " in dec, dec
    tok = dec.split(b"auth=Bearer ")[1].split(b"\x01")[0].decode()
    assert dec == _expected(mech, tok, port), dec
    return tok


def _expected(mech, token, port):
    if mech == "xoauth2":
        return b"user=" + USER.encode() + b"\x01auth=Bearer " + \
            token.encode() + b"\x01\x01"
    return (b"n,a=" + USER.encode() + b",\x01host=127.0.0.1\x01port=%d"
            b"\x01auth=Bearer " % port + token.encode() + b"\x01\x01")


@pytest.fixture
def oauth_server(pki):
    made = []

    def _make(sasl_ir=True, mechs=("XOAUTH2", "OAUTHBEARER"), tokens=None):
        caps = ["IMAP4rev1", "ID", "ENABLE", "LITERAL+"] + \
            ["AUTH=" + m for m in mechs] + (["SASL-IR"] if sasl_ir else [])
        fs = FakeServer("imaps", cert=pki.leaf("fake-good"), user=USER,
                        password="not-used", caps_tls=caps)
        fs.oauth_tokens = tokens if tokens is not None else \
            ["tok-%d" % i for i in range(1, 100)]
        made.append(fs.start())
        return fs

    yield _make
    for fs in made:
        fs.stop()


def _url(fs):
    return "imaps://%s@127.0.0.1:%d/" % (USER.replace("@", "%40"), fs.port)


@pytest.mark.parametrize("sasl_ir", [True, False], ids=["sasl-ir", "no-ir"])
@pytest.mark.parametrize("mech", ["xoauth2", "oauthbearer"])
def test_oauth_login_and_reconnect(oauth_server, pki, mount, mech, sasl_ir):
    fs = oauth_server(sasl_ir=sasl_ir)
    d = tempfile.mkdtemp(prefix="imapfs-oauth-")
    cmd, counter = _token_command(d)
    m = mount(url=_url(fs), cafile=pki.cafile, password=None,
              opts=["auth=" + mech, "password_command=" + cmd, "timeout=10",
                    "imap_trace"])
    assert "INBOX" in os.listdir(m.path)
    assert fs.sasl, "no OAuth exchange seen:\n" + fs.transcript()
    got_mech, dec, inline, answer, _ = fs.sasl[0]
    assert got_mech == mech.upper()
    assert dec == _expected(mech, "tok-1", fs.port), dec
    assert inline == sasl_ir, "SASL-IR %s but inline=%s" % (sasl_ir, inline)
    assert answer is None
    assert not fs.saw("LOGIN"), "fell back to LOGIN"

    # tokens expire: every connection that logs in after the cut runs the
    # command again. The watcher's first connection may be anywhere in its
    # login at the cut (before or after running the command): only the
    # connections the server accepted after the cut are judged, by the
    # token each one sent, not by how many runs happened around them.
    before = _runs(counter)
    cut = fs.drop_connections()
    # INBOX was never opened: listing it needs the server, and a listing
    # broken by a lost connection is tried once more on a new one, so
    # this succeeds at once, through a connection opened after the cut
    names = os.listdir(os.path.join(m.path, "INBOX"))
    with open(os.path.join(m.path, "INBOX", sorted(names)[0]), "rb") as f:
        assert f.read().startswith(b"From: ")
    sasl = list(fs.sasl)
    runs = _runs(counter)
    tokens = [_token(mech, dec_i, fs.port) for _, dec_i, _, _, _ in sasl]
    after = [t for t, (_, _, _, _, no) in zip(tokens, sasl) if no > cut]
    assert after, "no connection logged in after the cut:\n" + \
        fs.transcript()
    # fresh: run after the cut, and no token sent twice
    assert all(int(t.split("-")[1]) > before for t in after), \
        "reconnected without a fresh token: %r (%d runs before the cut)" \
        % (after, before)
    assert len(set(tokens)) == len(tokens), \
        "a token was used twice: %r" % tokens
    assert all(int(t.split("-")[1]) <= runs for t in tokens), (tokens, runs)

    # the token never reaches the trace (nor its base64)
    log = m.log()
    assert "C: " in log
    for i in range(1, _runs(counter) + 1):
        tok = "tok-%d" % i
        assert tok not in log
        assert base64.b64encode(_expected(mech, tok, fs.port)).decode() \
            not in log
    assert "<redacted>" in log


def test_oauth_helper_inherits_no_descriptor(oauth_server, pki, mount):
    """The token command runs after the mount too (for every new
    connection), and what it leaves running (an agent it started) gets
    none of the daemon's descriptors: libfuse 3.14's auto_unmount socket
    is not close-on-exec, and a process holding it would keep fusermount3
    from seeing the daemon die."""
    fs = oauth_server()
    d = tempfile.mkdtemp(prefix="imapfs-oauth-")
    cmd, counter = _token_command(d)
    agents = os.path.join(d, "agents")
    helper = os.path.join(d, "helper.sh")
    with open(helper, "w") as f:
        f.write("#!/bin/sh\nsleep 600 </dev/null >/dev/null 2>&1 &\n"
                "echo $! >> %s\nexec %s\n" % (agents, cmd))
    os.chmod(helper, 0o755)
    m = mount(url=_url(fs), cafile=pki.cafile, password=None,
              opts=["auth=xoauth2", "password_command=" + helper,
                    "timeout=10", "auto_unmount"])

    def left():
        with open(agents) as f:
            return [int(x) for x in f.read().split()]
    try:
        # a new connection, after the mount: the helper runs again
        fs.drop_connections()
        assert os.listdir(os.path.join(m.path, "INBOX"))
        assert len(left()) >= 2, left()
        for pid in left():
            # what it keeps is known once the shell's child has exec'd
            # sleep (until then it also has the script, close-on-exec)
            assert poll_until(lambda: _cmdline(pid).startswith(b"sleep\0"),
                              10), _cmdline(pid)
            fds = sorted(os.listdir("/proc/%d/fd" % pid), key=int)
            assert fds == ["0", "1", "2"], (pid, [
                (fd, os.readlink("/proc/%d/fd/%s" % (pid, fd)))
                for fd in fds])
    finally:
        m.stop()    # no more runs after this
        for pid in left():
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("mech", ["xoauth2", "oauthbearer"])
def test_oauth_rejected_token(oauth_server, pki, mech):
    fs = oauth_server(tokens=["the-good-one"])
    d = tempfile.mkdtemp(prefix="imapfs-oauth-")
    cmd, counter = _token_command(d, prefix="expired")
    mp = os.path.join(d, "mnt")
    os.mkdir(mp)
    r = run_imapfs(["mount", "-o", "auth=%s,password_command=%s,cafile=%s,"
                    "timeout=10" % (mech, cmd, pki.cafile), _url(fs), mp])
    mounted = in_proc_mounts(mp)
    err = r.stderr.decode()
    assert r.returncode == 3, (r.returncode, err)
    assert not mounted
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("imapfs: "), lines
    assert mech.upper() in lines[0] and "refused" in lines[0], lines
    assert "expired-1" not in err
    # the client answered the error challenge: "" (XOAUTH2), AQ== (RFC 7628)
    assert len(fs.sasl) == 1 and fs.sasl[0][1] == _expected(
        mech, "expired-1", fs.port)
    assert fs.sasl[0][3] == (b"" if mech == "xoauth2" else b"AQ==")


def test_oauth_mechanism_not_offered(oauth_server, pki):
    fs = oauth_server(mechs=("XOAUTH2",))
    d = tempfile.mkdtemp(prefix="imapfs-oauth-")
    cmd, counter = _token_command(d)
    mp = os.path.join(d, "mnt")
    os.mkdir(mp)
    r = run_imapfs(["mount", "-o", "auth=oauthbearer,password_command=%s,"
                    "cafile=%s" % (cmd, pki.cafile), _url(fs), mp])
    assert r.returncode == 3, r.stderr
    assert not in_proc_mounts(mp)
    assert b"AUTH=OAUTHBEARER" in r.stderr
    assert not fs.saw("AUTHENTICATE", "LOGIN")
    assert not os.path.exists(counter), "token fetched for nothing"


def test_oauth_needs_a_token_source(imapfs_bin):
    d = tempfile.mkdtemp(prefix="imapfs-oauth-")
    mp = os.path.join(d, "mnt")
    os.mkdir(mp)
    r = run_imapfs(["mount", "-o", "auth=xoauth2",
                    "imaps://u@127.0.0.1:1/", mp])
    assert r.returncode == 1, r.stderr
    assert b"password_command" in r.stderr

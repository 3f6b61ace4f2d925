"""TLS is verified and STARTTLS is required: against hostile fake servers
the mount fails (non-zero exit, nothing mounted) and no credentials are
ever sent. Positive controls on the same fake server prove it can observe a
LOGIN when the client does send one."""

import os
import tempfile

import pytest

import mountutil
from fakeserver import FakeServer
from mountutil import in_proc_mounts, local_url, run_imapfs

PASSWORD = "fake-secret"
SECRET_CMDS = ("LOGIN", "AUTHENTICATE")
# after a refusal the client must not go on using the session either
SESSION_CMDS = ("LOGIN", "AUTHENTICATE", "LIST", "LSUB", "NAMESPACE",
                "SELECT", "EXAMINE", "STATUS", "FETCH", "UID FETCH")


def _attempt(url, cafile, opts=(), timeout=60):
    d = tempfile.mkdtemp(prefix="imapfs-tls-")
    mp = os.path.join(d, "mnt")
    os.mkdir(mp)
    pw = mountutil.write_password_file(d, PASSWORD)
    o = ["password_file=" + pw, "timeout=10"] + list(opts)
    if cafile:
        o.append("cafile=" + cafile)
    r = run_imapfs(["mount", "-o", ",".join(o), url, mp], timeout=timeout)
    mounted = in_proc_mounts(mp)
    if mountutil.is_mounted(mp):
        mountutil.unmount(mp)
    return r, mounted


def _assert_refused(fs, r, mounted, exit_code=None):
    info = "exit %d, stderr %r\nfake server saw:\n%s" % (
        r.returncode, r.stderr.decode("utf-8", "replace"), fs.transcript())
    assert fs._conn_no >= 1, "the client never connected (vacuous): " + info
    assert r.returncode != 0, "mount succeeded: " + info
    if exit_code is not None:
        assert r.returncode == exit_code, info
    assert not mounted, info
    assert not fs.saw(*SECRET_CMDS), "credentials were sent: " + info
    lines = [ln for ln in r.stderr.decode("utf-8", "replace").splitlines()
             if ln.strip()]
    # the contract: an error is one line on stderr starting "imapfs: "
    assert len(lines) == 1 and lines[0].startswith("imapfs: "), \
        "expected one 'imapfs: ' line on stderr: " + info


@pytest.fixture
def fake(pki):
    made = []

    def _make(mode, cert=None, **kw):
        fs = FakeServer(mode, cert=cert or pki.leaf("fake-good"),
                        password=PASSWORD, **kw).start()
        made.append(fs)
        return fs

    yield _make
    for fs in made:
        fs.stop()


def test_a_wrong_host_name(fake, pki, imapfs_bin):
    cert = pki.leaf("otherhost", sans=["DNS:other.example", "IP:10.9.8.7"])
    fs = fake("imaps", cert=cert)
    r, mounted = _attempt(local_url("alice", fs.port),
                          pki.cafile)
    _assert_refused(fs, r, mounted, exit_code=2)


def test_a_wrong_host_name_localhost(fake, pki, imapfs_bin):
    cert = pki.leaf("otherhost2", sans=["DNS:other.example"])
    fs = fake("imaps", cert=cert)
    r, mounted = _attempt("imaps://alice@localhost:%d/" % fs.port,
                          pki.cafile)
    _assert_refused(fs, r, mounted, exit_code=2)


def test_b_untrusted_self_signed(fake, pki, imapfs_bin):
    fs = fake("imaps", cert=pki.self_signed("selfsigned"))
    r, mounted = _attempt(local_url("alice", fs.port),
                          pki.cafile)
    _assert_refused(fs, r, mounted, exit_code=2)


def test_b_untrusted_no_cafile(fake, pki, imapfs_bin):
    """Without cafile the system CAs are used: our test CA is not one."""
    fs = fake("imaps")
    r, mounted = _attempt(local_url("alice", fs.port), None)
    _assert_refused(fs, r, mounted, exit_code=2)


def test_c_no_starttls(fake, pki, imapfs_bin):
    fs = fake("starttls", advertise_starttls=False)
    r, mounted = _attempt(local_url("alice", fs.port, scheme="imap"),
                          pki.cafile)
    _assert_refused(fs, r, mounted)


def test_d_starttls_response_injection(fake, pki, imapfs_bin):
    fs = fake("starttls", starttls_extra=b"* OK [CAPABILITY IMAP4rev1 "
              b"AUTH=PLAIN] injected\r\n")
    r, mounted = _attempt(local_url("alice", fs.port, scheme="imap"),
                          pki.cafile)
    _assert_refused(fs, r, mounted)


def test_e_preauth_greeting(fake, pki, imapfs_bin):
    fs = fake("starttls", preauth=True)
    r, mounted = _attempt(local_url("alice", fs.port, scheme="imap"),
                          pki.cafile)
    _assert_refused(fs, r, mounted)
    assert not fs.saw(*SESSION_CMDS), fs.transcript()


def test_f_logindisabled_after_tls(fake, pki, imapfs_bin):
    fs = fake("starttls", caps_tls=["IMAP4rev1", "LOGINDISABLED"])
    r, mounted = _attempt(local_url("alice", fs.port, scheme="imap"),
                          pki.cafile)
    _assert_refused(fs, r, mounted)
    assert fs.saw("STARTTLS"), "control: TLS was negotiated first\n" + \
        fs.transcript()


def test_plaintext_refused_without_option(fake, pki, imapfs_bin):
    """imap:// to a server without STARTTLS is refused even on loopback
    unless insecure_plaintext is given (the (c) case from another angle:
    a plain server that would accept LOGIN)."""
    fs = fake("plain", caps=["IMAP4rev1", "AUTH=PLAIN"])
    r, mounted = _attempt(local_url("alice", fs.port, scheme="imap"),
                          pki.cafile)
    _assert_refused(fs, r, mounted)


@pytest.mark.parametrize("mode", ["starttls", "imaps"])
def test_positive_control(fake, pki, mount, mode):
    """Same fake server, valid certificate: the client does reach LOGIN
    (so the refusal tests above can see one), and the mount works."""
    fs = fake(mode)
    scheme = "imap" if mode == "starttls" else "imaps"
    m = mount(url="%s://alice@127.0.0.1:%d/" % (scheme, fs.port),
              cafile=pki.cafile, password=PASSWORD, start=False)
    err = None
    try:
        m.start()
    except mountutil.MountError as e:
        err = e
    assert fs.saw(*SECRET_CMDS), "no LOGIN reached the fake server:\n%s\n%s" \
        % (fs.transcript(), err)
    assert err is None, "mount against the fake server failed: %s\n%s" % (
        err, fs.transcript())
    assert os.listdir(m.path) == ["INBOX"]


def test_insecure_plaintext_loopback(fake, pki, mount):
    """insecure_plaintext allows imap:// without TLS to loopback (and the
    fake server sees that LOGIN)."""
    fs = fake("plain", caps=["IMAP4rev1", "AUTH=PLAIN"])
    m = mount(url=local_url("alice", fs.port, scheme="imap"),
              password=PASSWORD, opts=["insecure_plaintext"])
    assert fs.saw(*SECRET_CMDS)
    assert os.listdir(m.path) == ["INBOX"]


def test_starttls_with_dovecot(slash_server, mount):
    """imap:// against the real Dovecot: STARTTLS, then LOGIN, then the
    mount works."""
    m = mount(slash_server, url=slash_server.url("imap"),
              opts=["imap_trace"])
    assert "INBOX" in os.listdir(m.path)
    client = [ln.split("C: ", 1)[1] for ln in m.log().splitlines()
              if "C: " in ln]
    st = [i for i, ln in enumerate(client) if "STARTTLS" in ln.upper()]
    lg = [i for i, ln in enumerate(client)
          if ln.split()[1:2] and ln.split()[1].upper() in SECRET_CMDS]
    assert st and lg and st[0] < lg[0], client[:10]

"""pytest fixtures for the imapfs integration tests.

  servers          session: get(layout) -> a started, populated Dovecot
  server           session, parametrised over "slash" and "dot"
  slash_server     session: the "slash" Dovecot (tests that need only one)
  imapfs_bin       path of the binary; FAILS (not skips) when missing
  mount            factory: mount(server, opts=[...], **Mount kwargs) -> Mount,
                   unmounted after the test
  mnt              a default mount of `server` (parametrised)
  imap             factory: imap(server, user=None, password=None) -> a
                   logged-in imaplib.IMAP4_SSL trusting the test CA
  pki              session: a CA plus leaf certificates (for fake servers)

All temp dirs live under one per-run root that is removed at the end
(IMAPFS_KEEP_TMP=1 keeps it for a post-mortem).

A watchdog aborts every FUSE mount the tests made if a test runs longer than
its limit (default 300 s, @pytest.mark.timeout_s(N) to change), so a hung
daemon fails that test instead of hanging the whole run.
"""

import os
import sys
import tempfile
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import certs  # noqa: E402
import corpus  # noqa: E402
import dovecot  # noqa: E402
import imaputil  # noqa: E402
import mountutil  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402

DEFAULT_TEST_TIMEOUT = 300


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "timeout_s(n): watchdog limit for one test in seconds")


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _failed(request):
    rep = getattr(request.node, "rep_call", None)
    return rep is None or rep.failed


_SESSION_TMP = None


def pytest_sessionstart(session):
    """Every temp dir of the run (mount points, password files, Dovecot
    homes, certificates) goes under one root, removed at the end."""
    global _SESSION_TMP
    _SESSION_TMP = tempfile.mkdtemp(prefix="imapfs-tests-")
    os.chmod(_SESSION_TMP, 0o755)   # Dovecot's mail uid must traverse it
    tempfile.tempdir = _SESSION_TMP


def pytest_sessionfinish(session, exitstatus):
    root = _SESSION_TMP
    if not root:
        return
    tempfile.tempdir = None
    for m in list(mountutil.Mount.all_mounts):
        m.stop()
    inside = [e["mountpoint"] for e in mountutil.mountinfo()
              if e["mountpoint"].startswith(root + "/")]
    for mp in inside:
        mountutil.unmount(mp)
    if any(mountutil.is_mounted(mp) for mp in inside):
        sys.stderr.write("imapfs tests: %s still has mounts, not removed\n"
                         % root)
        return
    if os.environ.get("IMAPFS_KEEP_TMP"):
        sys.stderr.write("imapfs tests: kept %s\n" % root)
        return
    import shutil
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def _watchdog(request):
    marker = request.node.get_closest_marker("timeout_s")
    limit = marker.args[0] if marker else DEFAULT_TEST_TIMEOUT
    fired = []

    def fire():
        fired.append(True)
        sys.stderr.write("\nwatchdog: %s exceeded %ss, aborting its FUSE "
                         "mounts\n" % (request.node.nodeid, limit))
        for m in list(mountutil.Mount.all_mounts):
            m.kill()

    t = threading.Timer(limit, fire)
    t.daemon = True
    t.start()
    yield
    t.cancel()
    if fired:
        pytest.fail("test exceeded its %ss limit (watchdog aborted the "
                    "mount)" % limit, pytrace=False)


@pytest.fixture(scope="session")
def servers():
    if os.geteuid() != 0:
        pytest.fail("the integration tests run as root (they start Dovecot "
                    "and mount FUSE): use  sudo tests/run", pytrace=False)
    reg = {}

    def get(layout):
        if layout not in reg:
            d = dovecot.Dovecot(layout)
            d.start()
            try:
                d.corpus = corpus.populate(d)
            except Exception:
                sys.stderr.write(d.log())
                d.stop()
                raise
            reg[layout] = d
        return reg[layout]

    yield get
    for d in reg.values():
        d.stop()


@pytest.fixture(scope="module")
def fresh_servers(request):
    """module: get(layout, populate=False, **opts) -> a Dovecot of this
    module's own (opts: see dovecot.Dovecot), stopped after the module.
    For tests that change what the server holds."""
    if os.geteuid() != 0:
        pytest.fail("the integration tests run as root", pytrace=False)
    reg = {}

    def get(layout, populate=False, **opts):
        key = (layout, populate, tuple(sorted(opts.items())))
        if key not in reg:
            d = dovecot.Dovecot(layout, **opts)
            d.start()
            reg[key] = d
            if populate:
                try:
                    d.corpus = corpus.populate(d)
                except Exception:
                    sys.stderr.write(d.log())
                    raise
        return reg[key]

    failed_before = request.session.testsfailed
    yield get
    for d in reg.values():
        if request.session.testsfailed > failed_before:
            # a test of this module failed: the server's side of it
            # (disconnects, errors) goes into the output too
            lines = d.log().splitlines()
            sys.stderr.write("---- dovecot %s log, last %d lines ----\n%s\n"
                             % (d.dir, min(len(lines), 60), "\n".join(lines[-60:])))
        d.stop()


@pytest.fixture(scope="module", params=["slash", "dot"])
def fresh_server(request, fresh_servers):
    """module, parametrised over both layouts: an empty Dovecot (INBOX,
    Sent, Trash, Archive) of this module's own."""
    return fresh_servers(request.param)


@pytest.fixture(scope="session", params=["slash", "dot"])
def server(request, servers):
    return servers(request.param)


@pytest.fixture(scope="session")
def slash_server(servers):
    return servers("slash")


@pytest.fixture(scope="session")
def pki():
    d = tempfile.mkdtemp(prefix="imapfs-pki-")
    os.chmod(d, 0o755)
    return certs.Pki(d)


@pytest.fixture(scope="session")
def imapfs_bin():
    p = mountutil.imapfs_bin()
    if not (os.path.isfile(p) and os.access(p, os.X_OK)):
        pytest.fail("imapfs binary not found at %s: build it first "
                    "(meson setup build && ninja -C build; tests/run does "
                    "this) or point IMAPFS_BIN at it" % p, pytrace=False)
    return p


@pytest.fixture
def mount(request, imapfs_bin):
    made = []

    servers = []

    def _mount(server=None, opts=(), url=None, start=True, **kw):
        if server is not None:
            url = url or server.url()
            kw.setdefault("cafile", server.cafile)
            kw.setdefault("password", server.password)
            if hasattr(server, "log") and server not in servers:
                servers.append(server)
        m = mountutil.Mount(url, opts=opts, **kw)
        made.append(m)
        return m.start() if start else m

    yield _mount
    failed = _failed(request)
    for m in made:
        m.stop(cleanup=False)
        if failed:
            log = m.log()
            lines = log.splitlines()
            print("---- imapfs %s (exit %s), last %d log lines of %s ----"
                  % (" ".join(m.argv()), m.returncode,
                     min(len(lines), 150), m.logfile))
            print("\n".join(lines[-150:]))
        m.cleanup()
    # the server's side of a failure (a Dovecot that reset a connection,
    # refused a command it carried out): its log's last lines
    for srv in servers if failed else ():
        try:
            lines = srv.log().splitlines()
        except (OSError, TypeError):
            continue
        print("---- dovecot log, last %d lines of %s ----"
              % (min(len(lines), 60), srv.log_path))
        print("\n".join(lines[-60:]))


@pytest.fixture
def mnt(server, mount):
    return mount(server)


@pytest.fixture
def imap():
    made = []

    def _connect(server, user=None, password=None, port=None):
        c = imaputil.connect(server, user, password, port)
        made.append(c)
        return c

    yield _connect
    for c in made:
        try:
            c.logout()
        except Exception:
            pass


@pytest.fixture
def proxy():
    """proxy(server) -> a FaultProxy in front of SERVER's imaps port,
    stopped after the test (faultproxy.py; URLs: faultutil.proxy_url)."""
    made = []

    def _p(server):
        p = FaultProxy(server.imaps_port).start()
        made.append(p)
        return p
    yield _p
    for p in made:
        p.stop()

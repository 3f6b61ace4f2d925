"""A real, throwaway Dovecot (2.3) for the integration tests.

    d = Dovecot("slash")       # or "dot"
    d.start()                  # returns once both ports answer
    ... d.imaps_port, d.imap_port, d.cafile, d.user, d.password ...
    d.stop()                   # kills it, removes the temp dir

Everything lives in one temp dir: config, base_dir (sockets, pid), state_dir,
log, TLS material, the users' homes and the public namespace. Dovecot runs as
root in the foreground (-F) as our child; nothing touches /etc/dovecot, the
system service, or ports 143/993: listeners are on free high ports bound to
127.0.0.1.

Configurations:

  "slash"  maildir:LAYOUT=fs, separator '/', personal prefix "" (inbox=yes);
           a public namespace "Public/" (type=public, its own maildir);
           a shared namespace "shared/%u/" (type=shared, ACL plugin with a
           shared-mailbox dict) so that NAMESPACE lists other users, and
           USER2 can share a mailbox with USER.
  "dot"    maildir (Maildir++ layout), separator '.', personal prefix
           "INBOX." with inbox=yes, and the listescape plugin so a mailbox
           name may contain '/' (stored as \\2f on disk).

Both: SPECIAL-USE on Sent, Trash, Archive (auto-created); CONDSTORE, QRESYNC,
UIDPLUS, MOVE, NAMESPACE come with Dovecot's default capability list.

Run as a script to keep a Dovecot for a demo (see tests/demo):
    python3 dovecot.py start-demo STATEDIR     (prints JSON state, daemonises)
    python3 dovecot.py stop-demo STATEDIR
"""

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import certs  # noqa: E402

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

# The mail files belong to this uid/gid; no passwd entry is needed for a
# static userdb with numeric ids. It is neither root nor a login user.
MAIL_UID = 60123
MAIL_GID = 60123

USER = "alice"
PASSWORD = "s3cret-Pa55 with spaces"
USER2 = "bob"
PASSWORD2 = "b0b-Password"


def free_port():
    """A currently free TCP port on 127.0.0.1 (never 143/993: the kernel
    hands out ephemeral ports)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _port_answers(port, use_ssl, cafile, timeout=1.0):
    """True if an IMAP greeting arrives on 127.0.0.1:PORT."""
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError:
        return False
    try:
        raw.settimeout(timeout)
        sock = raw
        if use_ssl:
            ctx = ssl.create_default_context(cafile=cafile)
            sock = ctx.wrap_socket(raw, server_hostname="localhost")
        data = sock.recv(200)
        return data.startswith(b"* OK")
    except (OSError, ssl.SSLError):
        return False
    finally:
        raw.close()


class DovecotError(RuntimeError):
    pass


# Dovecot 2.3's built-in post-login CAPABILITY (plugins such as imap_acl
# append their own). drop_caps removes names from it via imap_capability.
DEFAULT_CAPS = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY "
    "THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND "
    "URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED "
    "I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN "
    "CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY "
    "PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE").split()


class Dovecot:
    """Options (all off by default, so the default config is unchanged):

      drop_caps=("UIDPLUS",)   advertise Dovecot's default capabilities
                               minus these (imap_capability); the server
                               still accepts the commands, a client must
                               honour what is advertised
      quota="1M"               quota plugin (Maildir++ backend) with
                               quota_rule = *:storage=QUOTA
      special_use=False        no auto-created Sent/Trash/Archive with
                               SPECIAL-USE
      rawlog=True              log every IMAP session's traffic under
                               DIR/rawlog (see imap_commands())
      max_userip=N             at most N IMAP sessions per user and IP
                               (mail_max_userip_connections; default 200)
      fts=True                 full-text search with the fts_xapian plugin
                               (Debian's dovecot-fts-xapian: no service of
                               its own), indexing each mailbox when a
                               SEARCH needs it (fts_enforced)
    """

    def __init__(self, layout="slash", tmp_parent=None, drop_caps=(),
                 quota=None, special_use=True, rawlog=False, max_userip=200,
                 fts=False):
        if layout not in ("slash", "dot"):
            raise ValueError("layout must be 'slash' or 'dot'")
        self.layout = layout
        self.tmp_parent = tmp_parent
        self.drop_caps = tuple(c.upper() for c in drop_caps)
        self.quota = quota
        self.special_use = special_use
        self.rawlog = rawlog
        self.max_userip = max_userip
        self.fts = fts
        self.dir = None
        self.proc = None
        self.user = USER
        self.password = PASSWORD
        self.user2 = USER2
        self.password2 = PASSWORD2
        self.imap_port = None
        self.imaps_port = None
        self.cafile = None

    # ---- layout facts the tests compare against ----
    @property
    def delimiter(self):
        return "/" if self.layout == "slash" else "."

    @property
    def personal_prefix(self):
        return "" if self.layout == "slash" else "INBOX."

    @property
    def public_prefix(self):
        return "Public/" if self.layout == "slash" else None

    @property
    def shared_prefix(self):
        return "shared/" if self.layout == "slash" else None

    @property
    def log_path(self):
        return os.path.join(self.dir, "dovecot.log")

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return "(no log)"

    def url(self, scheme="imaps", user=None, host="127.0.0.1"):
        port = self.imaps_port if scheme == "imaps" else self.imap_port
        return "%s://%s@%s:%d/" % (scheme, user or self.user, host, port)

    # ---- config ----
    def _config(self):
        d = self.dir
        home = os.path.join(d, "home", "%u")
        if self.layout == "slash":
            mail_location = ("maildir:~/Maildir:LAYOUT=fs:"
                             "INBOX=~/Maildir/INBOX")
            namespaces = """
namespace inbox {
  type = private
  separator = /
  prefix =
  inbox = yes
  list = yes
  subscriptions = yes
%(mailboxes)s
}
namespace public {
  type = public
  separator = /
  prefix = Public/
  location = maildir:%(dir)s/public:LAYOUT=fs:INDEX=~/public-index
  list = yes
  subscriptions = no
}
namespace shared {
  type = shared
  separator = /
  prefix = shared/%%%%u/
  location = maildir:%%%%h/Maildir:LAYOUT=fs:INBOX=%%%%h/Maildir/INBOX:INDEXPVT=~/shared-index/%%%%u
  list = children
  subscriptions = no
}
"""
            plugins = "acl"
            imap_plugins = "imap_acl"
            plugin = """
plugin {
  acl = vfile
  acl_shared_dict = file:%(dir)s/dict/shared-mailboxes.db
}
"""
        else:
            mail_location = "maildir:~/Maildir"
            namespaces = """
namespace inbox {
  type = private
  separator = .
  prefix = INBOX.
  inbox = yes
  list = yes
  subscriptions = yes
%(mailboxes)s
}
"""
            plugins = "listescape"
            imap_plugins = ""
            plugin = """
plugin {
  listescape_char = "\\\\"
}
"""
        # Mailbox names here are relative to the namespace prefix.
        mailboxes = "\n".join(
            '  mailbox "%s" {\n    auto = create\n    special_use = %s\n  }'
            % (name, use)
            for name, use in (("Sent", r"\Sent"), ("Trash", r"\Trash"),
                              ("Archive", r"\Archive")))
        if not self.special_use:
            mailboxes = ""
        extra = ""
        if self.drop_caps:
            extra += "imap_capability = %s\n" % " ".join(
                c for c in DEFAULT_CAPS if c.upper() not in self.drop_caps)
        if self.rawlog:
            extra += "rawlog_dir = %s/rawlog\n" % d
        if self.quota:
            plugins += " quota"
            plugin = plugin.rstrip().rstrip("}") + (
                "  quota = maildir:User quota\n"
                "  quota_rule = *:storage=%s\n}\n" % self.quota)
        if self.fts:
            plugins += " fts fts_xapian"
            plugin = plugin.rstrip().rstrip("}") + (
                "  fts = xapian\n"
                "  fts_xapian = partial=3 full=20\n"
                "  fts_enforced = yes\n"
                "  fts_autoindex = no\n}\n")
        vals = {"dir": d, "mailboxes": mailboxes}
        namespaces = namespaces % vals
        plugin = plugin % vals
        return """# generated by tests/integration/dovecot.py
base_dir = %(dir)s/run
state_dir = %(dir)s/state
log_path = %(dir)s/dovecot.log
info_log_path = %(dir)s/dovecot.log
debug_log_path = %(dir)s/dovecot.log
instance_name = imapfs-test-%(port)d
protocols = imap
listen = 127.0.0.1
shutdown_clients = yes
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 100
last_valid_uid = 0
first_valid_gid = 100
mail_location = %(mail_location)s
# NOTIFY (RFC 5465) reports changes in mailboxes other than the selected
# one only with the mailbox list index (Dovecot 2.4's default)
mailbox_list_index = yes
mail_plugins = $mail_plugins %(plugins)s
%(namespaces)s
ssl = yes
ssl_cert = <%(cert)s
ssl_key = <%(key)s
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_verbose = yes
auth_cache_size = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %(dir)s/passwd
}
userdb {
  driver = static
  args = uid=%(uid)d gid=%(gid)d home=%(home)s allow_all_users=yes
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %(imap_port)d
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %(imaps_port)d
    ssl = yes
  }
}
service imap {
  process_limit = 256
}
protocol imap {
  mail_plugins = $mail_plugins %(imap_plugins)s
  mail_max_userip_connections = %(max_userip)d
}
%(plugin)s
%(extra)s""" % {"extra": extra, "dir": d, "port": self.imaps_port, "mail_location": mail_location,
           "plugins": plugins, "imap_plugins": imap_plugins,
           "namespaces": namespaces, "cert": self.cert, "key": self.key,
           "uid": MAIL_UID, "gid": MAIL_GID, "home": home,
           "imap_port": self.imap_port, "imaps_port": self.imaps_port,
           "plugin": plugin, "max_userip": self.max_userip}

    # ---- lifecycle ----
    def prepare(self):
        """Create the temp dir, certificates, users and config."""
        if os.geteuid() != 0:
            raise DovecotError("the test Dovecot must be started as root "
                               "(run: sudo tests/run)")
        if not os.path.exists(DOVECOT):
            raise DovecotError("dovecot not found: run tests/install-deps")
        self.dir = tempfile.mkdtemp(prefix="imapfs-dovecot-%s-" % self.layout,
                                    dir=self.tmp_parent)
        os.chmod(self.dir, 0o755)
        pki = certs.Pki(os.path.join(self.dir, "pki"))
        os.chmod(os.path.join(self.dir, "pki"), 0o755)
        self.pki = pki
        self.cafile = pki.cafile
        self.cert, self.key = pki.leaf("server")
        self.imap_port = free_port()
        self.imaps_port = free_port()
        while self.imaps_port == self.imap_port:
            self.imaps_port = free_port()
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            f.write("%s:{PLAIN}%s::::::\n" % (self.user, self.password))
            f.write("%s:{PLAIN}%s::::::\n" % (self.user2, self.password2))
        os.chmod(os.path.join(self.dir, "passwd"), 0o644)
        for sub in ("home", "public", "dict", "rawlog", "home/" + self.user,
                    "home/" + self.user2):
            p = os.path.join(self.dir, sub)
            os.makedirs(p, exist_ok=True)
            os.chown(p, MAIL_UID, MAIL_GID)
            os.chmod(p, 0o755)
        if self.layout == "slash":
            # The ACL plugin gives nobody rights in a public namespace unless
            # its root says so ('c' is not a valid right in a vfile: the
            # letters are lrwstipekxa).
            acl = os.path.join(self.dir, "public", "dovecot-acl")
            with open(acl, "w") as f:
                f.write("anyone lrwstipekxa\n")
            os.chown(acl, MAIL_UID, MAIL_GID)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(self._config())

    def start(self, timeout=30, attempts=3):
        """Start in the foreground as our child. Free ports are picked just
        before starting, so another process may grab one first: retry with
        new ports when the log says so."""
        for attempt in range(attempts):
            try:
                return self._start_once(timeout)
            except DovecotError as e:
                if attempt + 1 == attempts or \
                        "Address already in use" not in str(e):
                    raise
                if self.dir:
                    shutil.rmtree(self.dir, ignore_errors=True)
                    self.dir = None

    def _start_once(self, timeout):
        self.prepare()
        return self._run(timeout, "wb")

    def _run(self, timeout, mode):
        # -F: foreground, our child; its own process group so stop() can
        # signal just it.
        self.proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", self.conf],
            stdin=subprocess.DEVNULL,
            stdout=open(os.path.join(self.dir, "stdout.log"), mode),
            stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready(timeout)
        return self

    def start_daemon(self, timeout=30):
        """Start Dovecot detached (it forks itself); for tests/demo."""
        self.prepare()
        # Not capture_output: the daemon keeps the inherited pipe open and
        # run() would wait for its EOF forever. A file does not block.
        out_path = os.path.join(self.dir, "stdout.log")
        with open(out_path, "wb") as out:
            r = subprocess.run([DOVECOT, "-c", self.conf], stdin=subprocess.DEVNULL,
                               stdout=out, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            with open(out_path, errors="replace") as f:
                raise DovecotError("dovecot failed to start: %s\n%s"
                                   % (f.read(), self.log()))
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                break
            if (_port_answers(self.imaps_port, True, self.cafile) and
                    _port_answers(self.imap_port, False, None)):
                return
            time.sleep(0.1)
        out = ""
        try:
            with open(os.path.join(self.dir, "stdout.log"),
                      errors="replace") as f:
                out = f.read()
        except OSError:
            pass
        log = self.log()
        self.stop(keep_dir=True)
        raise DovecotError(
            "Dovecot (%s) did not answer on 127.0.0.1:%s/%s within %ss.\n"
            "--- stdout/stderr ---\n%s\n--- %s ---\n%s\n(config: %s)"
            % (self.layout, self.imap_port, self.imaps_port, timeout, out,
               self.log_path, log, self.conf))

    def master_pid(self):
        try:
            with open(os.path.join(self.dir, "run", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self, keep_dir=False):
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    try:
                        os.killpg(self.proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    self.proc.wait(10)
            self.proc = None
        elif self.dir:
            pid = self.master_pid()
            if pid:
                _kill_and_wait(pid)
        # IMAPFS_KEEP_TMP (see conftest) keeps the server's dir and log too
        if self.dir and not keep_dir and not os.environ.get("IMAPFS_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def pause(self):
        """Stop the server but keep its directory, mail and ports, so that
        resume() starts it again where it was (a server that went away and
        came back: tests of mounting and reading offline)."""
        self.stop(keep_dir=True)

    def resume(self, timeout=30):
        """Start again after pause(), on the same ports with the same mail."""
        return self._run(timeout, "ab")

    # ---- helpers for tests ----
    def imap_sessions(self):
        """With rawlog=True: -> list of (path, bytes) of what each IMAP
        session sent to the server (*.in files), oldest first."""
        d = os.path.join(self.dir, "rawlog")
        out = []
        for n in sorted(os.listdir(d)):
            if n.endswith(".in"):
                with open(os.path.join(d, n), "rb") as f:
                    out.append((n, f.read()))
        return out

    def maildir_home(self, user=None):
        return os.path.join(self.dir, "home", user or self.user)

    def make_mailbox_from_uid(self, name, first_uid):
        """Slash layout: create the personal mailbox NAME ("INBOX" or a
        top-level name) on disk, before any session opened it, so that its
        first APPEND gets FIRST_UID (a dovecot-uidlist saying so). For
        tests where a message's new name must differ from its old one."""
        if self.layout != "slash" or "/" in name:
            raise ValueError("make_mailbox_from_uid: slash layout, "
                             "top-level names only")
        top = os.path.join(self.maildir_home(), "Maildir")
        box = os.path.join(top, name)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(box, sub), exist_ok=True)
        with open(os.path.join(box, "dovecot-uidlist"), "w") as f:
            f.write("3 V%d N%d\n" % (int(time.time()), first_uid))
        for root, dirs, files in os.walk(top):
            for x in [root] + [os.path.join(root, f) for f in files]:
                os.chown(x, MAIL_UID, MAIL_GID)

    def state(self):
        return {"layout": self.layout, "dir": self.dir,
                "pid": self.master_pid(), "imap_port": self.imap_port,
                "imaps_port": self.imaps_port, "cafile": self.cafile,
                "user": self.user, "password": self.password,
                "conf": self.conf}

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _kill_and_wait(pid, timeout=10):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _main(argv):
    """Demo helper: start-demo STATEDIR / stop-demo STATEDIR."""
    if len(argv) != 3 or argv[1] not in ("start-demo", "stop-demo"):
        sys.stderr.write("usage: dovecot.py start-demo|stop-demo STATEDIR\n")
        return 1
    statedir = argv[2]
    statefile = os.path.join(statedir, "dovecot.json")
    if argv[1] == "stop-demo":
        try:
            with open(statefile) as f:
                st = json.load(f)
        except (OSError, ValueError):
            return 0
        pid = st.get("pid")
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                ours = st["conf"].encode() in f.read()
        except (OSError, TypeError, KeyError):
            ours = False
        if ours:  # never signal a recycled pid
            _kill_and_wait(pid)
        if st.get("dir") and os.path.isdir(st["dir"]):
            shutil.rmtree(st["dir"], ignore_errors=True)
        os.unlink(statefile)
        try:
            os.unlink(os.path.join(statedir, "dovecot.env"))
        except OSError:
            pass
        return 0
    import corpus
    import shlex
    os.makedirs(statedir, exist_ok=True)
    os.chmod(statedir, 0o755)
    d = Dovecot("slash", tmp_parent=statedir)
    d.start_daemon()
    with open(statefile, "w") as f:
        json.dump(d.state(), f, indent=2)
    try:
        corpus.populate(d, big=False)
    except Exception:
        sys.stderr.write(d.log())
        d.stop()
        os.unlink(statefile)
        raise
    # The same state for shell scripts: DEMO_IMAPS_PORT=... etc.
    with open(os.path.join(statedir, "dovecot.env"), "w") as f:
        for k, v in sorted(d.state().items()):
            f.write("DEMO_%s=%s\n" % (k.upper(), shlex.quote(str(v))))
    json.dump(d.state(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))

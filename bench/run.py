#!/usr/bin/python3
"""imapfs benchmark: one run, one throwaway Dovecot, tables of medians.

    sudo /usr/bin/python3 bench/run.py [--count N] [--reps R] [--big]
                                       [--rtt MS] [--ops N] [--slow S]
                                       [--skip PART]... [--seed S]
                                       [--out FILE] [-o OPT]...

bench/README.md is the manual: every row, option and target. This file is
the run in order, over one Bench object that holds the run's state (the
server, the corpus and what the server says of it, the samples, the
problems) and the helpers every part uses (mounts, searches checked
against the corpus, repetitions):

  setup     a Dovecot of the integration tests (tests/integration/
            dovecot.py, "slash" layout); the deterministic corpus of
            gencorpus.py in its mailbox "Bench" and in a local Maildir;
            "L100", "L1k", "L10k" (those up to --count, at least L100;
            "L100k" with --big) of small messages for ls; Dovecot indexes
            everything before anything is measured.
  loopback  raw stream and raw metadata FETCH (the baselines, bench/
            rawimap.py), grep and rg on the local Maildir, mbsync, imapfs
            cold/warm/hot grep, cold rg, cold ls -l, head -c 100 (here).
  floor     grep through libfuse's own passthrough_ll over the local
            Maildir (floor.py): the best FUSE does on this machine.
  delayed   the cold rows through tests/integration/delayproxy.py, which
            delays each direction by --rtt/2 (delayed.py).
  ops       rm, mv, setfattr and cp loops over that link, timed and with
            the proxy's count of flights (fileops.py).

report.py writes the tables (also as Markdown, with the machine facts and
every sample, to --out, default bench/last-run.md). Every command runs
with LC_ALL=C; seconds come from time.monotonic() around the command
(process start included); each ratio is against a baseline measured in
the same run.

Exit status: 0 when everything ran and every check of correctness passed
(missed targets are reported, not failures), 1 when a check failed (wrong
matches, imapfs exited non-zero, a wrong byte count, a file operation
that left the wrong mail on the server ...), 2 on an error that stopped
the run. Everything (mounts, proxies, Dovecot, temp dirs) is cleaned up
at exit, also on failure, SIGINT or SIGTERM.
"""

import sys
sys.dont_write_bytecode = True  # noqa: E402  (no __pycache__ in the tree)

import argparse
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, HERE)

import dovecot      # noqa: E402
import gencorpus    # noqa: E402
import mountutil    # noqa: E402
from proxy import Proxy  # noqa: E402
from rawimap import raw_fetch  # noqa: E402
from benchutil import NEEDLE, say, timed, vm_hwm  # noqa: E402
import delayed      # noqa: E402
import fileops      # noqa: E402
import floor        # noqa: E402
import searchrow    # noqa: E402
import report       # noqa: E402

LS_SIZES = (("L100", 100), ("L1k", 1000), ("L10k", 10000))
LS_BIG = ("L100k", 100000)
META = "(UID RFC822.SIZE INTERNALDATE FLAGS)"
# the searches of the benchmark: each prints the files that match
SEARCH = {"grep": ["grep", "-rl", NEEDLE], "rg": ["rg", "-l", NEEDLE]}
PARTS = ("mbsync", "rg", "ls", "head", "floor", "delayed", "ops", "search")


class Bench:
    def __init__(self, args):
        self.args = args
        self.reps = args.reps
        self.tmp = None
        self.server = None
        self.proxy = None        # the counting proxy of the head row
        self.delay_proxy = None  # the delayed link (delayed.py)
        self.floor = None        # the passthrough_ll mount (floor.py)
        self.samples = {}        # name -> list of values (per repetition)
        self.problems = []       # correctness failures (strings)
        self.notes = []          # things worth knowing, for the report
        self.search_notes = []   # where the server's search and grep differ
        self.imapfs_bin = mountutil.imapfs_bin()
        self.status = {}         # label -> `imapfs status` after its first
        boxes = [b for b in LS_SIZES if b[1] <= max(args.count, 100)]
        self.ls_boxes = boxes + ([LS_BIG] if args.big else [])
        self.imapfs_opts = list(args.imapfs_opt)

    def add(self, name, value):
        self.samples.setdefault(name, []).append(value)

    def problem(self, msg):
        say("PROBLEM: " + msg)
        self.problems.append(msg)

    def doing(self, part):
        return part not in self.args.skip

    def repeat(self, key, what):
        """range(reps), cut short when the first sample of KEY took longer
        than --slow seconds (a row that slow is measured once; noted)."""
        for rep in range(self.reps):
            first = (self.samples.get(key) or [None])[0]
            if rep and first is not None and first > self.args.slow:
                self.notes.append("%s: measured once (%.0f s, over --slow "
                                  "%g s)" % (what, first, self.args.slow))
                return
            yield rep

    # ---- setup ----
    def setup(self):
        self.tmp = tempfile.mkdtemp(prefix="imapfs-bench-")
        os.chmod(self.tmp, 0o700)
        say("starting Dovecot")
        self.server = dovecot.Dovecot(layout="slash")
        self.server.start()
        s = self.server
        home = s.maildir_home()
        self.local = os.path.join(self.tmp, "local-maildir", "Bench")
        say("writing %d messages into Bench (and %s)" % (self.args.count,
                                                          self.local))
        corpus = gencorpus.Corpus(self.args.count, self.args.seed)
        t0 = time.monotonic()
        self.corpus = gencorpus.load_dovecot(
            corpus, home, "Bench", s.imaps_port, s.cafile, s.user, s.password,
            also=[self.local], progress=say)
        say("Bench: %d messages, %.1f MiB, %d with 'invoice'; written in "
            "%.1fs, Dovecot indexed in %.1fs" % (
                self.corpus["count"], self.corpus["bytes"] / 2**20,
                len(self.corpus["invoice_msgids"]), time.monotonic() - t0,
                self.corpus["index_seconds"]))
        for name, n in self.ls_boxes:
            t0 = time.monotonic()
            small = gencorpus.Corpus(n, "%s:%s" % (self.args.seed, name),
                                     attach_rate=0, invoice_rate=0,
                                     tag=name.lower())
            st = gencorpus.load_dovecot(small, home, name, s.imaps_port,
                                        s.cafile, s.user, s.password,
                                        progress=say)
            say("%s: %d messages, %.1f MiB, %.1fs (index %.1fs)" % (
                name, st["count"], st["bytes"] / 2**20,
                time.monotonic() - t0, st["index_seconds"]))
        # UID -> Message-ID and size of Bench, from the server itself
        c = gencorpus.imap_connect(s.imaps_port, s.cafile, s.user, s.password)
        try:
            c.select('"Bench"', readonly=True)
            typ, dat = c.uid("FETCH", "1:*", "(UID RFC822.SIZE "
                             "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            if typ != "OK":
                raise RuntimeError("FETCH Message-ID: %r" % dat)
            self.msgid = {}
            self.size = {}
            for item in dat:
                # (b'N (UID u RFC822.SIZE s BODY[...] {n}', b'Message-ID: ..')
                if not isinstance(item, tuple):
                    continue
                uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
                self.size[uid] = int(re.search(rb"RFC822\.SIZE (\d+)",
                                               item[0]).group(1))
                m = re.search(rb"<([^>]+)>", item[1])
                self.msgid[uid] = m.group(1).decode() if m else None
            self.big_uid = max(self.size, key=lambda u: self.size[u])
            typ, dat = c.uid("FETCH", str(self.big_uid), "(BODY.PEEK[]<0.100>)")
            self.big_head = next(x[1] for x in dat if isinstance(x, tuple))
        finally:
            c.logout()
        if len(self.msgid) != self.corpus["count"]:
            raise RuntimeError("server lists %d messages in Bench, wrote %d"
                               % (len(self.msgid), self.corpus["count"]))
        self.server_bytes = sum(self.size.values())
        # imapfs's cache must hold the whole corpus for the warm grep to
        # mean anything; the default limit is 1 GiB
        if self.server_bytes > 900 * 2**20 and not any(
                o.startswith("cache_size=") for o in self.imapfs_opts):
            mib = int(self.server_bytes * 1.5 / 2**20) + 1
            self.imapfs_opts.append("cache_size=%dM" % mib)
            self.notes.append("corpus over 900 MiB: mounts use "
                              "-o cache_size=%dM" % mib)

    # ---- imapfs mounts ----
    def mount(self, cache_dir, url=None):
        m = mountutil.Mount(url or self.server.url(), cafile=self.server.cafile,
                            password=self.server.password,
                            opts=["cache_dir=" + cache_dir] + self.imapfs_opts)
        m.start()
        return m

    def unmount(self, m, what):
        """Unmount M and check that imapfs went away cleanly."""
        rc = m.stop(cleanup=False)
        if rc != 0:
            self.problem("imapfs (%s) exited with status %s; log tail:\n%s"
                         % (what, rc, m.log()[-3000:]))
        m.cleanup()

    def fresh_cache(self, name):
        d = os.path.join(self.tmp, "cache-" + name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d, mode=0o700)
        return d

    def status_once(self, label, m):
        """Keep `imapfs status` of mount M under LABEL, the first time."""
        if label not in self.status:
            r = mountutil.run_imapfs(["status", m.path])
            self.status[label] = (r.stdout + r.stderr).decode("utf-8",
                                                              "replace")

    # ---- searches, checked against the corpus ----
    def check_matches(self, what, ids):
        want = self.corpus["invoice_msgids"]
        if ids != want:
            self.problem("%s: %d matches, want %d; missing %s; unexpected %s"
                         % (what, len(ids), len(want),
                            sorted(want - ids)[:10], sorted(ids - want)[:10]))
            return False
        return True

    def search(self, tool, root, what, msgid_of):
        """Run TOOL (grep or rg) over ROOT; -> seconds. Checks its exit
        status and the messages it matched (MSGID_OF: path -> Message-ID)."""
        dt, r = timed(SEARCH[tool] + [root])
        if r.returncode not in (0, 1) or r.stderr:
            self.problem("%s: %s exited %d: %s" % (
                what, tool, r.returncode,
                r.stderr.decode("utf-8", "replace")[:2000]))
        paths = r.stdout.decode("utf-8", "replace").splitlines()
        self.check_matches(what, {msgid_of(p) for p in paths})
        return dt

    def local_msgid(self, path):
        with open(path, "rb") as f:
            m = re.search(rb"^Message-ID: <([^>]+)>", f.read(8192), re.M)
        return m.group(1).decode() if m else path

    def mount_msgid(self, path):
        base = os.path.basename(path)
        try:
            return self.msgid[int(base.split(".")[0])]
        except (ValueError, KeyError):
            return "?" + base

    def search_mount(self, m, tool, what):
        """TOOL over MNT/Bench, checked; -> seconds."""
        dt = self.search(tool, os.path.join(m.path, "Bench"), what,
                         self.mount_msgid)
        if not m.alive():
            self.problem("%s: imapfs is gone after the %s (exit %s); log "
                         "tail:\n%s" % (what, tool, m.proc.poll(),
                                        m.log()[-3000:]))
        return dt

    def cold_search(self, tool, key, what, url=None, proxy=None, cache=None):
        """TOOL over MNT/Bench on a fresh mount (through URL) with an empty
        cache directory (CACHE, kept; else one of its own, removed): samples
        KEY (seconds), KEY_rss (VmHWM after it) and with PROXY (a
        DelayProxy) KEY_flights, the client's flights on all connections
        from the start of the search until the link is quiet."""
        own = cache is None
        cache = cache or self.fresh_cache(key)
        m = self.mount(cache, url=url)
        try:
            if not os.path.isdir(os.path.join(m.path, "Bench")):
                raise RuntimeError("no Bench in the mount: %s"
                                   % os.listdir(m.path))
            snap = proxy.mark() if proxy else None
            dt = self.search_mount(m, tool, what)
            self.add(key, dt)
            rss = vm_hwm(m.proc.pid)
            self.add(key + "_rss", rss)
            extra = ""
            if proxy:
                proxy.settle(timeout=30)
                fl = proxy.total_flights(snap)
                self.add(key + "_flights", fl)
                extra = ", %d flights" % fl
            say("  %s %.3fs, VmHWM %.1f MiB%s" % (what, dt, rss / 2**20, extra))
            self.status_once(what, m)
        finally:
            self.unmount(m, what)
        if own:
            shutil.rmtree(cache, ignore_errors=True)
        return dt

    def ls_mount(self, m, name, n, what):
        """ls -l MNT/NAME >/dev/null, checked for N entries; -> seconds."""
        path = os.path.join(m.path, name)
        dt, r = timed(["ls", "-l", path], stdout=subprocess.DEVNULL)
        if r.returncode != 0:
            self.problem("%s: ls -l %s exited %d: %s" % (
                what, name, r.returncode, r.stderr.decode()[:2000]))
        got = len(os.listdir(path))
        if got != n:
            self.problem("%s: %s lists %d entries, want %d"
                         % (what, name, got, n))
        return dt

    # ---- loopback measurements ----
    def raw_stream(self):
        say("raw stream: UID FETCH 1:* BODY.PEEK[] of Bench (1 warm-up + %d)"
            % self.reps)
        raw_fetch(self.server, "Bench", "BODY.PEEK[]")
        for _ in range(self.reps):
            self.raw_stream_once("raw_stream")

    def raw_stream_once(self, key, port=None):
        """One timed UID FETCH 1:* BODY.PEEK[] of Bench (through PORT)."""
        dt, n, _ = raw_fetch(self.server, "Bench", "BODY.PEEK[]", port=port)
        if n < self.server_bytes:
            self.problem("raw stream read %d bytes, the messages have %d"
                         % (n, self.server_bytes))
        self.add(key, dt)
        say("  raw stream %.3fs, %d bytes" % (dt, n))

    def raw_meta(self):
        for name, n in self.ls_boxes:
            say("raw metadata FETCH of %s (x%d)" % (name, self.reps))
            raw_fetch(self.server, name, META)
            for _ in range(self.reps):
                self.raw_meta_once(name, "raw_meta_" + name,
                                   "raw_select_" + name)

    def raw_meta_once(self, name, key, select_key, port=None):
        dt, nb, sel = raw_fetch(self.server, name, META, port=port)
        self.add(key, dt)
        self.add(select_key, sel)   # context only
        say("  %.4fs, %d bytes (SELECT took %.4fs)" % (dt, nb, sel))

    def local_search(self):
        root = os.path.dirname(self.local)
        for tool in ("grep", "rg") if self.doing("rg") else ("grep",):
            say("%s on the local Maildir (1 warm-up + %d)"
                % (" ".join(SEARCH[tool]), self.reps))
            timed(SEARCH[tool] + [root])
            for _ in range(self.reps):
                dt = self.search(tool, root, "local " + tool,
                                 self.local_msgid)
                self.add("local_" + tool, dt)
                say("  %.3fs" % dt)

    def imapfs_grep(self):
        for rep in self.repeat("cold_grep", "imapfs cold grep"):
            say("imapfs grep, repetition %d/%d" % (rep + 1, self.reps))
            cache = self.fresh_cache("grep")
            self.cold_search("grep", "cold_grep", "cold grep", cache=cache)
            m = self.mount(cache)
            try:
                dt = self.search_mount(m, "grep", "warm grep")
                self.add("warm_grep", dt)
                dt2 = self.search_mount(m, "grep", "hot grep")
                self.add("hot_grep", dt2)
                say("  warm %.3fs, hot %.3fs" % (dt, dt2))
            finally:
                self.unmount(m, "warm/hot grep")
            shutil.rmtree(cache, ignore_errors=True)

    def imapfs_rg(self):
        for rep in self.repeat("cold_rg", "imapfs cold rg"):
            say("imapfs cold rg -l, repetition %d/%d" % (rep + 1, self.reps))
            self.cold_search("rg", "cold_rg", "cold rg")

    def imapfs_ls(self):
        for name, n in self.ls_boxes:
            say("imapfs cold ls -l %s (x%d)" % (name, self.reps))
            for _ in range(self.reps):
                cache = self.fresh_cache("ls")
                m = self.mount(cache)
                try:
                    dt = self.ls_mount(m, name, n, "cold ls")
                    self.add("cold_ls_" + name, dt)
                    self.add("ls_rss_" + name, vm_hwm(m.proc.pid))
                    say("  %.4fs" % dt)
                finally:
                    self.unmount(m, "ls " + name)
                shutil.rmtree(cache, ignore_errors=True)

    def mbsync(self):
        say("mbsync pull of Bench (x%d)" % self.reps)
        pw = os.path.join(self.tmp, "mbsync-password")
        fd = os.open(pw, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.server.password + "\n")
        for _ in range(self.reps):
            d = os.path.join(self.tmp, "mbsync")
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(os.path.join(d, "mail"))
            conf = os.path.join(d, "mbsyncrc")
            with open(conf, "w") as f:
                f.write(MBSYNC_CONF % {
                    "port": self.server.imaps_port, "user": self.server.user,
                    "pw": pw, "ca": self.server.cafile,
                    "mail": os.path.join(d, "mail")})
            dt, r = timed(["mbsync", "-c", conf, "bench"])
            if r.returncode != 0:
                self.problem("mbsync exited %d: %s" % (
                    r.returncode, (r.stdout + r.stderr).decode()[-2000:]))
            box = os.path.join(d, "mail", "Bench")
            got = sum(len(os.listdir(os.path.join(box, s)))
                      for s in ("cur", "new") if os.path.isdir(
                          os.path.join(box, s)))
            if got != self.corpus["count"]:
                self.problem("mbsync wrote %d messages, want %d"
                             % (got, self.corpus["count"]))
            self.add("mbsync", dt)
            say("  %.3fs" % dt)
            shutil.rmtree(d, ignore_errors=True)

    def head(self):
        uid, size = self.big_uid, self.size[self.big_uid]
        say("head -c 100 of UID %d (%d bytes) through the counting proxy (x%d)"
            % (uid, size, self.reps))
        self.proxy = Proxy(self.server.imaps_port).start()
        url = mountutil.local_url(self.server.user, self.proxy.port)
        for _ in range(self.reps):
            cache = self.fresh_cache("head")
            m = self.mount(cache, url=url)
            try:
                path = os.path.join(m.path, "Bench", "%d.eml" % uid)
                st = os.stat(path)
                if st.st_size != size:
                    self.problem("%s has size %d, server says %d"
                                 % (path, st.st_size, size))
                self.proxy.settle()
                self.proxy.reset()
                dt, r = timed(["head", "-c", "100", path])
                self.proxy.settle()
                down, up = self.proxy.counts()
                if r.stdout != self.big_head:
                    self.problem("head -c 100 returned %r, want %r"
                                 % (r.stdout[:40], self.big_head[:40]))
                self.add("head_bytes", down)
                self.add("head_secs", dt)
                say("  %.3fs, %d bytes down, %d up" % (dt, down, up))
            finally:
                self.unmount(m, "head")
            shutil.rmtree(cache, ignore_errors=True)
        self.proxy.stop()
        self.proxy = None

    def run(self):
        self.t_start = time.monotonic()
        self.load_before = os.getloadavg()
        self.setup()
        self.raw_stream()
        self.raw_meta()
        self.local_search()
        if self.doing("floor"):
            floor.measure(self)
        if self.doing("mbsync"):
            self.mbsync()
        self.imapfs_grep()
        if self.doing("rg"):
            self.imapfs_rg()
        if self.doing("search"):
            searchrow.measure(self)
        if self.doing("ls"):
            self.imapfs_ls()
        if self.doing("head"):
            self.head()
        if self.doing("delayed"):
            delayed.measure(self)
        if self.doing("ops"):
            fileops.measure(self)
        self.t_total = time.monotonic() - self.t_start
        self.load_after = os.getloadavg()

    # ---- cleanup ----
    def cleanup(self):
        for m in list(mountutil.Mount.all_mounts):
            try:
                m.stop()
            except Exception as e:
                say("cleanup: unmount %s: %s" % (m.path, e))
        floor.cleanup(self)
        for p in (self.proxy, self.delay_proxy):
            if p is not None:
                p.stop()
        if self.server is not None:
            try:
                self.server.stop()
            except Exception as e:
                say("cleanup: Dovecot: %s" % e)
        if self.tmp and os.path.isdir(self.tmp):
            # never rmtree through a live mount
            live = [e["mountpoint"] for e in mountutil.mountinfo()
                    if e["mountpoint"].startswith(self.tmp + "/")]
            if live:
                say("cleanup: %s still has mounts %s; left in place"
                    % (self.tmp, live))
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)


MBSYNC_CONF = """# generated by bench/run.py
IMAPAccount bench
Host localhost
Port %(port)d
User %(user)s
PassCmd "cat %(pw)s"
SSLType IMAPS
CertificateFile %(ca)s

IMAPStore bench-far
Account bench

MaildirStore bench-near
Path %(mail)s/
Inbox %(mail)s/INBOX
SubFolders Verbatim

Channel bench
Far :bench-far:
Near :bench-near:
Patterns Bench
Create Near
Sync Pull
SyncState *
"""


def _sig(signum, frame):
    raise SystemExit(128 + signum)


def parse_args():
    ap = argparse.ArgumentParser(
        description="imapfs benchmark (see bench/README.md)")
    ap.add_argument("--count", type=int, default=10000,
                    help="messages in Bench (default 10000)")
    ap.add_argument("--reps", type=int, default=3,
                    help="repetitions of each measurement (default 3)")
    ap.add_argument("--big", action="store_true",
                    help="also the L100k mailbox (100,000 messages)")
    ap.add_argument("--rtt", type=float, default=80, metavar="MS",
                    help="round trip of the delayed link in ms (default "
                    "80: 40 ms each way; 0: the proxy without delay)")
    ap.add_argument("--ops", type=int, default=100, metavar="N",
                    help="files per file-operation row (default 100)")
    ap.add_argument("--slow", type=float, default=120, metavar="S",
                    help="a row whose first sample takes longer than S "
                    "seconds is measured once (default 120)")
    ap.add_argument("--skip", action="append", default=[], choices=PARTS,
                    help="leave out a part (repeatable)")
    ap.add_argument("--seed", default=gencorpus.DEFAULT_SEED)
    ap.add_argument("--out", default=os.path.join(HERE, "last-run.md"),
                    help="Markdown report (default bench/last-run.md)")
    ap.add_argument("-o", "--imapfs-opt", action="append", default=[],
                    metavar="OPT", help="extra imapfs -o option (repeatable)")
    return ap.parse_args()


def check_args(args):
    """-> None when the run can start, else what stops it."""
    if os.geteuid() != 0:
        return "run as root: sudo /usr/bin/python3 bench/run.py"
    if args.count < 100 or args.reps < 1 or args.ops < 1 or args.rtt < 0:
        return "--count must be >= 100, --reps and --ops >= 1, --rtt >= 0"
    tools = ["mbsync", "grep", "ls", "head", "fusermount3", "bash"]
    tools += ["rg"] if "rg" not in args.skip else []
    tools += ["cc", "pkg-config"] if "floor" not in args.skip else []
    tools += ["setfattr", "cp", "mv"] if "ops" not in args.skip else []
    for tool in tools:
        if not shutil.which(tool):
            return "%s not found (tests/install-deps)" % tool
    if not os.path.exists(mountutil.imapfs_bin()):
        return "no imapfs at %s (ninja -C build)" % mountutil.imapfs_bin()
    return None


def main():
    args = parse_args()
    why = check_args(args)
    if why:
        print(why, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _sig)
    signal.signal(signal.SIGHUP, _sig)
    b = Bench(args)
    rc = 0
    try:
        b.run()
    except BaseException as e:
        if isinstance(e, SystemExit) or isinstance(e, KeyboardInterrupt):
            say("interrupted")
        else:
            import traceback
            traceback.print_exc()
        rc = 2
    finally:
        b.cleanup()
    if rc == 2:
        return rc
    print()
    print(report.text(b))
    if b.problems:
        print("\nPROBLEMS:")
        for p in b.problems:
            print("- " + p)
        rc = 1
    with open(args.out, "w") as f:
        f.write(report.markdown(b))
    print("\nreport written to %s (run took %.0fs)" % (args.out, b.t_total))
    return rc


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""imapfs benchmark: an account with very many mailboxes.

    sudo /usr/bin/python3 bench/manymbox.py [--counts 10000,50000,200000]
                                            [--reps R] [--layout flat|nested]
                                            [--out FILE] [--keep N]

A scripted IMAP server (tests/integration/fakeserver.py, TLS on loopback,
certificates from tests/integration/certs.py) answers LIST and LSUB with N
mailboxes: INBOX plus N-1 others, either all at the root ("flat", the
default: the root directory then holds N entries) or in groups of 100
under N/100 parents ("nested"). For each N it measures, R times (median
reported):

  raw LIST     one TLS connection, LOGIN, then LIST "" "*" and LSUB "" "*"
               (what a mount asks): seconds from sending each to its tagged
               OK, added (the server's own cost and the bytes on the wire;
               the baseline).
  mount        from starting `imapfs mount -f` to the mount answering a
               listing of its root (os.listdir, checked for the right
               number of entries).
  ls root      `ls MNT >/dev/null` on that mount, right after (the kernel
               has not cached the directory yet on the first `ls`).
  lookup stall for WATCH seconds (default 12) after the `ls`, `stat`s of
               names that do not exist at the root, one after the other
               (each a FUSE LOOKUP that takes the tree lock; a negative
               answer is not cached): the slowest one. The mount runs with
               -o poll=5 (the default), so the watcher lists every mailbox
               again and compares the list with its tree meanwhile.
  tree lock    from `imapfs status` after that (lookups go on until the
               watcher has compared a LIST at least once): how long its
               last LIST comparison took, and the longest it held the tree
               lock for one since mount, wall clock and its CPU time (on a
               busy machine the holder can be preempted).
  peak RSS     VmHWM of the imapfs process at the end.
 Every
command runs with LC_ALL=C; seconds come from time.monotonic(). The table
is printed and written as Markdown to --out (default
bench/last-manymbox.md). --keep N leaves one mount of N mailboxes up
until Enter is pressed (to profile it with perf).

--dovecot N adds a row for a real Dovecot (tests/integration/dovecot.py,
"slash" layout) holding N mailboxes, made as Maildir folders on disk
(CREATE of that many would take long), to show that nothing on the way
from a real server is quadratic either.

Exit status 0 when every run mounted and listed the right number of
entries, 1 otherwise, 2 on an error that stopped the run. Mounts, the
server (a process of its own, so that its Python work never delays the
timed lookups) and temp dirs are removed at exit.
"""

import sys
sys.dont_write_bytecode = True  # noqa: E402  (no __pycache__ in the tree)

import argparse
import multiprocessing
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import certs        # noqa: E402
import mountutil    # noqa: E402
from fakeserver import FakeServer  # noqa: E402
from benchutil import fmt_secs, fmt_bytes, vm_hwm  # noqa: E402
from rawimap import RawImap  # noqa: E402

ENV_C = dict(os.environ, LC_ALL="C")
PASSWORD = "pw"
MOUNT_TIMEOUT = 1800


def say(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr,
          flush=True)


def mailboxes(n, layout):
    """INBOX and N-1 other mailboxes (bytes names -> fakeserver entries);
    -> (dict, entries expected in the root directory)."""
    mbs = {b"INBOX": {"attrs": ["\\HasNoChildren"], "messages": []}}
    parents = set()
    for i in range(1, n):
        if layout == "flat":
            name = b"mbox%07d" % i
        else:
            parent = b"group%05d" % (i // 100)
            parents.add(parent)
            name = parent + b"/mbox%07d" % i
        mbs[name] = {"attrs": ["\\HasNoChildren"], "messages": []}
    # the parents are listed too, as a server with children would
    for p in parents:
        mbs[p] = {"attrs": ["\\HasChildren"], "messages": []}
    root = n if layout == "flat" else 1 + len(parents)
    return mbs, root


class ServerProcess:
    """The scripted server in a process of its own, so that its Python
    work (200,000 LIST lines) never holds the GIL of the process that
    times the lookups."""

    def __init__(self, cert, mbs):
        self.parent, child = multiprocessing.Pipe()
        self.proc = multiprocessing.Process(target=self._run,
                                            args=(child, cert, mbs),
                                            daemon=True)
        self.proc.start()
        self.port = self.parent.recv()

    @staticmethod
    def _run(conn, cert, mbs):
        srv = FakeServer("imaps", cert=cert, password=PASSWORD,
                         mailboxes=mbs).start()
        conn.send(srv.port)
        try:
            conn.recv()         # anything, or EOF: stop
        except EOFError:
            pass
        srv.stop()

    def stop(self):
        try:
            self.parent.send("stop")
        except OSError:
            pass
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


def median(xs):
    return statistics.median(xs) if xs else float("nan")


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="imapfs-manymbox-")
        self.pki = certs.Pki(os.path.join(self.tmp, "pki"))
        self.cert = self.pki.leaf("manymbox")
        self.samples = {}       # (label, what) -> [values]
        self.cases = []         # (label, mailboxes), in the order measured
        self.problems = []
        self.server = None
        self.dovecot = None
        self.mount = None
        self.t_total = 0.0

    def add(self, label, what, value):
        self.samples.setdefault((label, what), []).append(value)

    def problem(self, msg):
        say("PROBLEM: " + msg)
        self.problems.append(msg)

    def raw_list(self, label, port, cafile, user, password, keep=True):
        c = RawImap(port, cafile)
        try:
            c.command('LOGIN %s "%s"' % (user, password))
            dt, nbytes = c.command('LIST "" "*"')
            dt2, nbytes2 = c.command('LSUB "" "*"')
        finally:
            c.close()
        if keep:
            self.add(label, "raw LIST", dt + dt2)
            self.add(label, "LIST bytes", nbytes + nbytes2)

    def one_mount(self, label, n, url, cafile, password, root_entries,
                  keep=False):
        """Mount, list the root (ROOT_ENTRIES entries; None: at least N),
        ls, lookups while the watcher polls, status, unmount."""
        m = mountutil.Mount(url, cafile=cafile, password=password,
                            opts=["poll=5", "timeout=600"],
                            workdir=tempfile.mkdtemp(dir=self.tmp))
        self.mount = m
        t0 = time.monotonic()
        m.start(timeout=MOUNT_TIMEOUT)
        got = os.listdir(m.path)
        t_mount = time.monotonic() - t0
        if len(got) < n if root_entries is None else len(got) != root_entries:
            self.problem("%s: root lists %d entries, expected %s"
                         % (label, len(got), root_entries or ">= %d" % n))
        t0 = time.monotonic()
        r = subprocess.run(["ls", m.path], stdout=subprocess.DEVNULL,
                           env=ENV_C, timeout=MOUNT_TIMEOUT)
        t_ls = time.monotonic() - t0
        if r.returncode != 0:
            self.problem("%s: ls exited %d" % (label, r.returncode))
        self.add(label, "mount", t_mount)
        self.add(label, "ls root", t_ls)
        worst = 0.0
        i = 0
        start = time.monotonic()
        end = start + self.args.watch
        rx = re.compile(r"mailbox list: (\d+) mailboxes in the last LIST, "
                        r"compared in ([\d.]+) ms; .* for ([\d.]+) ms at most "
                        r"since mount \(([\d.]+) ms of CPU")
        # at least WATCH seconds, and until the watcher has compared a
        # LIST (a real server may take longer than that to answer it;
        # a build without the "mailbox list" line is not waited for)
        def compared():
            st = os.getxattr(m.path, "user.imapfs.status").decode()
            return "mailbox list:" not in st or rx.search(st) is not None
        while time.monotonic() < end or (
                time.monotonic() < start + MOUNT_TIMEOUT and
                (i % 100 or not compared())):
            i += 1
            t0 = time.monotonic()
            try:
                os.stat(os.path.join(m.path, "no-such-mailbox-%d" % i))
                self.problem("%s: no-such-mailbox-%d exists" % (label, i))
            except FileNotFoundError:
                pass
            worst = max(worst, time.monotonic() - t0)
            time.sleep(0.005)
        self.add(label, "lookup stall", worst)
        st = os.getxattr(m.path, "user.imapfs.status").decode()
        mm = rx.search(st)
        if mm is None:
            self.problem("%s: no LIST comparison in imapfs status after "
                         "%ds:\n%s" % (label, self.args.watch, st))
        else:
            listed = int(mm.group(1))
            if listed < n if root_entries is None else listed != n:
                self.problem("%s: the watcher's LIST had %d" % (label, listed))
            self.add(label, "compare", float(mm.group(2)) / 1e3)
            self.add(label, "lock held", float(mm.group(3)) / 1e3)
            self.add(label, "lock CPU", float(mm.group(4)) / 1e3)
        pid = m.proc.pid if m.proc else None
        if pid:
            self.add(label, "peak RSS", vm_hwm(pid))
        if keep:
            input("mounted %s mailboxes at %s (pid %s); Enter to go on: "
                  % (label, m.path, pid))
        rc = m.stop()
        self.mount = None
        if rc not in (0, None):
            self.problem("%s: imapfs exited %s" % (label, rc))
        say("%s mailboxes: mounted in %.2fs, ls %.3fs, slowest lookup %.3fs"
            % (label, t_mount, t_ls, worst))

    def run(self):
        t0 = time.monotonic()
        for n in self.args.counts:
            label = "%d" % n
            self.cases.append((label, n))
            mbs, root = mailboxes(n, self.args.layout)
            self.server = ServerProcess(self.cert, mbs)
            del mbs
            url = "imaps://alice@127.0.0.1:%d/" % self.server.port
            try:
                # once untimed: the server builds its answer the first time
                self.raw_list(label, self.server.port, self.pki.cafile,
                              "alice", PASSWORD, keep=False)
                for _ in range(self.args.reps):
                    self.raw_list(label, self.server.port, self.pki.cafile,
                                  "alice", PASSWORD)
                for rep in range(self.args.reps):
                    self.one_mount(label, n, url, self.pki.cafile, PASSWORD,
                                   root, keep=(n == self.args.keep and
                                               rep == 0))
            finally:
                self.server.stop()
                self.server = None
        if self.args.dovecot:
            self.run_dovecot(self.args.dovecot)
        self.t_total = time.monotonic() - t0

    def run_dovecot(self, n):
        import dovecot
        d = dovecot.Dovecot("slash")
        self.dovecot = d
        d.start()
        try:
            home = d.maildir_home()
            st = os.stat(home)
            say("making %d Maildir folders for Dovecot" % (n - 1))
            for p in (home, os.path.join(home, "Maildir")):
                os.makedirs(p, mode=0o700, exist_ok=True)
                os.chown(p, st.st_uid, st.st_gid)
            for i in range(1, n):
                for sub in ("", "/cur", "/new", "/tmp"):
                    p = os.path.join(home, "Maildir", "mbox%07d" % i) + sub
                    os.makedirs(p, mode=0o700, exist_ok=True)
                    os.chown(p, st.st_uid, st.st_gid)
            label = "%d (Dovecot)" % n
            self.cases.append((label, n))
            # the first LIST makes Dovecot look at every folder once
            self.raw_list(label, d.imaps_port, d.cafile, d.user, d.password,
                          keep=False)
            for _ in range(self.args.reps):
                self.raw_list(label, d.imaps_port, d.cafile, d.user,
                              d.password)
            for _ in range(self.args.reps):
                self.one_mount(label, n, d.url(), d.cafile, d.password, None)
        finally:
            d.stop()
            self.dovecot = None

    def cleanup(self):
        if self.mount is not None:
            try:
                self.mount.stop()
            except Exception:
                self.mount.kill()
        if self.server is not None:
            self.server.stop()
        if self.dovecot is not None:
            self.dovecot.stop()
        if not any(mountutil.is_mounted(os.path.join(r, d, "mnt"))
                   for r, ds, _ in os.walk(self.tmp) for d in ds):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def rows(self):
        out = []
        first = None
        for label, n in self.cases:
            get = lambda what: self.samples.get((label, what), [])  # noqa
            raw = median(get("raw LIST"))
            mnt = median(get("mount"))
            per = mnt / n * 1e6
            if first is None:
                first = per
            out.append((label, fmt_secs(raw), fmt_secs(mnt),
                        "%.2fx" % (mnt / raw) if raw else "-",
                        "%.1f µs" % per, "%.2fx" % (per / first),
                        fmt_secs(median(get("ls root"))),
                        fmt_secs(max(get("lookup stall") or [None]) if
                                 get("lookup stall") else None),
                        fmt_secs(median(get("compare")) if get("compare")
                                 else None),
                        fmt_secs(max(get("lock held")) if get("lock held")
                                 else None),
                        fmt_secs(max(get("lock CPU")) if get("lock CPU")
                                 else None),
                        fmt_bytes(median(get("peak RSS")) if
                                  get("peak RSS") else None)))
        return out

    def table(self):
        head = ("mailboxes", "raw LIST+LSUB", "mount to ls",
                "mount / raw", "mount per mailbox",
                "per mailbox vs first row", "ls root",
                "slowest lookup (max)", "LIST compare",
                "tree lock held (max)", "of which CPU (max)", "peak RSS")
        rows = [head] + self.rows()
        w = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = ["| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r))
                 + " |" for r in rows]
        lines.insert(1, "|" + "|".join("-" * (x + 2) for x in w) + "|")
        return "\n".join(lines)

    def markdown(self):
        facts = "%s, %d CPUs, load %s, imapfs %s (%s)" % (
            platform.platform(), os.cpu_count(),
            " ".join("%.2f" % x for x in os.getloadavg()),
            subprocess.run(["git", "-C", REPO, "describe", "--always",
                            "--dirty"], capture_output=True,
                           text=True).stdout.strip(), mountutil.imapfs_bin())
        samples = "\n".join("- %s %s: %s" % (label, what, ", ".join(
            "%.4f" % v if isinstance(v, float) else str(v) for v in vs))
            for (label, what), vs in sorted(self.samples.items()))
        return ("# Many mailboxes (%s layout), %s\n\n%s\n\n%s\n\nSamples:\n\n"
                "%s\n" % (self.args.layout,
                          time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                          facts, self.table(), samples))


def _sig(signum, frame):
    raise SystemExit(128 + signum)


def main():
    ap = argparse.ArgumentParser(
        description="imapfs with many mailboxes (see bench/README.md)")
    ap.add_argument("--counts", default="10000,50000,200000",
                    help="mailbox counts, comma-separated")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--layout", choices=("flat", "nested"), default="flat")
    ap.add_argument("--dovecot", type=int, default=0, metavar="N",
                    help="also a real Dovecot with N mailboxes")
    ap.add_argument("--watch", type=int, default=12,
                    help="seconds of lookups while the watcher polls")
    ap.add_argument("--out", default=os.path.join(HERE, "last-manymbox.md"))
    ap.add_argument("--keep", type=int, default=0,
                    help="leave the first mount of this many mailboxes up "
                    "until Enter")
    args = ap.parse_args()
    args.counts = [int(x) for x in args.counts.split(",") if x]
    if os.geteuid() != 0:
        print("run as root (FUSE mounts)", file=sys.stderr)
        return 2
    if not args.counts or min(args.counts) < 2 or args.reps < 1:
        print("--counts must be >= 2 and --reps >= 1", file=sys.stderr)
        return 2
    if not os.path.exists(mountutil.imapfs_bin()):
        print("no imapfs at %s (ninja -C build)" % mountutil.imapfs_bin(),
              file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _sig)
    signal.signal(signal.SIGHUP, _sig)
    b = Bench(args)
    rc = 0
    try:
        b.run()
    except BaseException as e:
        if not isinstance(e, (SystemExit, KeyboardInterrupt)):
            import traceback
            traceback.print_exc()
        else:
            say("interrupted")
        rc = 2
    finally:
        b.cleanup()
    if rc == 2:
        return rc
    print()
    print(b.table())
    if b.problems:
        print("\nPROBLEMS:")
        for p in b.problems:
            print("- " + p)
        rc = 1
    with open(args.out, "w") as f:
        f.write(b.markdown())
    print("\nreport written to %s (run took %.0fs)" % (args.out, b.t_total))
    return rc


if __name__ == "__main__":
    sys.exit(main())

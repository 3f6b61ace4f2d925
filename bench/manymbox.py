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
  tree lock    from `imapfs status` after that: how long the watcher's
               last LIST comparison took, and the longest it held the tree
               lock for one since mount.
  peak RSS     VmHWM of the imapfs process at the end.
 Every
command runs with LC_ALL=C; seconds come from time.monotonic(). The table
is printed and written as Markdown to --out (default
bench/last-manymbox.md). --keep N leaves one mount of N mailboxes up
until Enter is pressed (to profile it with perf).

Exit status 0 when every run mounted and listed the right number of
entries, 1 otherwise, 2 on an error that stopped the run. Mounts, the
server and temp dirs are removed at exit.
"""

import sys
sys.dont_write_bytecode = True  # noqa: E402  (no __pycache__ in the tree)

import argparse
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
from run import RawImap, fmt_secs, fmt_bytes, vm_hwm  # noqa: E402

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


def median(xs):
    return statistics.median(xs) if xs else float("nan")


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="imapfs-manymbox-")
        self.pki = certs.Pki(os.path.join(self.tmp, "pki"))
        self.cert = self.pki.leaf("manymbox")
        self.samples = {}       # (n, what) -> [values]
        self.problems = []
        self.server = None
        self.mount = None

    def add(self, n, what, value):
        self.samples.setdefault((n, what), []).append(value)

    def problem(self, msg):
        say("PROBLEM: " + msg)
        self.problems.append(msg)

    def raw_list(self, n):
        c = RawImap(self.server.port, self.pki.cafile)
        try:
            c.command('LOGIN alice "%s"' % PASSWORD)
            dt, nbytes = c.command('LIST "" "*"')
            dt2, nbytes2 = c.command('LSUB "" "*"')
            dt, nbytes = dt + dt2, nbytes + nbytes2
        finally:
            c.close()
        self.add(n, "raw LIST", dt)
        self.add(n, "LIST bytes", nbytes)

    def one_mount(self, n, root_entries, keep=False):
        m = mountutil.Mount("imaps://alice@127.0.0.1:%d/" % self.server.port,
                            cafile=self.pki.cafile, password=PASSWORD,
                            opts=["poll=5", "timeout=600"],
                            workdir=tempfile.mkdtemp(dir=self.tmp))
        self.mount = m
        t0 = time.monotonic()
        m.start(timeout=MOUNT_TIMEOUT)
        got = os.listdir(m.path)
        t_mount = time.monotonic() - t0
        if len(got) != root_entries:
            self.problem("%d mailboxes: root lists %d entries, expected %d"
                         % (n, len(got), root_entries))
        t0 = time.monotonic()
        r = subprocess.run(["ls", m.path], stdout=subprocess.DEVNULL,
                           env=ENV_C, timeout=MOUNT_TIMEOUT)
        t_ls = time.monotonic() - t0
        if r.returncode != 0:
            self.problem("%d mailboxes: ls exited %d" % (n, r.returncode))
        self.add(n, "mount", t_mount)
        self.add(n, "ls root", t_ls)
        worst = 0.0
        i = 0
        end = time.monotonic() + self.args.watch
        while time.monotonic() < end:
            i += 1
            t0 = time.monotonic()
            try:
                os.stat(os.path.join(m.path, "no-such-mailbox-%d" % i))
                self.problem("%d mailboxes: no-such-mailbox-%d exists" % (n, i))
            except FileNotFoundError:
                pass
            worst = max(worst, time.monotonic() - t0)
            time.sleep(0.005)
        self.add(n, "lookup stall", worst)
        st = os.getxattr(m.path, "user.imapfs.status").decode()
        mm = re.search(r"mailbox list: (\d+) mailboxes in the last LIST, "
                       r"compared in ([\d.]+) ms; .* for ([\d.]+) ms", st)
        if mm is None:
            self.problem("%d mailboxes: no LIST comparison in imapfs status "
                         "after %ds:\n%s" % (n, self.args.watch, st))
        else:
            if int(mm.group(1)) != n:
                self.problem("%d mailboxes: the watcher's LIST had %s"
                             % (n, mm.group(1)))
            self.add(n, "compare", float(mm.group(2)) / 1e3)
            self.add(n, "lock held", float(mm.group(3)) / 1e3)
        pid = m.proc.pid if m.proc else None
        if pid:
            self.add(n, "peak RSS", vm_hwm(pid))
        if keep:
            input("mounted %d mailboxes at %s (pid %s); Enter to go on: "
                  % (n, m.path, pid))
        rc = m.stop()
        self.mount = None
        if rc not in (0, None):
            self.problem("%d mailboxes: imapfs exited %s" % (n, rc))
        say("%d mailboxes: mounted in %.2fs, ls %.3fs, slowest lookup %.3fs"
            % (n, t_mount, t_ls, worst))

    def run(self):
        t0 = time.monotonic()
        for n in self.args.counts:
            mbs, root = mailboxes(n, self.args.layout)
            self.server = FakeServer("imaps", cert=self.cert,
                                     password=PASSWORD,
                                     mailboxes=mbs).start()
            try:
                self.raw_list(n)        # once untimed-ish: warms the server
                self.samples[(n, "raw LIST")] = []
                for _ in range(self.args.reps):
                    self.raw_list(n)
                for rep in range(self.args.reps):
                    self.one_mount(n, root,
                                   keep=(n == self.args.keep and rep == 0))
            finally:
                self.server.stop()
                self.server = None
        self.t_total = time.monotonic() - t0

    def cleanup(self):
        if self.mount is not None:
            try:
                self.mount.stop()
            except Exception:
                self.mount.kill()
        if self.server is not None:
            self.server.stop()
        if not any(mountutil.is_mounted(os.path.join(r, d, "mnt"))
                   for r, ds, _ in os.walk(self.tmp) for d in ds):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def rows(self):
        out = []
        first = None
        for n in self.args.counts:
            raw = median(self.samples.get((n, "raw LIST"), []))
            mnt = median(self.samples.get((n, "mount"), []))
            ls = median(self.samples.get((n, "ls root"), []))
            rss = median(self.samples.get((n, "peak RSS"), []))
            stall = max(self.samples.get((n, "lookup stall"), [0]))
            cmp_ = median(self.samples.get((n, "compare"), []))
            held = max(self.samples.get((n, "lock held"), [0]))
            per = mnt / n * 1e6 if n else float("nan")
            if first is None:
                first = (n, per)
            out.append(("%d" % n, fmt_secs(raw), fmt_secs(mnt),
                        "%.2fx" % (mnt / raw) if raw else "-",
                        "%.1f µs" % per,
                        "%.2fx" % (per / first[1]),
                        fmt_secs(ls), fmt_secs(stall), fmt_secs(cmp_),
                        fmt_secs(held), fmt_bytes(rss)))
        return out

    def table(self):
        head = ("mailboxes", "raw LIST", "mount to ls", "mount / raw LIST",
                "mount per mailbox", "per mailbox vs %d" % self.args.counts[0],
                "ls root", "slowest lookup (max)", "LIST compare",
                "tree lock held (max)", "peak RSS")
        rows = [head] + self.rows()
        w = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = ["| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r))
                 + " |" for r in rows]
        lines.insert(1, "|" + "|".join("-" * (x + 2) for x in w) + "|")
        return "\n".join(lines)

    def markdown(self):
        facts = "%s, %d CPUs, load %s, imapfs %s" % (
            platform.platform(), os.cpu_count(),
            " ".join("%.2f" % x for x in os.getloadavg()),
            subprocess.run(["git", "-C", REPO, "describe", "--always",
                            "--dirty"], capture_output=True,
                           text=True).stdout.strip())
        samples = "\n".join("- %d %s: %s" % (n, what, ", ".join(
            "%.4f" % v if isinstance(v, float) else str(v) for v in vs))
            for (n, what), vs in sorted(self.samples.items()))
        return ("# Many mailboxes (%s layout), %s\n\n%s\n\n%s\n\nSamples:\n\n%s\n"
                % (self.args.layout, time.strftime("%Y-%m-%d %H:%M UTC",
                                                   time.gmtime()),
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

#!/usr/bin/python3
"""imapfs benchmark: one run, one throwaway Dovecot, a table of medians.

One file of about 750 lines on purpose: this docstring is the benchmark's
manual, and the Bench class is one run in order (setup, measurements,
cleanup, report) over that run's state; cut apart, each piece would need
all of it. The baseline IMAP client is apart, in bench/rawimap.py.

    sudo /usr/bin/python3 bench/run.py [--count N] [--reps R] [--big]
                                       [--seed S] [--out FILE] [-o OPT]...

Starts a Dovecot of the integration tests (tests/integration/dovecot.py,
"slash" layout), writes the deterministic corpus of bench/gencorpus.py into
its mailbox "Bench" (and the same files into a local Maildir), fills
"L100", "L1k", "L10k" (and "L100k" with --big) with that many small
messages, lets Dovecot index everything, and then measures, each R times
(median reported):

  raw stream      one TLS connection, LOGIN, SELECT Bench, then
                  UID FETCH 1:* BODY.PEEK[]: seconds from sending FETCH to
                  the tagged OK, the socket read in 256 KiB recv()s (no
                  parsing, just the tagged line at the end). One untimed run
                  first, so Dovecot reads its files from the page cache.
  raw metadata    the same for UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE
                  FLAGS) of each L* mailbox.
  mbsync          mbsync (isync) pulling Bench into an empty local Maildir.
  local grep      grep -rl invoice on the local Maildir copy (page cache
                  warm: one untimed run first).
  imapfs grep     cold: a fresh mount with an empty cache directory
                  (-o cache_dir=), grep -rl invoice MNT/Bench; warm: unmount,
                  mount again with the same cache directory, grep again;
                  hot: the same mount, grep again (kernel page cache). The
                  matches of every grep are compared with the corpus (via
                  Message-ID); peak RSS (VmHWM) of the imapfs process is
                  read after the cold grep.
  imapfs ls       ls -l MNT/Lxx >/dev/null on a fresh mount (empty cache).
  head            head -c 100 of the largest message of Bench on a fresh
                  mount behind the counting TCP proxy of tests/integration:
                  bytes the server sent for it (TLS and IMAP framing
                  included), after the listing and a stat of the file.

Every command runs with LC_ALL=C. Seconds come from time.monotonic() around
the command (process start included). The table (also written as Markdown,
with the machine facts and every sample, to --out, default
bench/last-run.md) gives each median, its ratio to its baseline and the
target:

  cold grep  <= 1.5 x raw stream        warm grep <= 1.3 x local grep
  cold ls    <= 3 x raw metadata FETCH  peak RSS  <= 200 MiB
  head -c 100 <= 64 KiB from the server

Exit status: 0 when everything ran and every check of correctness passed
(missed targets are reported, not failures), 1 when a check failed (wrong
grep matches, imapfs exited non-zero, a wrong byte count ...), 2 on an
error that stopped the run. Everything (mounts, proxy, Dovecot, temp dirs)
is cleaned up at exit, also on failure, SIGINT or SIGTERM.
"""

import sys
sys.dont_write_bytecode = True  # noqa: E402  (no __pycache__ in the tree)

import argparse
import datetime
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
sys.path.insert(0, HERE)

import dovecot      # noqa: E402
import gencorpus    # noqa: E402
import mountutil    # noqa: E402
from proxy import Proxy  # noqa: E402
# manymbox.py imports RawImap from here too
from rawimap import RawImap, raw_fetch  # noqa: E402,F401

NEEDLE = "invoice"
LS_SIZES = (("L100", 100), ("L1k", 1000), ("L10k", 10000))
LS_BIG = ("L100k", 100000)
CMD_TIMEOUT = 3600          # seconds for any one measured command
ENV_C = dict(os.environ, LC_ALL="C")
ENV_C.pop("IMAPFS_PASSWORD", None)

TARGET_COLD_GREP = 1.5      # x raw stream
TARGET_WARM_GREP = 1.3      # x local grep
TARGET_COLD_LS = 3.0        # x raw metadata FETCH
TARGET_RSS = 200 * 2**20    # bytes
TARGET_HEAD = 64 * 1024     # bytes from the server


def say(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr,
          flush=True)


# ---- helpers -------------------------------------------------------------------

def timed(argv, **kw):
    """Run ARGV (LC_ALL=C); -> (seconds, CompletedProcess)."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    t0 = time.monotonic()
    r = subprocess.run(argv, env=ENV_C, stdin=subprocess.DEVNULL,
                       timeout=CMD_TIMEOUT, **kw)
    return time.monotonic() - t0, r


def vm_hwm(pid):
    """Peak resident set (VmHWM) of PID in bytes."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM for pid %d" % pid)


def fmt_secs(s):
    if s is None:
        return "—"
    if s < 0.01:
        return "%.2f ms" % (s * 1e3)
    if s < 10:
        return "%.3f s" % s
    return "%.1f s" % s


def fmt_bytes(b):
    if b is None:
        return "—"
    if b < 10 * 1024:
        return "%d B" % b
    if b < 10 * 2**20:
        return "%.1f KiB" % (b / 1024)
    return "%.1f MiB" % (b / 2**20)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def cmd_output(argv):
    try:
        r = subprocess.run(argv, capture_output=True, timeout=30, env=ENV_C)
        return (r.stdout or r.stderr).decode("utf-8", "replace").strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return "(%s)" % e


# ---- the benchmark ---------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.reps = args.reps
        self.tmp = None
        self.server = None
        self.proxy = None
        self.samples = {}        # name -> list of values (per repetition)
        self.problems = []       # correctness failures (strings)
        self.notes = []          # things worth knowing, for the report
        self.status_text = None  # `imapfs status` after the first cold grep
        self.ls_boxes = list(LS_SIZES) + ([LS_BIG] if args.big else [])
        self.imapfs_opts = list(args.imapfs_opt)

    def add(self, name, value):
        self.samples.setdefault(name, []).append(value)

    def problem(self, msg):
        say("PROBLEM: " + msg)
        self.problems.append(msg)

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

    # ---- measurements ----
    def raw_stream(self):
        say("raw stream: UID FETCH 1:* BODY.PEEK[] of Bench (1 warm-up + %d)"
            % self.reps)
        raw_fetch(self.server, "Bench", "BODY.PEEK[]")
        for _ in range(self.reps):
            dt, n, _ = raw_fetch(self.server, "Bench", "BODY.PEEK[]")
            if n < self.server_bytes:
                self.problem("raw stream read %d bytes, the messages have %d"
                             % (n, self.server_bytes))
            self.raw_stream_bytes = n
            self.add("raw_stream", dt)
            say("  %.3fs, %d bytes" % (dt, n))

    def raw_meta(self):
        for name, n in self.ls_boxes:
            say("raw metadata FETCH of %s (x%d)" % (name, self.reps))
            raw_fetch(self.server, name, "(UID RFC822.SIZE INTERNALDATE FLAGS)")
            for _ in range(self.reps):
                dt, nb, sel = raw_fetch(self.server, name,
                                        "(UID RFC822.SIZE INTERNALDATE FLAGS)")
                self.add("raw_meta_" + name, dt)
                self.add("raw_select_" + name, sel)   # context only
                say("  %.4fs, %d bytes (SELECT took %.4fs)" % (dt, nb, sel))

    def local_grep(self):
        root = os.path.dirname(self.local)
        say("grep -rl %s on the local Maildir (1 warm-up + %d)"
            % (NEEDLE, self.reps))
        timed(["grep", "-rl", NEEDLE, root])
        for _ in range(self.reps):
            dt, r = timed(["grep", "-rl", NEEDLE, root])
            self.add("local_grep", dt)
            say("  %.3fs" % dt)
        ids = set()
        for p in r.stdout.decode().split():
            with open(p, "rb") as f:
                m = re.search(rb"^Message-ID: <([^>]+)>", f.read(8192), re.M)
                ids.add(m.group(1).decode() if m else p)
        self.check_matches("local grep", ids)

    def check_matches(self, what, ids):
        want = self.corpus["invoice_msgids"]
        if ids != want:
            self.problem("%s: %d matches, want %d; missing %s; unexpected %s"
                         % (what, len(ids), len(want),
                            sorted(want - ids)[:10], sorted(ids - want)[:10]))
            return False
        return True

    def grep_mount(self, m, what):
        """grep -rl on MNT/Bench; -> seconds. Checks exit status and the
        messages matched."""
        path = os.path.join(m.path, "Bench")
        dt, r = timed(["grep", "-rl", NEEDLE, path])
        if r.returncode not in (0, 1) or r.stderr:
            self.problem("%s: grep exited %d: %s" % (
                what, r.returncode, r.stderr.decode("utf-8", "replace")[:2000]))
        ids = set()
        for p in r.stdout.decode("utf-8", "replace").split():
            base = os.path.basename(p)
            try:
                ids.add(self.msgid[int(base.split(".")[0])])
            except (ValueError, KeyError):
                ids.add("?" + base)
        self.check_matches(what, ids)
        if not m.alive():
            self.problem("%s: imapfs is gone after the grep (exit %s); log "
                         "tail:\n%s" % (what, m.proc.poll(), m.log()[-3000:]))
        return dt

    def imapfs_grep(self):
        for rep in range(self.reps):
            say("imapfs grep, repetition %d/%d" % (rep + 1, self.reps))
            cache = self.fresh_cache("grep")
            m = self.mount(cache)
            try:
                if not os.path.isdir(os.path.join(m.path, "Bench")):
                    raise RuntimeError("no Bench in the mount: %s"
                                       % os.listdir(m.path))
                dt = self.grep_mount(m, "cold grep")
                self.add("cold_grep", dt)
                rss = vm_hwm(m.proc.pid)
                self.add("peak_rss", rss)
                say("  cold %.3fs, VmHWM %.1f MiB" % (dt, rss / 2**20))
                if self.status_text is None:
                    r = mountutil.run_imapfs(["status", m.path])
                    self.status_text = (r.stdout + r.stderr).decode(
                        "utf-8", "replace")
            finally:
                self.unmount(m, "cold grep")
            m = self.mount(cache)
            try:
                dt = self.grep_mount(m, "warm grep")
                self.add("warm_grep", dt)
                dt2 = self.grep_mount(m, "hot grep")
                self.add("hot_grep", dt2)
                say("  warm %.3fs, hot %.3fs" % (dt, dt2))
            finally:
                self.unmount(m, "warm/hot grep")
            shutil.rmtree(cache, ignore_errors=True)

    def imapfs_ls(self):
        for name, n in self.ls_boxes:
            say("imapfs cold ls -l %s (x%d)" % (name, self.reps))
            for _ in range(self.reps):
                cache = self.fresh_cache("ls")
                m = self.mount(cache)
                try:
                    path = os.path.join(m.path, name)
                    dt, r = timed(["ls", "-l", path], stdout=subprocess.DEVNULL)
                    if r.returncode != 0:
                        self.problem("ls -l %s exited %d: %s" % (
                            name, r.returncode, r.stderr.decode()[:2000]))
                    got = len(os.listdir(path))
                    if got != n:
                        self.problem("%s lists %d entries, want %d"
                                     % (name, got, n))
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
        url = "imaps://%s@127.0.0.1:%d/" % (self.server.user, self.proxy.port)
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
        self.local_grep()
        self.mbsync()
        self.imapfs_grep()
        self.imapfs_ls()
        self.head()
        self.t_total = time.monotonic() - self.t_start
        self.load_after = os.getloadavg()

    # ---- cleanup ----
    def cleanup(self):
        for m in list(mountutil.Mount.all_mounts):
            try:
                m.stop()
            except Exception as e:
                say("cleanup: unmount %s: %s" % (m.path, e))
        if self.proxy is not None:
            self.proxy.stop()
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

    # ---- report ----
    def rows(self):
        """-> list of table rows: (name, median, per-msg/rate, baseline,
        ratio, target, result)."""
        med = {k: median(v) for k, v in self.samples.items()}
        n = self.corpus["count"]
        rows = []

        def ratio(a, b):
            return a / b if a is not None and b else None

        def row(name, value, extra, base_name, r, target, ok):
            rows.append((name, value, extra, base_name,
                         "—" if r is None else "%.2fx" % r, target,
                         "—" if ok is None else ("ok" if ok else "MISSED")))

        mibs = lambda s: "%.0f MiB/s" % (self.server_bytes / 2**20 / s) \
            if s else "—"  # noqa: E731
        rs = med.get("raw_stream")
        row("raw stream FETCH BODY.PEEK[] (Bench)", fmt_secs(rs), mibs(rs),
            "—", None, "baseline", None)
        mb = med.get("mbsync")
        row("mbsync pull of Bench", fmt_secs(mb), mibs(mb), "raw stream",
            ratio(mb, rs), "—", None)
        lg = med.get("local_grep")
        row("grep -rl on local Maildir (warm)", fmt_secs(lg), mibs(lg), "—",
            None, "baseline", None)
        for key, label, base, bname, tgt in (
                ("cold_grep", "imapfs cold grep (empty cache)", rs,
                 "raw stream", TARGET_COLD_GREP),
                ("warm_grep", "imapfs warm grep (remount, disk cache)", lg,
                 "local grep", TARGET_WARM_GREP),
                ("hot_grep", "imapfs hot grep (same mount)", lg,
                 "local grep", None)):
            v = med.get(key)
            r = ratio(v, base)
            row(label, fmt_secs(v), mibs(v), bname, r,
                "<= %.1fx" % tgt if tgt else "—",
                (r <= tgt) if (tgt and r is not None) else None)
        if mb is not None and med.get("cold_grep") is not None:
            row("imapfs cold grep vs mbsync", fmt_secs(med["cold_grep"]), "",
                "mbsync", ratio(med["cold_grep"], mb), "—", None)
        for name, cnt in self.ls_boxes:
            rm = med.get("raw_meta_" + name)
            row("raw metadata FETCH %s" % name, fmt_secs(rm),
                "%.1f µs/msg" % (rm / cnt * 1e6) if rm else "—", "—", None,
                "baseline", None)
            ls = med.get("cold_ls_" + name)
            r = ratio(ls, rm)
            row("imapfs cold ls -l %s" % name, fmt_secs(ls),
                "%.1f µs/msg" % (ls / cnt * 1e6) if ls else "—",
                "raw metadata %s" % name, r, "<= %.0fx" % TARGET_COLD_LS,
                (r <= TARGET_COLD_LS) if r is not None else None)
        rss = med.get("peak_rss")
        row("imapfs peak RSS during cold grep", fmt_bytes(rss), "", "—",
            None, "<= 200 MiB", (rss <= TARGET_RSS) if rss else None)
        for name, _ in self.ls_boxes:
            lrss = med.get("ls_rss_" + name)
            if lrss:
                row("imapfs peak RSS listing %s" % name, fmt_bytes(lrss), "", "—",
                    None, "<= 200 MiB", lrss <= TARGET_RSS)
        hb = med.get("head_bytes")
        row("head -c 100 of largest (%s): bytes from server"
            % fmt_bytes(self.size[self.big_uid]), fmt_bytes(hb),
            fmt_secs(med.get("head_secs")), "message size",
            ratio(hb, self.size[self.big_uid]), "<= 64 KiB",
            (hb <= TARGET_HEAD) if hb is not None else None)
        return rows

    def table(self):
        head = ("Measurement", "Median", "Rate / per msg", "Baseline",
                "Ratio", "Target", "Result")
        rows = [head] + self.rows()
        w = [max(len(r[i]) for r in rows) for i in range(len(head))]
        out = []
        for k, r in enumerate(rows):
            out.append("| " + " | ".join(c.ljust(w[i]) for i, c in
                                         enumerate(r)) + " |")
            if k == 0:
                out.append("|" + "|".join("-" * (x + 2) for x in w) + "|")
        return "\n".join(out)

    def facts(self):
        model = "?"
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        model = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        mem = "?"
        try:
            with open("/proc/meminfo") as f:
                mem = "%.1f GiB" % (int(f.readline().split()[1]) / 2**20)
        except (OSError, ValueError, IndexError):
            pass
        rev = cmd_output(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
        dirty = cmd_output(["git", "-C", REPO, "status", "--porcelain",
                            "--untracked-files=no"])
        c = self.corpus
        return [
            ("date", datetime.datetime.now(datetime.timezone.utc)
             .strftime("%Y-%m-%d %H:%M:%S UTC")),
            ("host", "nproc %d, %s, %s RAM" % (os.cpu_count() or 0, model,
                                                mem)),
            ("kernel", platform.release()),
            ("imapfs", "%s built %s (tree at git %s%s)" % (
                mountutil.imapfs_bin(), time.strftime(
                    "%Y-%m-%d %H:%M:%S UTC", time.gmtime(os.stat(
                        mountutil.imapfs_bin()).st_mtime)),
                rev, ", modified" if dirty else "")),
            ("Dovecot", cmd_output([dovecot.DOVECOT, "--version"])),
            ("mbsync", cmd_output(["mbsync", "--version"])),
            ("grep", cmd_output(["grep", "--version"]).split("\n")[0]),
            ("python", platform.python_version()),
            ("corpus", "%d messages, %d bytes (%.1f MiB) as files, %d bytes "
             "as RFC822.SIZE; %d with an attachment, %d with '%s'; largest "
             "%d bytes; seed %r" % (
                 c["count"], c["bytes"], c["bytes"] / 2**20,
                 self.server_bytes, c["attachments"],
                 len(c["invoice_msgids"]), NEEDLE, self.size[self.big_uid],
                 self.args.seed)),
            ("ls mailboxes", ", ".join("%s (%d)" % x for x in self.ls_boxes)),
            ("repetitions", "%d (medians shown)" % self.reps),
            ("imapfs options", ", ".join(["cache_dir=<fresh>"] +
                                         self.imapfs_opts)),
            ("load average", "%s before, %s after (other work on the "
             "machine skews the timings)" % (
                 "/".join("%.2f" % x for x in self.load_before),
                 "/".join("%.2f" % x for x in self.load_after))),
            ("command", " ".join(sys.argv)),
            ("run time", "%.0f s" % getattr(self, "t_total", 0)),
        ]

    def markdown(self):
        out = ["# imapfs benchmark run", ""]
        out += ["- **%s**: %s" % kv for kv in self.facts()]
        out += ["", "## Results", "", self.table(), ""]
        out += ["Targets: cold grep <= 1.5x raw stream, warm grep <= 1.3x "
                "local grep, cold ls <= 3x raw metadata FETCH, peak RSS <= "
                "200 MiB, head -c 100 <= 64 KiB from the server. Rates are "
                "corpus bytes (RFC822.SIZE) per second.", ""]
        if self.problems:
            out += ["## Problems", ""] + ["- " + p.replace("\n", "\n  ")
                                         for p in self.problems] + [""]
        if self.notes:
            out += ["## Notes", ""] + ["- " + n for n in self.notes] + [""]
        out += ["## Samples", "", "| Name | Values |", "|---|---|"]
        for k, v in self.samples.items():
            if k in ("peak_rss", "head_bytes") or k.startswith("ls_rss_"):
                vals = ", ".join(fmt_bytes(x) for x in v)
            else:
                vals = ", ".join("%.4f" % x for x in v)
            out.append("| %s | %s |" % (k, vals))
        if self.status_text:
            out += ["", "## `imapfs status` after the first cold grep", "",
                    "```", self.status_text.rstrip(), "```"]
        return "\n".join(out) + "\n"


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


def main():
    ap = argparse.ArgumentParser(
        description="imapfs benchmark (see bench/README.md)")
    ap.add_argument("--count", type=int, default=10000,
                    help="messages in Bench (default 10000)")
    ap.add_argument("--reps", type=int, default=3,
                    help="repetitions of each measurement (default 3)")
    ap.add_argument("--big", action="store_true",
                    help="also the L100k mailbox (100,000 messages)")
    ap.add_argument("--seed", default=gencorpus.DEFAULT_SEED)
    ap.add_argument("--out", default=os.path.join(HERE, "last-run.md"),
                    help="Markdown report (default bench/last-run.md)")
    ap.add_argument("-o", "--imapfs-opt", action="append", default=[],
                    metavar="OPT", help="extra imapfs -o option (repeatable)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("run as root: sudo /usr/bin/python3 bench/run.py", file=sys.stderr)
        return 2
    if args.count < 100 or args.reps < 1:
        print("--count must be >= 100 and --reps >= 1", file=sys.stderr)
        return 2
    for tool in ("mbsync", "grep", "ls", "head", "fusermount3"):
        if not shutil.which(tool):
            print("%s not found" % tool, file=sys.stderr)
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
    table = b.table()
    print()
    print(table)
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

#!/usr/bin/python3
"""imapfs benchmark: `imapfs sync` against mbsync pulling the same folder
(issue 17: getting a mailbox's mail onto the laptop ahead of time).

    sudo /usr/bin/python3 bench/sync.py [--count N] [--reps R] [--delay S]

A Dovecot of its own (tests/integration/dovecot.py) gets a folder of N
messages of the benchmark corpus (bench/gencorpus.py; default 3000, about
100 MiB with its attachments). On loopback and through the delay proxy (S
seconds each way, default 0.04), R times each (medians):

  mbsync       mbsync -c RC bench: a pull of the folder into an empty
               Maildir (bench/run.py's configuration). **Baseline.**
  imapfs sync  `imapfs sync MNT/Bench` on a fresh mount with an empty
               cache (the folder listed and every body fetched into it);
               checked afterwards: a second `imapfs sync` reads the
               folder again with no body fetched (the cache's hits)

Seconds, with the ratio to mbsync in the same run. Exit status 0 when
every run got every message.
"""

import sys
sys.dont_write_bytecode = True  # noqa: E402

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, HERE)

from benchutil import ENV_C, emit  # noqa: E402
import dovecot      # noqa: E402
import gencorpus    # noqa: E402
import mountutil    # noqa: E402
from delayproxy import DelayProxy  # noqa: E402
from run import MBSYNC_CONF  # noqa: E402



def mbsync(d, port, work, count, then=None):
    """mbsync pulls the folder into an empty Maildir: -> (seconds, every
    message there). THEN (may be None) is called with the Maildir's root
    before it is removed (bench/maildir.py indexes it)."""
    m = os.path.join(work, "mbsync")
    shutil.rmtree(m, ignore_errors=True)
    os.makedirs(os.path.join(m, "mail"))
    pw = os.path.join(work, "pw")
    with open(os.open(pw, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(d.password + "\n")
    conf = os.path.join(m, "mbsyncrc")
    with open(conf, "w") as f:
        f.write(MBSYNC_CONF % {"port": port, "user": d.user, "pw": pw, "ca": d.cafile,
                               "mail": os.path.join(m, "mail")})
    t0 = time.monotonic()
    r = subprocess.run(["mbsync", "-c", conf, "bench"], env=ENV_C, capture_output=True)
    dt = time.monotonic() - t0
    box = os.path.join(m, "mail", "Bench")
    got = sum(len(os.listdir(os.path.join(box, s))) for s in ("cur", "new")
              if os.path.isdir(os.path.join(box, s)))
    if then is not None:
        then(os.path.join(m, "mail"))
    shutil.rmtree(m, ignore_errors=True)
    return dt, r.returncode == 0 and got == count


def sync(d, port, work, count, rep):
    cache = os.path.join(work, "cache-%d" % rep)
    m = mountutil.Mount(mountutil.local_url(d.user, port), cafile=d.cafile, password=d.password,
                        opts=["cache_dir=" + cache, "cache_size=4G"])
    m.start()
    try:
        t0 = time.monotonic()
        r = subprocess.run([mountutil.imapfs_bin(), "sync", os.path.join(m.path, "Bench")],
                           env=ENV_C, capture_output=True, text=True)
        dt = time.monotonic() - t0
        ok = r.returncode == 0 and "sync: %d messages" % count in r.stderr
        # again: all from the cache
        r2 = subprocess.run([mountutil.imapfs_bin(), "sync", "-q", os.path.join(m.path, "Bench")],
                            env=ENV_C, capture_output=True, text=True)
        st = subprocess.run([mountutil.imapfs_bin(), "status", m.path], capture_output=True,
                            text=True).stdout
        hit = re.search(r"cache use: (\d+) bodies", st)
        ok = ok and r2.returncode == 0 and hit is not None and int(hit.group(1)) == count
    finally:
        m.stop()
        shutil.rmtree(cache, ignore_errors=True)
    return dt, ok


def corpus_runs(count, reps, delay, measure, prefix):
    """A Dovecot of its own with a folder "Bench" of COUNT corpus messages;
    on loopback and through the delay proxy (DELAY seconds each way),
    MEASURE(d, port, work, rep, res) REPS times: it appends seconds to
    RES's lists (a dict; its first key is the baseline) and returns
    whether the run was right. -> (table rows "| link | what | time |
    ratio | runs |", the corpus's stats, every run right)."""
    d = dovecot.Dovecot("slash")
    d.start()
    work = tempfile.mkdtemp(prefix=prefix)
    good = True
    rows = []
    try:
        corpus = gencorpus.Corpus(count)
        stats = gencorpus.load_dovecot(corpus, d.maildir_home(), "Bench", d.imaps_port, d.cafile, d.user,
                                       d.password)
        for link in ("loopback", "delayed"):
            proxy = DelayProxy(d.imaps_port, delay=delay).start() if link == "delayed" else None
            port = proxy.port if proxy else d.imaps_port
            res = {}
            try:
                for rep in range(reps):
                    good = measure(d, port, work, rep, res) and good
                base = statistics.median(next(iter(res.values())))
                for what, ts in res.items():
                    t = statistics.median(ts)
                    rows.append("| %s | %s | %.2f s | %.2fx | %s |" % (
                        link, what, t, t / base, ", ".join("%.2f" % x for x in ts)))
            finally:
                if proxy:
                    proxy.stop()
    finally:
        d.stop()
        shutil.rmtree(work, ignore_errors=True)
    return rows, stats, good


def report(a, rows, stats, good, baseline):
    """The table under one line on what ran (A: the parsed arguments)."""
    return "\n".join(["%d messages, %.1f MiB; %d runs each, medians; delayed: %.0f ms round trips%s"
                      % (a.count, stats["bytes"] / 1048576.0, a.reps, a.delay * 2000,
                         "" if good else "; SOME RUN WAS WRONG"), "",
                      "| link | what | time | vs %s | runs |" % baseline, "|---|---|---|---|---|"] + rows) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--delay", type=float, default=0.04)
    ap.add_argument("--out", default=os.path.join(HERE, "last-sync.md"))
    a = ap.parse_args()

    def measure(d, port, work, rep, res):
        dt, ok = mbsync(d, port, work, a.count)
        res.setdefault("mbsync", []).append(dt)
        dt, ok2 = sync(d, port, work, a.count, rep)
        res.setdefault("imapfs sync", []).append(dt)
        return ok and ok2

    rows, stats, good = corpus_runs(a.count, a.reps, a.delay, measure, "imapfs-sync-")
    emit(report(a, rows, stats, good, "mbsync"), a.out)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())

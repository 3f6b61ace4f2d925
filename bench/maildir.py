#!/usr/bin/python3
"""imapfs benchmark: notmuch over the Maildir view (-o layout=maildir)
against what people run today, mbsync into a Maildir and notmuch over
that (issue 17: mail clients and indexers on the mount).

    sudo /usr/bin/python3 bench/maildir.py [--count N] [--reps R] [--delay S]

A Dovecot of its own (tests/integration/dovecot.py) gets a folder of N
messages of the benchmark corpus (bench/gencorpus.py; default 3000). On
loopback and through the delay proxy (S seconds each way, default 0.04),
R times each (medians), the time until `notmuch search` can answer:

  mbsync + notmuch new   mbsync pulls the folder into an empty Maildir,
                         then `notmuch new` indexes it. **Baseline.**
  imapfs + notmuch new   a fresh mount (-o layout=maildir, empty cache)
                         and `notmuch new` with database.mail_root on it:
                         every body read through the mount
  notmuch new again      on that mount, nothing new: what every later
                         `notmuch new` costs (directory times only)

Each index is checked: `notmuch count '*'` is N. Exit status 0 when
every run was right.
"""

import sys
sys.dont_write_bytecode = True  # noqa: E402

import argparse
import os
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
from sync import mbsync  # noqa: E402


def notmuch(work, root):
    """`notmuch new` with a fresh database out of ROOT: -> (seconds, the
    count it indexed, a function that runs `notmuch new` again and
    returns its seconds)."""
    db = os.path.join(work, "nm-%d" % time.monotonic_ns())
    os.makedirs(os.path.join(db, "db"))
    cfg = os.path.join(db, "config")
    with open(cfg, "w") as f:
        f.write("[database]\npath=%s/db\nmail_root=%s\n[user]\nname=B\nprimary_email=b@example.org\n"
                "[new]\ntags=inbox;\n[maildir]\nsynchronize_flags=true\n" % (db, root))
    env = dict(ENV_C, NOTMUCH_CONFIG=cfg)

    def new():
        t0 = time.monotonic()
        subprocess.run(["notmuch", "new", "--quiet"], env=env, check=True, capture_output=True)
        return time.monotonic() - t0

    dt = new()
    n = int(subprocess.run(["notmuch", "count", "*"], env=env, capture_output=True, text=True).stdout)
    return dt, n, new


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--delay", type=float, default=0.04)
    ap.add_argument("--out", default=os.path.join(HERE, "last-maildir.md"))
    a = ap.parse_args()
    d = dovecot.Dovecot("slash")
    d.start()
    work = tempfile.mkdtemp(prefix="imapfs-maildir-")
    good = True
    rows = []
    try:
        corpus = gencorpus.Corpus(a.count)
        stats = gencorpus.load_dovecot(corpus, d.maildir_home(), "Bench", d.imaps_port, d.cafile, d.user,
                                       d.password)
        for link in ("loopback", "delayed"):
            delay = DelayProxy(d.imaps_port, delay=a.delay).start() if link == "delayed" else None
            port = delay.port if delay else d.imaps_port
            res = {"mbsync + notmuch new": [], "imapfs + notmuch new": [], "notmuch new again": []}
            try:
                for rep in range(a.reps):
                    indexed = []
                    dt, ok = mbsync(d, port, work, a.count,
                                    then=lambda root: indexed.append(notmuch(work, root)))
                    res["mbsync + notmuch new"].append(dt + indexed[0][0])
                    good = good and ok and indexed[0][1] == a.count
                    cache = os.path.join(work, "cache-%d" % rep)
                    m = mountutil.Mount(mountutil.local_url(d.user, port), cafile=d.cafile,
                                        password=d.password,
                                        opts=["layout=maildir", "cache_dir=" + cache, "cache_size=4G"])
                    t0 = time.monotonic()
                    m.start()
                    try:
                        dt, n, again = notmuch(work, m.path)
                        res["imapfs + notmuch new"].append(time.monotonic() - t0)
                        good = good and n == a.count
                        res["notmuch new again"].append(again())
                    finally:
                        m.stop()
                        shutil.rmtree(cache, ignore_errors=True)
                base = statistics.median(res["mbsync + notmuch new"])
                for what, ts in res.items():
                    t = statistics.median(ts)
                    rows.append("| %s | %s | %.2f s | %.2fx | %s |" % (
                        link, what, t, t / base, ", ".join("%.2f" % x for x in ts)))
            finally:
                if delay:
                    delay.stop()
    finally:
        d.stop()
        shutil.rmtree(work, ignore_errors=True)
    text = "\n".join(["%d messages, %.1f MiB; %d runs each, medians; delayed: %.0f ms round trips%s"
                      % (a.count, stats["bytes"] / 1048576.0, a.reps, a.delay * 2000,
                         "" if good else "; SOME RUN WAS WRONG"), "",
                      "| link | what | time | vs mbsync + notmuch | runs |", "|---|---|---|---|---|"] + rows) + "\n"
    emit(text, a.out)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())

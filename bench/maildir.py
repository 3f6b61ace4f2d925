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
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, HERE)

from benchutil import ENV_C, emit  # noqa: E402
import mountutil    # noqa: E402
from sync import corpus_runs, mbsync, report  # noqa: E402


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

    def measure(d, port, work, rep, res):
        indexed = []
        dt, ok = mbsync(d, port, work, a.count, then=lambda root: indexed.append(notmuch(work, root)))
        res.setdefault("mbsync + notmuch new", []).append(dt + indexed[0][0])
        ok = ok and indexed[0][1] == a.count
        cache = os.path.join(work, "cache-%d" % rep)
        m = mountutil.Mount(mountutil.local_url(d.user, port), cafile=d.cafile, password=d.password,
                            opts=["layout=maildir", "cache_dir=" + cache, "cache_size=4G"])
        t0 = time.monotonic()
        m.start()
        try:
            dt, n, again = notmuch(work, m.path)
            res.setdefault("imapfs + notmuch new", []).append(time.monotonic() - t0)
            res.setdefault("notmuch new again", []).append(again())
        finally:
            m.stop()
            shutil.rmtree(cache, ignore_errors=True)
        return ok and n == a.count

    rows, stats, good = corpus_runs(a.count, a.reps, a.delay, measure, "imapfs-maildir-")
    emit(report(a, rows, stats, good, "mbsync + notmuch"), a.out)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""imapfs benchmark: `ls -l` of a large folder on a fresh mount with an
empty cache (the folder listed from nothing) against a remount whose
cache holds the folder's kept listing (issue 17).

    sudo /usr/bin/python3 bench/remount.py [--count N] [--reps R] [--delay S]

A Dovecot of its own (tests/integration/dovecot.py) gets a folder of N
small messages (default 100,000, written as Maildir files by
bench/gencorpus.py: no attachments), indexed once. Then, on loopback and
through the delay proxy (S seconds each way, default 0.04), R times each
(medians):

  raw         one TLS connection: SELECT and UID FETCH 1:* (UID
              RFC822.SIZE INTERNALDATE FLAGS MODSEQ), what listing the
              folder costs on the wire (bench/rawimap.py; the baseline)
  cold ls -l  a fresh mount with an empty cache: `ls -l MNT/Big`
  warm ls -l  after unmounting that, a remount on the same cache (the
              listing kept), with 10 messages re-flagged, 5 expunged and
              5 added by another client meanwhile: `ls -l MNT/Big`;
              checked to show exactly the folder's messages now

Seconds and flights (delayed rows), with ratios to raw. Exit status 0
when every listing was right.
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
import imaputil     # noqa: E402
import mountutil    # noqa: E402
from delayproxy import DelayProxy  # noqa: E402
from rawimap import raw_fetch  # noqa: E402



def ls_l(m):
    t0 = time.monotonic()
    r = subprocess.run(["ls", "-l", os.path.join(m.path, "Big")], env=ENV_C,
                       stdout=subprocess.PIPE, check=True)
    dt = time.monotonic() - t0
    names = {line.split()[-1] for line in r.stdout.decode().splitlines()[1:]}
    return dt, names


def change(d, c, k):
    """Another client: 10 re-flagged, 5 expunged, 5 added (round K)."""
    imaputil.check(c.select('"Big"'), "SELECT")
    uids = imaputil.uids(c, "Big")
    imaputil.check(c.select('"Big"'), "SELECT")
    c.uid("STORE", ",".join(str(u) for u in uids[100:110]), "+FLAGS", "($Round%d)" % k)
    gone = ",".join(str(u) for u in uids[200 + k * 5:205 + k * 5])
    c.uid("STORE", gone, "+FLAGS", "(\\Deleted)")
    c.uid("EXPUNGE", gone)
    for i in range(5):
        imaputil.append_uid(c, "Big", b"From: x@y\r\nSubject: new %d %d\r\n\r\nnew\r\n" % (k, i))


def want(c):
    return {"%d.eml" % u for u in imaputil.uids(c, "Big")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--delay", type=float, default=0.04)
    ap.add_argument("--out", default=os.path.join(HERE, "last-remount.md"))
    a = ap.parse_args()
    d = dovecot.Dovecot("slash")
    d.start()
    good = True
    rows = []
    work = tempfile.mkdtemp(prefix="imapfs-remount-")
    try:
        corpus = gencorpus.Corpus(a.count, attach_rate=0, invoice_rate=0, tag="remount")
        gencorpus.load_dovecot(corpus, d.maildir_home(), "Big", d.imaps_port, d.cafile, d.user,
                               d.password)
        c = imaputil.connect(d)
        k = 0
        for link in ("loopback", "delayed"):
            delay = DelayProxy(d.imaps_port, delay=a.delay).start() if link == "delayed" else None
            port = delay.port if delay else d.imaps_port
            try:
                res = {"raw": [], "cold ls -l": [], "warm ls -l": []}
                fl = {"raw": [], "cold ls -l": [], "warm ls -l": []}
                for rep in range(a.reps):
                    dt, _, sel = raw_fetch(d, "Big", "(UID RFC822.SIZE INTERNALDATE FLAGS MODSEQ)",
                                           port=port)
                    res["raw"].append(dt + sel)
                    fl["raw"].append(2 if delay else 0)     # SELECT, FETCH
                    cache = os.path.join(work, "cache-%s-%d" % (link, rep))
                    for what in ("cold ls -l", "warm ls -l"):
                        if what == "warm ls -l":
                            k += 1
                            change(d, c, k)
                        m = mountutil.Mount(mountutil.local_url(d.user, port), cafile=d.cafile,
                                            password=d.password, opts=["cache_dir=" + cache])
                        m.start()
                        try:
                            if delay:
                                delay.settle(timeout=30)
                            snap = delay.mark() if delay else None
                            dt, names = ls_l(m)
                            res[what].append(dt)
                            fl[what].append(sum(delay.op_flights(snap).values()) if delay else 0)
                            if names != want(c):
                                good = False
                                print("%s %s: the listing differs from the server's" % (link, what))
                        finally:
                            m.stop()
                base = statistics.median(res["raw"])
                for what in ("raw", "cold ls -l", "warm ls -l"):
                    t = statistics.median(res[what])
                    rows.append("| %s | %s | %.3f s | %.2fx | %s |" % (
                        link, what, t, t / base,
                        "%d" % statistics.median(fl[what]) if delay else "-"))
            finally:
                if delay:
                    delay.stop()
        c.logout()
    finally:
        d.stop()
        shutil.rmtree(work, ignore_errors=True)
    text = "\n".join(["%d messages in one folder; %d runs each, medians; delayed: %.0f ms round trips"
                      % (a.count, a.reps, a.delay * 2000), "",
                      "| link | what | time | vs raw | flights |", "|---|---|---|---|---|"] + rows) + "\n"
    emit(text, a.out)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""imapfs benchmark: the parts view (issue 16) against reading the whole
message, on loopback and over a delayed link.

    sudo /usr/bin/python3 bench/parts.py [--reps R] [--delay S] [--out FILE]

A Dovecot of its own (tests/integration/dovecot.py) holds one message of
about 7 MiB: a short text, a 5 MiB PDF and a 512 KiB ZIP, base64 as mail
programs write them. imapfs reaches it through a byte-counting proxy
(tests/integration/proxy.py: bytes server -> client, TLS included) and,
for the delayed rows, the delay proxy (tests/integration/delayproxy.py,
S seconds each way, default 0.04: 80 ms round trips, flights counted).
Each measurement is a fresh mount with an empty cache, after the folder
has been listed; medians of R (default 3) runs:

  whole       cp MNT/Box/UID.eml (the baseline: what a user without the
              parts view fetches to get at the PDF)
  cp part     cp MNT/Box/.parts/UID/report.pdf
  ls -l       ls -l MNT/Box/.parts/UID/ (structure, header and every
              part's exact size)
  head part   head -c 100 of the PDF

Seconds, bytes from the server and flights, with the ratio to the
baseline measured in the same run. Exit status 0 when every copy was
byte-exact, 1 otherwise.
"""

import sys
sys.dont_write_bytecode = True  # noqa: E402

import argparse
import base64
import os
import random
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, HERE)

from benchutil import ENV_C, emit  # noqa: E402
import dovecot      # noqa: E402
import imaputil     # noqa: E402
import mountutil    # noqa: E402
from delayproxy import DelayProxy  # noqa: E402
from proxy import Proxy  # noqa: E402



def _b64(data):
    enc = base64.b64encode(data)
    return b"\r\n".join(enc[i:i + 76] for i in range(0, len(enc), 76))


def message():
    r = random.Random(16)
    pdf = b"%PDF-1.4\n" + r.randbytes(5 * 1024 * 1024 - 9)
    zipb = b"PK\x03\x04" + r.randbytes(512 * 1024 - 4)
    b = "==bench=="
    parts = [b"From: Alice <alice@example.org>", b"To: bob@example.org",
             b"Subject: the report", b"MIME-Version: 1.0",
             ('Content-Type: multipart/mixed; boundary="%s"' % b).encode(), b"",
             b"--" + b.encode(), b"Content-Type: text/plain; charset=utf-8", b"",
             b"The report and the data are attached.", b"",
             b"--" + b.encode(), b"Content-Type: application/pdf",
             b"Content-Transfer-Encoding: base64",
             b'Content-Disposition: attachment; filename="report.pdf"', b"",
             _b64(pdf), b"",
             b"--" + b.encode(), b"Content-Type: application/zip",
             b"Content-Transfer-Encoding: base64",
             b'Content-Disposition: attachment; filename="data.zip"', b"",
             _b64(zipb), b"",
             b"--" + b.encode() + b"--", b""]
    return b"\r\n".join(parts), pdf


def once(d, port, uid, what, pdf, delay, counter):
    work = None
    m = mountutil.Mount(mountutil.local_url(d.user, port), cafile=d.cafile,
                        password=d.password)
    m.start()
    try:
        work = m.workdir
        box = os.path.join(m.path, "Box")
        os.listdir(box)
        parts = os.path.join(box, ".parts", str(uid))
        if delay is not None:
            delay.settle(timeout=30)
        snap = delay.mark() if delay is not None else None
        counter.reset()
        out = os.path.join(work, "out")
        t0 = time.monotonic()
        if what == "whole":
            subprocess.run(["cp", os.path.join(box, "%d.eml" % uid), out], check=True, env=ENV_C)
        elif what == "cp part":
            subprocess.run(["cp", os.path.join(parts, "report.pdf"), out], check=True, env=ENV_C)
        elif what == "ls -l":
            subprocess.run(["ls", "-l", parts], check=True, env=ENV_C, stdout=subprocess.DEVNULL)
        else:
            r = subprocess.run("head -c 100 %s/report.pdf" % parts, shell=True, check=True,
                               env=ENV_C, stdout=subprocess.PIPE)
            open(out, "wb").write(r.stdout)
        dt = time.monotonic() - t0
        down = counter.counts()[0]
        flights = sum(delay.op_flights(snap).values()) if delay is not None else None
        ok = True
        if what == "cp part":
            ok = open(out, "rb").read() == pdf
        elif what == "head part":
            ok = open(out, "rb").read() == pdf[:100]
        return dt, down, flights, ok
    finally:
        m.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--delay", type=float, default=0.04)
    ap.add_argument("--out", default=os.path.join(HERE, "last-parts.md"))
    a = ap.parse_args()
    body, pdf = message()
    d = dovecot.Dovecot("slash")
    d.start()
    good = True
    rows = []
    try:
        c = imaputil.connect(d)
        imaputil.create(c, "Box")
        uid = imaputil.append_uid(c, "Box", body)
        c.logout()
        for link in ("loopback", "delayed"):
            delay = DelayProxy(d.imaps_port, delay=a.delay).start() if link == "delayed" else None
            counter = Proxy(delay.port if delay else d.imaps_port).start()
            try:
                res = {}
                for what in ("whole", "cp part", "ls -l", "head part"):
                    runs = [once(d, counter.port, uid, what, pdf, delay, counter) for _ in range(a.reps)]
                    good = good and all(r[3] for r in runs)
                    res[what] = (statistics.median(r[0] for r in runs),
                                 statistics.median(r[1] for r in runs),
                                 statistics.median(r[2] for r in runs) if delay else None)
                base = res["whole"]
                for what, (dt, down, fl) in res.items():
                    rows.append("| %s | %s | %.2f s | %.2fx | %d | %.3fx | %s |" % (
                        link, what, dt, dt / base[0], down, down / base[1],
                        "-" if fl is None else "%d" % fl))
            finally:
                counter.stop()
                if delay:
                    delay.stop()
    finally:
        d.stop()
    table = ["message: %d bytes, report.pdf %d bytes (base64 in the message: %d); "
             "%d runs each, medians; delayed: %.0f ms round trips" % (
                 len(body), len(pdf), len(_b64(pdf)), a.reps, a.delay * 2000),
             "", "| link | what | time | vs whole | bytes from server | vs whole | flights |",
             "|---|---|---|---|---|---|---|"] + rows
    text = "\n".join(table) + "\n"
    emit(text, a.out)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())

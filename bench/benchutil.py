"""Small helpers every part of the imapfs benchmark uses (bench/run.py and
the rows it gets from delayed.py, fileops.py, floor.py; manymbox.py):
logging to stderr, running a command under a clock, a process's peak
memory, and the formats of the report. Nothing here knows about a run's
state; that is run.py's Bench.
"""

import os
import statistics
import subprocess
import sys
import time

NEEDLE = "invoice"
CMD_TIMEOUT = 3600          # seconds for any one measured command
ENV_C = dict(os.environ, LC_ALL="C")
ENV_C.pop("IMAPFS_PASSWORD", None)


def say(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr,
          flush=True)


def timed(argv, **kw):
    """Run ARGV (LC_ALL=C); -> (seconds, CompletedProcess)."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("env", ENV_C)
    t0 = time.monotonic()
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, timeout=CMD_TIMEOUT,
                       **kw)
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


def ratio(a, b):
    """A / B, or None when either is missing (or B is 0)."""
    return a / b if a is not None and b else None


def cmd_output(argv):
    try:
        r = subprocess.run(argv, capture_output=True, timeout=30, env=ENV_C)
        return (r.stdout or r.stderr).decode("utf-8", "replace").strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return "(%s)" % e


TARGET_RSS = 200 * 2**20    # peak RSS of every imapfs mount, bytes


class Section:
    """One table of the report: a title, rows of (measurement, median,
    rate or per-item figure, baseline, ratio, target, result) as strings,
    and notes printed under it."""

    def __init__(self, title):
        self.title = title
        self.rows = []
        self.notes = []

    def row(self, name, value, extra="", base="—", ratio_s="—", target="—",
            ok=None):
        self.rows.append((name, value, extra, base, ratio_s, target,
                          "—" if ok is None else ("ok" if ok else "MISSED")))

    def target_row(self, name, secs, extra, base_name, base_secs, target):
        """A row of SECS against BASE_SECS, TARGET a ratio (None: none)."""
        r = ratio(secs, base_secs)
        self.row(name, fmt_secs(secs), extra if secs else "—", base_name,
                 "—" if r is None else "%.2fx" % r,
                 "<= %gx" % target if target else "—",
                 None if (r is None or not target) else r <= target)

    def rss_row(self, name, rss):
        self.row(name, fmt_bytes(rss), target="<= 200 MiB",
                 ok=rss <= TARGET_RSS)


def rate(nbytes):
    """-> function seconds -> "N MiB/s" for NBYTES in that time."""
    return lambda s: "%.0f MiB/s" % (nbytes / 2**20 / s) if s else "—"


def emit(text, path):
    """A standalone benchmark's report (bench/parts.py, remount.py,
    sync.py): printed, and written to PATH as Markdown."""
    print(text)
    with open(path, "w") as f:
        f.write(text)

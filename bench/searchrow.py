"""The server-side search rows of the benchmark (bench/run.py; issue 16):
`imapfs search MNT/Bench text:invoice` on a fresh mount with an empty
cache, against cold `grep -rl invoice` over the same mailbox in the same
run, on loopback and over the delayed link (delayed.py's proxy, with its
count of flights):

  search      imapfs search, loopback; baseline cold_grep
  d_search    the same over the link; baseline d_cold_grep

The server's TEXT search is case-insensitive and reads decoded MIME
parts, grep -l matches bytes: the messages each finds are compared, and a
difference is reported as a note with its count (the corpus's needle is
lower-case "invoice" in plain text parts, so both should agree), not as
a failed check.
"""

import os
import shutil
import subprocess

from benchutil import NEEDLE, Section, fmt_secs, median, say, timed

QUERY = "text:" + NEEDLE


def _once(b, key, url=None, proxy=None):
    cache = b.fresh_cache(key)
    m = b.mount(cache, url=url)
    try:
        d = os.path.join(m.path, "Bench")
        if not os.path.isdir(d):
            raise RuntimeError("no Bench in the mount")
        if proxy:
            proxy.settle(timeout=30)
        snap = proxy.mark() if proxy else None
        dt, r = timed([b.imapfs_bin, "search", d, QUERY],
                      stdout=subprocess.PIPE)
        if r.returncode != 0:
            b.problem("%s: imapfs search exited %d: %s" % (
                key, r.returncode, r.stderr.decode("utf-8", "replace")[:2000]))
        got = {b.mount_msgid(p) for p in r.stdout.decode().splitlines()}
        want = b.corpus["invoice_msgids"]
        if got != want:
            b.search_notes.append(
                "%s: the server's TEXT search found %d messages, grep's needle "
                "is in %d (%d only in the search, %d only in grep)"
                % (key, len(got), len(want), len(got - want), len(want - got)))
        b.add(key, dt)
        extra = ""
        if proxy:
            proxy.settle(timeout=30)
            fl = proxy.total_flights(snap)
            b.add(key + "_flights", fl)
            extra = ", %d flights" % fl
        say("  imapfs search %.3fs, %d matches%s" % (dt, len(got), extra))
    finally:
        b.unmount(m, key)
    shutil.rmtree(cache, ignore_errors=True)


def measure(b, url=None, proxy=None):
    """The loopback row (no URL), or the link's (URL and PROXY)."""
    key = "d_search" if proxy else "search"
    for _ in b.repeat(key, "imapfs search %s%s" % (
            QUERY, " over the link" if proxy else "")):
        _once(b, key, url, proxy)


def rows(b, med, s, link):
    """The row of loopback (LINK False) or the link into section S."""
    key, base = ("d_search", "d_cold_grep") if link else ("search", "cold_grep")
    v = med.get(key)
    if v is None:
        return
    f = med.get(key + "_flights")
    s.target_row("imapfs search %s (fresh mount)%s" % (
        QUERY, " over the link" if link else ""), v,
        "" if f is None else "%.0f flights" % f,
        "cold grep" + (" (link)" if link else ""), med.get(base), None)
    for n in b.search_notes:
        if n.startswith(key + ":") and n not in s.notes:
            s.notes.append(n)

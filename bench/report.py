"""The report of a benchmark run (bench/run.py): the tables, for the
terminal and as Markdown with the machine facts, every sample and the
`imapfs status` of the first mount of each cold search.

One Section per part: the loopback rows and the FUSE floor (here), the
delayed link (delayed.py), the file operations (fileops.py). Each value
is the median of its samples; each ratio is against a baseline of the
same run.
"""

import datetime
import os
import platform
import sys
import time

import dovecot
import mountutil
from benchutil import (NEEDLE, Section, cmd_output, fmt_bytes, fmt_secs,
                       median, rate, ratio)
import delayed
import searchrow
import fileops

TARGET_COLD_GREP = 1.5      # x raw stream
TARGET_COLD_RG = 1.2        # x cold grep
TARGET_WARM_GREP = 2.5      # x local grep
TARGET_HOT_GREP = 1.3       # x local grep
TARGET_COLD_LS = 3.0        # x raw metadata FETCH
TARGET_HEAD = 64 * 1024     # bytes from the server

TARGETS = ("Targets: cold grep <= 1.5x raw stream (loopback and over the "
           "link), cold rg <= 1.2x cold grep, warm grep <= 2.5x and hot "
           "grep <= 1.3x local grep, cold ls <= 3x raw metadata FETCH "
           "(loopback) and <= raw metadata FETCH + 2 round trips (link), "
           "file operations <= 1.25 round trips per file, peak RSS <= 200 "
           "MiB, head -c 100 <= 64 KiB from the server. Rates are corpus "
           "bytes (RFC822.SIZE) per second.")


def loopback(b, med):
    s = Section("Loopback")
    mibs = rate(b.server_bytes)
    rs = med.get("raw_stream")
    s.row("raw stream FETCH BODY.PEEK[] (Bench)", fmt_secs(rs), mibs(rs),
          target="baseline")
    mb = med.get("mbsync")
    if mb is not None:
        s.target_row("mbsync pull of Bench", mb, mibs(mb), "raw stream", rs,
                     None)
    lg = med.get("local_grep")
    s.row("grep -rl on local Maildir (warm)", fmt_secs(lg), mibs(lg),
          target="baseline")
    lr = med.get("local_rg")
    if lr is not None:
        s.target_row("rg -l on local Maildir (warm)", lr, mibs(lr),
                     "local grep", lg, None)
    fw, fh = med.get("floor_warm"), med.get("floor_hot")
    if fw is not None:
        s.target_row("FUSE floor: passthrough_ll grep (fresh mount)", fw,
                     mibs(fw), "local grep", lg, None)
        s.target_row("FUSE floor: passthrough_ll grep (again)", fh,
                     mibs(fh), "local grep", lg, None)
    cg = med.get("cold_grep")
    s.target_row("imapfs cold grep (empty cache)", cg, mibs(cg),
                 "raw stream", rs, TARGET_COLD_GREP)
    cr = med.get("cold_rg")
    if cr is not None:
        s.target_row("imapfs cold rg -l (empty cache)", cr, mibs(cr),
                     "cold grep", cg, TARGET_COLD_RG)
    searchrow.rows(b, med, s, False)
    wg, hg = med.get("warm_grep"), med.get("hot_grep")
    s.target_row("imapfs warm grep (remount, disk cache)", wg, mibs(wg),
                 "local grep", lg, TARGET_WARM_GREP)
    s.target_row("imapfs hot grep (same mount)", hg, mibs(hg), "local grep",
                 lg, TARGET_HOT_GREP)
    if fw is not None:
        s.target_row("imapfs warm grep vs FUSE floor", wg, "",
                     "passthrough_ll fresh", fw, None)
        s.target_row("imapfs hot grep vs FUSE floor", hg, "",
                     "passthrough_ll again", fh, None)
    if mb is not None:
        s.target_row("imapfs cold grep vs mbsync", cg, "", "mbsync", mb, None)
    for name, cnt in b.ls_boxes:
        rm = med.get("raw_meta_" + name)
        s.row("raw metadata FETCH %s" % name, fmt_secs(rm),
              "%.1f µs/msg" % (rm / cnt * 1e6) if rm else "—",
              target="baseline")
        ls = med.get("cold_ls_" + name)
        if ls is not None:
            s.target_row("imapfs cold ls -l %s" % name, ls,
                         "%.1f µs/msg" % (ls / cnt * 1e6),
                         "raw metadata %s" % name, rm, TARGET_COLD_LS)
    for key, what in [("cold_grep_rss", "during cold grep"),
                      ("cold_rg_rss", "during cold rg")] + [
                          ("ls_rss_" + name, "listing " + name)
                          for name, _ in b.ls_boxes]:
        rss = med.get(key)
        if rss:
            s.rss_row("imapfs peak RSS %s" % what, rss)
    hb = med.get("head_bytes")
    if hb is not None:
        size = b.size[b.big_uid]
        s.row("head -c 100 of largest (%s): bytes from server"
              % fmt_bytes(size), fmt_bytes(hb),
              fmt_secs(med.get("head_secs")), "message size",
              "%.2fx" % ratio(hb, size), "<= 64 KiB", hb <= TARGET_HEAD)
    return s


def sections(b):
    med = {k: median(v) for k, v in b.samples.items()}
    out = [loopback(b, med)]
    if any(k.startswith("d_") for k in med):
        out.append(delayed.section(b, med))
    if any(k.startswith("ops_") for k in med):
        out.append(fileops.section(b, med))
    return out


def table(sec):
    head = ("Measurement", "Median", "Rate / per msg", "Baseline",
            "Ratio", "Target", "Result")
    rows = [head] + sec.rows
    w = [max(len(r[i]) for r in rows) for i in range(len(head))]
    out = []
    for k, r in enumerate(rows):
        out.append("| " + " | ".join(c.ljust(w[i]) for i, c in
                                     enumerate(r)) + " |")
        if k == 0:
            out.append("|" + "|".join("-" * (x + 2) for x in w) + "|")
    return "\n".join(out)


def text(b):
    """The tables for the terminal."""
    out = []
    for sec in sections(b):
        out += ["## " + sec.title, "", table(sec), ""]
        out += sec.notes + ([""] if sec.notes else [])
    return "\n".join(out).rstrip()


def facts(b):
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
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rev = cmd_output(["git", "-C", repo, "rev-parse", "--short", "HEAD"])
    dirty = cmd_output(["git", "-C", repo, "status", "--porcelain",
                        "--untracked-files=no"])
    c = b.corpus
    return [
        ("date", datetime.datetime.now(datetime.timezone.utc)
         .strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("host", "nproc %d, %s, %s RAM" % (os.cpu_count() or 0, model, mem)),
        ("kernel", platform.release()),
        ("imapfs", "%s built %s (tree at git %s%s)" % (
            mountutil.imapfs_bin(), time.strftime(
                "%Y-%m-%d %H:%M:%S UTC", time.gmtime(os.stat(
                    mountutil.imapfs_bin()).st_mtime)),
            rev, ", modified" if dirty else "")),
        ("Dovecot", cmd_output([dovecot.DOVECOT, "--version"])),
        ("tools", "; ".join(cmd_output(argv).split("\n")[0] for argv in (
            ["mbsync", "--version"], ["grep", "--version"],
            ["rg", "--version"]))),
        ("libfuse", cmd_output(["pkg-config", "--modversion", "fuse3"])),
        ("python", platform.python_version()),
        ("corpus", "%d messages, %d bytes (%.1f MiB) as files, %d bytes "
         "as RFC822.SIZE; %d with an attachment, %d with '%s'; largest "
         "%d bytes; seed %r" % (
             c["count"], c["bytes"], c["bytes"] / 2**20, b.server_bytes,
             c["attachments"], len(c["invoice_msgids"]), NEEDLE,
             b.size[b.big_uid], b.args.seed)),
        ("ls mailboxes", ", ".join("%s (%d)" % x for x in b.ls_boxes)),
        ("delayed link", "%g ms round trip (%g ms each way)" % (
            b.args.rtt, b.args.rtt / 2)),
        ("repetitions", "%d (medians shown); rows slower than %g s "
         "measured once" % (b.reps, b.args.slow)),
        ("skipped", ", ".join(b.args.skip) or "nothing"),
        ("imapfs options", ", ".join(["cache_dir=<fresh>"] + b.imapfs_opts)),
        ("load average", "%s before, %s after (other work on the machine "
         "skews the timings)" % (
             "/".join("%.2f" % x for x in b.load_before),
             "/".join("%.2f" % x for x in b.load_after))),
        ("command", " ".join(sys.argv)),
        ("run time", "%.0f s" % getattr(b, "t_total", 0)),
    ]


def sample_text(k, v):
    if k.endswith("_rss") or k.startswith("ls_rss_") or k == "head_bytes":
        return ", ".join(fmt_bytes(x) for x in v)
    if k.endswith("_flights") or k.endswith("_conns"):
        return ", ".join("%d" % x for x in v)
    return ", ".join("%.4f" % x for x in v)


def markdown(b):
    out = ["# imapfs benchmark run", ""]
    out += ["- **%s**: %s" % kv for kv in facts(b)]
    out += [""]
    for sec in sections(b):
        out += ["## " + sec.title, "", table(sec), ""]
        out += sec.notes + ([""] if sec.notes else [])
    out += [TARGETS, ""]
    if b.problems:
        out += ["## Problems", ""] + ["- " + p.replace("\n", "\n  ")
                                     for p in b.problems] + [""]
    if b.notes:
        out += ["## Notes", ""] + ["- " + n for n in b.notes] + [""]
    out += ["## Samples", "", "| Name | Values |", "|---|---|"]
    for k, v in b.samples.items():
        out.append("| %s | %s |" % (k, sample_text(k, v)))
    for label, st in b.status.items():
        out += ["", "## `imapfs status` after the first %s" % label, "",
                "```", st.rstrip(), "```"]
    return "\n".join(out) + "\n"

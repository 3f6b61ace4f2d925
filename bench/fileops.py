"""File operations over the delayed link (bench/run.py, delayed.py's
proxy): what a user's shell loop costs when the server is --rtt away.

Each repetition fills five fresh mailboxes straight on the server (not
through the proxy): OpsRm, OpsMv and OpsFlag with --ops small messages
each, OpsMvDest and OpsCp empty; and writes --ops small message files
into a local directory. It then mounts through the proxy (empty cache),
lists the five folders (`ls -l`, untimed: the steady state of a user who
has looked at them) and waits until the link is quiet. Then, one after
another, each a plain sequential loop in one bash process, one command
per file:

  rm        rm -- OpsRm/UID.eml
  mv        mv -- OpsMv/UID.eml OpsMvDest/
  setfattr  setfattr -n user.imap.flags -v '+\\Flagged' -- OpsFlag/UID.eml
  cp        cp -- LOCAL/ops-N.eml OpsCp/

timed around the loop (samples ops_KEY), and the client's flights on all
connections from the loop's start until the link is quiet again
(ops_KEY_flights: the operations' own and any background work they
cause). Round trips per file = seconds / files / RTT; target <= 1.25.
After unmounting, the server is checked with imaplib: OpsRm and OpsMv
empty, OpsMvDest holding exactly the moved messages, every message of
OpsFlag \\Flagged, OpsCp holding exactly the copied files' bytes.
"""

import os
import shutil

import imaputil
from benchutil import ENV_C, Section, fmt_secs, ratio, say, timed, vm_hwm
import delayed

TARGET_RT = 1.25        # round trips per file operation
BOXES = ("OpsRm", "OpsMv", "OpsMvDest", "OpsFlag", "OpsCp")
LOOP = 'for f in "$@"; do %s || exit 1; done'
# key, label, command for "$f" ($DEST: a folder), mailbox of the files
# ("" for the local files of cp), $DEST's mailbox
OPS = (("rm", "rm", 'rm -- "$f"', "OpsRm", None),
       ("mv", "mv to another folder", 'mv -- "$f" "$DEST"/', "OpsMv",
        "OpsMvDest"),
       ("setfattr", "setfattr +\\Flagged",
        "setfattr -n user.imap.flags -v '+\\Flagged' -- \"$f\"", "OpsFlag",
        None),
       ("cp", "cp of a small message into a folder", 'cp -- "$f" "$DEST"/',
        "", "OpsCp"))


def message(rep, box, i):
    """A small message (about 400 bytes plus I, CRLF), unique by
    Message-ID and by size: a new file of the size of a message in the
    mailbox is compared with it before it is appended (imapfs.1, New
    messages), and the cp row measures the APPEND, not that check."""
    return ("From: Bench Sender <sender@bench.invalid>\r\n"
            "To: Bench Reader <reader@bench.invalid>\r\n"
            "Subject: file operation %s %03d.%06d\r\n"
            "Date: Mon, 30 Nov 2026 12:00:%02d +0000\r\n"
            "Message-ID: <ops-%s-%03d-%06d@bench.invalid>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
            "A message of the file-operation rows of the imapfs benchmark."
            "\r\n%s\r\n"
            % (box, rep, i, i % 60, box.lower(), rep, i, "." * i)).encode()


def fill(b, rep):
    """Fresh Ops mailboxes and local files; -> {mailbox: set of bodies}
    (OpsCp: the local files' bodies) and the local files' paths."""
    n = b.args.ops
    want = {}
    c = imaputil.connect(b.server)
    try:
        for box in BOXES:
            c.delete(imaputil.quote(box))   # NO when absent: fine
            imaputil.check(c.create(imaputil.quote(box)), "CREATE " + box)
        for box in ("OpsRm", "OpsMv", "OpsFlag"):
            want[box] = set()
            for i in range(n):
                body = message(rep, box, i)
                imaputil.check(imaputil.append(c, box, [], None, body),
                               "APPEND " + box)
                want[box].add(body)
    finally:
        c.logout()
    d = os.path.join(b.tmp, "ops-cp")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    files = []
    want["OpsCp"] = set()
    for i in range(n):
        body = message(rep, "OpsCp", i)
        files.append(os.path.join(d, "ops-%d.eml" % i))
        with open(files[-1], "wb") as f:
            f.write(body)
        want["OpsCp"].add(body)
    return want, files


def server_state(b):
    """-> {mailbox: [(flags, body)]} of every Ops mailbox, from the server."""
    out = {}
    c = imaputil.connect(b.server)
    try:
        for box in BOXES:
            typ, dat = c.select(imaputil.quote(box), readonly=True)
            imaputil.check((typ, dat), "EXAMINE " + box)
            out[box] = []
            if int(dat[0]):
                typ, dat = c.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
                imaputil.check((typ, dat), "FETCH " + box)
                for d in imaputil.fetch_items(dat):
                    out[box].append(([str(f) for f in d.get("FLAGS", [])],
                                     d.get("BODY[]") or b""))
    finally:
        c.logout()
    return out


def check(b, want, rep):
    got = server_state(b)
    bodies = {box: {body for _, body in got[box]} for box in BOXES}
    expect = {"OpsRm": set(), "OpsMv": set(), "OpsMvDest": want["OpsMv"],
              "OpsFlag": want["OpsFlag"], "OpsCp": want["OpsCp"]}
    for box in BOXES:
        if len(got[box]) != len(expect[box]) or bodies[box] != expect[box]:
            b.problem("file operations, repetition %d: %s holds %d messages "
                      "(%d of them expected), want the %d expected" % (
                          rep + 1, box, len(got[box]),
                          len(bodies[box] & expect[box]), len(expect[box])))
    unflagged = [f for f, _ in got["OpsFlag"] if "\\Flagged" not in f]
    if unflagged:
        b.problem("file operations, repetition %d: %d messages of OpsFlag "
                  "without \\Flagged (flags %s)" % (rep + 1, len(unflagged),
                                                     unflagged[:3]))


def measure(b):
    p, url = delayed.link(b)
    n = b.args.ops
    say("file operations over the %g ms link: %d files each (x%d)"
        % (b.args.rtt, n, b.reps))
    for rep in range(b.reps):
        want, files = fill(b, rep)
        cache = b.fresh_cache("ops")
        m = b.mount(cache, url=url)
        try:
            for box in BOXES:
                timed(["ls", "-l", os.path.join(m.path, box)])
            p.settle(quiet=1.0, timeout=30)
            for key, label, cmd, src, dest in OPS:
                if src:
                    d = os.path.join(m.path, src)
                    args = [os.path.join(d, f) for f in sorted(
                        os.listdir(d), key=lambda x: int(x.split(".")[0]))]
                else:
                    args = files
                if len(args) != n:
                    b.problem("%s: %d files in %s, want %d"
                              % (label, len(args), src, n))
                env = dict(ENV_C, DEST=os.path.join(m.path, dest or ""))
                snap = p.mark()
                dt, r = timed(["bash", "-c", LOOP % cmd, "bash"] + args,
                              env=env)
                if r.returncode != 0:
                    b.problem("%s loop exited %d: %s" % (
                        label, r.returncode,
                        r.stderr.decode("utf-8", "replace")[:2000]))
                p.settle(quiet=1.0, timeout=60)
                fl = p.flights(snap)
                b.add("ops_" + key, dt)
                b.add("ops_%s_flights" % key, sum(fl.values()))
                b.add("ops_%s_conns" % key, len(fl))
                if rep == 0:
                    b.notes.append("%s over the link, repetition 1: flights "
                                   "per connection %s" % (label, fl))
                say("  %s: %.2fs for %d files, %d flights on %d connections"
                    % (key, dt, len(args), sum(fl.values()), len(fl)))
            b.add("ops_rss", vm_hwm(m.proc.pid))
        finally:
            b.unmount(m, "file operations")
        shutil.rmtree(cache, ignore_errors=True)
        check(b, want, rep)


def section(b, med):
    """The report's rows of the file operations."""
    rtt = b.args.rtt / 1000.0
    n = b.args.ops
    s = Section("File operations over the %g ms link: a shell loop of %d "
                "files each" % (b.args.rtt, n))
    for key, label, _, _, _ in OPS:
        secs = med.get("ops_" + key)
        if secs is None:
            continue
        rt = ratio(secs / n, rtt)
        fl = med.get("ops_%s_flights" % key)
        s.row("%s (%d files)" % (label, n), fmt_secs(secs),
              "%.2f flights/file" % (fl / n) if fl is not None else "—",
              "RTT %g ms" % b.args.rtt,
              "—" if rt is None else "%.2f RT/file" % rt,
              "<= %g RT/file" % TARGET_RT,
              None if rt is None else rt <= TARGET_RT)
    rss = med.get("ops_rss")
    if rss:
        s.rss_row("imapfs peak RSS after the file operations", rss)
    s.notes.append("RT/file: seconds / files / round trip. Flights: what "
                   "the client sent before waiting for the server, counted "
                   "by the proxy on all connections from the loop's start "
                   "until the link was quiet (background work included).")
    return s

"""The delayed link of the benchmark (bench/run.py): the cold rows again,
through tests/integration/delayproxy.py, which delays each direction of
every connection by --rtt/2 (a server --rtt away; 0: the proxy alone)
and counts the client's flights. On loopback a round trip costs nothing,
so only here does a design that waits for the server where it need not
show. The baselines go through the same proxy in the same run:

  d_raw_stream   UID FETCH 1:* BODY.PEEK[] of Bench on one TLS connection
  d_cold_grep    grep -rl on a fresh mount: <= 1.5 x d_raw_stream
  d_cold_rg      rg -l on a fresh mount: <= 1.2 x d_cold_grep
  d_raw_meta     UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS) of the
                 10k folder (the largest ls mailbox up to L10k)
  d_cold_ls      ls -l of it on a fresh mount, timed once the link is
                 quiet after mounting: <= d_raw_meta + 2 round trips

The proxy stays up for fileops.py, which uses the same link.
"""

import shutil

import mountutil
import searchrow
from delayproxy import DelayProxy
from benchutil import Section, fmt_secs, median, rate, ratio, say, vm_hwm

TARGET_GREP = 1.5       # cold grep x raw stream
TARGET_RG = 1.2         # cold rg x cold grep
TARGET_LS_RT = 2        # cold ls -l <= raw metadata FETCH + 2 round trips


def link(b):
    """The delayed link of run B (started on first use); -> (proxy, imapfs
    URL through it)."""
    if b.delay_proxy is None:
        b.delay_proxy = DelayProxy(b.server.imaps_port,
                                   delay=b.args.rtt / 2000.0).start()
    p = b.delay_proxy
    return p, mountutil.local_url(b.server.user, p.port)


def ls_box(b):
    """The ls mailbox of the delayed rows: L10k, or the largest below."""
    return [x for x in b.ls_boxes if x[1] <= 10000][-1]


def measure(b):
    p, url = link(b)
    say("delayed link: %g ms round trip through the proxy on port %d"
        % (b.args.rtt, p.port))
    for _ in b.repeat("d_raw_stream", "raw stream over the link"):
        b.raw_stream_once("d_raw_stream", port=p.port)
    for rep in b.repeat("d_cold_grep", "cold grep over the link"):
        b.cold_search("grep", "d_cold_grep", "cold grep over the link",
                      url=url, proxy=p)
    if b.doing("rg"):
        for rep in b.repeat("d_cold_rg", "cold rg over the link"):
            b.cold_search("rg", "d_cold_rg", "cold rg over the link",
                          url=url, proxy=p)
    if b.doing("search"):
        searchrow.measure(b, url=url, proxy=p)
    if not b.doing("ls"):
        return
    name, n = ls_box(b)
    say("raw metadata FETCH and cold ls -l of %s over the link (x%d)"
        % (name, b.reps))
    for _ in b.repeat("d_raw_meta", "raw metadata FETCH over the link"):
        b.raw_meta_once(name, "d_raw_meta", "d_raw_select", port=p.port)
    for _ in b.repeat("d_cold_ls", "cold ls -l over the link"):
        cache = b.fresh_cache("d-ls")
        m = b.mount(cache, url=url)
        try:
            # the mount's own start (LIST, the watcher's IDLE) is not timed
            p.settle(timeout=30)
            snap = p.mark()
            dt = b.ls_mount(m, name, n, "cold ls over the link")
            p.settle(timeout=30)
            fl = p.total_flights(snap)
            b.add("d_cold_ls", dt)
            b.add("d_cold_ls_flights", fl)
            b.add("d_cold_ls_rss", vm_hwm(m.proc.pid))
            say("  ls -l %.3fs, %d flights" % (dt, fl))
        finally:
            b.unmount(m, "cold ls over the link")
        shutil.rmtree(cache, ignore_errors=True)


def section(b, med):
    """The report's rows of the delayed link."""
    rtt = b.args.rtt / 1000.0
    s = Section("Delayed link: %g ms round trip (delayproxy.py)"
                       % b.args.rtt)
    mibs = rate(b.server_bytes)
    rs = med.get("d_raw_stream")
    s.row("raw stream FETCH BODY.PEEK[] (Bench) over the link", fmt_secs(rs),
          mibs(rs), target="baseline")

    def flights(key):
        f = med.get(key + "_flights")
        return "" if f is None else ", %.0f flights" % f

    g = med.get("d_cold_grep")
    s.target_row("imapfs cold grep over the link", g,
                 mibs(g) + flights("d_cold_grep"), "raw stream (link)", rs,
                 TARGET_GREP)
    r = med.get("d_cold_rg")
    s.target_row("imapfs cold rg -l over the link", r,
                 mibs(r) + flights("d_cold_rg"), "cold grep (link)", g,
                 TARGET_RG)
    searchrow.rows(b, med, s, True)
    if "d_raw_meta" in med:
        name, n = ls_box(b)
        rm = med["d_raw_meta"]
        s.row("raw metadata FETCH %s over the link" % name, fmt_secs(rm),
              "%.1f µs/msg" % (rm / n * 1e6), target="baseline")
        ls = med.get("d_cold_ls")
        extra = ratio(None if ls is None else ls - rm, rtt)
        s.row("imapfs cold ls -l %s over the link" % name, fmt_secs(ls),
              "%.1f µs/msg" % (ls / n * 1e6) + flights("d_cold_ls")
              if ls else "—", "raw metadata (link)",
              "—" if extra is None else "%+.1f RT" % extra,
              "<= +%d RT" % TARGET_LS_RT,
              None if extra is None else extra <= TARGET_LS_RT)
    for key, what in (("d_cold_grep", "cold grep"), ("d_cold_rg", "cold rg"),
                      ("d_cold_ls", "cold ls -l")):
        rss = med.get(key + "_rss")
        if rss:
            s.rss_row("imapfs peak RSS, %s over the link" % what, rss)
    loop = median(b.samples.get("raw_stream", []))
    if rs and loop:
        s.notes.append("The raw stream over the link took %s against %s on "
                       "loopback: one round trip of that is the delay, the "
                       "rest the proxy's own cost (Python, on the same "
                       "cores as everything else)." % (fmt_secs(rs),
                                                        fmt_secs(loop)))
    return s

"""The FUSE floor of the benchmark (bench/run.py): grep through libfuse's
own example file system, passthrough_ll, over the same local Maildir copy
that the local grep reads. A FUSE request costs a round trip between the
kernel and a daemon (LOOKUP, OPEN, READ, FLUSH, RELEASE for each file),
whatever the daemon does, so imapfs's warm and hot grep are shown against
this floor as well as against the local disk: what is left above the
floor is imapfs's, what is below it is FUSE's.

passthrough_ll is built from the source Debian ships in libfuse3-dev's
examples into the run's temp dir (never into the tree), and mounted with
-o cache=always (entry and attribute timeouts of a day, page cache kept
across opens: the best case its options offer). Per repetition: a fresh
mount, grep -rl (floor_warm: the local files are in the page cache, the
mount's own caches are empty), grep -rl again (floor_hot), unmount.
"""

import os
import subprocess
import time

import mountutil
from benchutil import say

EXAMPLE = "/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c"


def build(b):
    """Compile passthrough_ll into the run's temp dir; -> its path."""
    if not os.path.exists(EXAMPLE):
        raise RuntimeError("%s missing (apt-get install libfuse3-dev)"
                           % EXAMPLE)
    out = os.path.join(b.tmp, "floor", "passthrough_ll")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "fuse3"],
                           capture_output=True, check=True).stdout.split()
    r = subprocess.run(["cc", "-O2", "-o", out, EXAMPLE] + [
        f.decode() for f in flags], capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("building passthrough_ll failed:\n%s"
                           % r.stderr.decode("utf-8", "replace")[-3000:])
    return out


def mount(b, binary, source):
    """Mount SOURCE through passthrough_ll (our child, in the foreground);
    -> the mount point."""
    mnt = os.path.join(b.tmp, "floor", "mnt")
    os.makedirs(mnt, exist_ok=True)
    log = open(os.path.join(b.tmp, "floor", "log"), "ab")
    b.floor = (subprocess.Popen(
        [binary, "-f", "-o", "source=%s,cache=always" % source, mnt],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        start_new_session=True), mnt)
    log.close()
    deadline = time.monotonic() + 30
    while not mountutil.is_mounted(mnt):
        if b.floor[0].poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("passthrough_ll did not mount (exit %s)"
                               % b.floor[0].poll())
        time.sleep(0.05)
    return mnt


def cleanup(b):
    """Unmount passthrough_ll and reap it (also after a failure)."""
    if b.floor is None:
        return
    proc, mnt = b.floor
    mountutil.unmount(mnt)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    b.floor = None


def measure(b):
    binary = build(b)
    root = os.path.dirname(b.local)
    say("FUSE floor: grep -rl through passthrough_ll -o cache=always "
        "(x%d: fresh mount, then again)" % b.reps)
    for _ in range(b.reps):
        mnt = mount(b, binary, root)
        try:
            # the paths printed are MNT/Bench/cur/..., the same files
            warm = b.search("grep", mnt, "FUSE floor warm grep",
                            b.local_msgid)
            hot = b.search("grep", mnt, "FUSE floor hot grep",
                           b.local_msgid)
            b.add("floor_warm", warm)
            b.add("floor_hot", hot)
            say("  warm %.3fs, hot %.3fs" % (warm, hot))
        finally:
            cleanup(b)

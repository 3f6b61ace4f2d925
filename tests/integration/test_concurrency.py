"""With several IMAP connections, a slow download does not block other
operations: while `cat` of the 2 MB message crawls through a rate-limited
proxy, `ls -l` of another mailbox completes first. Only ordering is
asserted, no timing thresholds."""

import os
import subprocess
import time

import pytest

import imaputil
from mountutil import local_url
from proxy import Proxy

RATE = 200 * 1024          # bytes/s server -> client: ~10 s for 2 MB


@pytest.mark.timeout_s(600)
def test_ls_while_slow_cat(slash_server, mount, imap):
    c = imap(slash_server)
    meta = imaputil.fetch_meta(c, slash_server.corpus.big_mailbox)
    uid = next(iter(meta))
    size = meta[uid]["RFC822.SIZE"]
    p = Proxy(slash_server.imaps_port).start()
    try:
        m = mount(slash_server, opts=["max_conns=3"],
                  url=local_url(slash_server.user, p.port))
        big = os.path.join(m.path, "Big", "%d.eml" % uid)
        assert os.stat(big).st_size == size
        other = os.path.join(m.path, "Projects", "2024", "Q1")
        p.rate = RATE
        before, _ = p.counts()
        cat = subprocess.Popen(["cat", big], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
        # Wait until the download is really under way.
        deadline = time.monotonic() + 120
        while p.counts()[0] - before < 64 * 1024:
            assert cat.poll() is None, "cat finished before the download " \
                "was under way (rate limit not effective?)"
            assert time.monotonic() < deadline, "download did not start"
            time.sleep(0.05)
        ls = subprocess.run(["ls", "-l", other], capture_output=True,
                            timeout=300)
        cat_running = cat.poll() is None
        out, err = cat.communicate(timeout=300)
        assert ls.returncode == 0, ls.stderr
        assert ".eml" in ls.stdout.decode()
        assert cat.returncode == 0, err
        assert len(out) == size
        assert cat_running, "ls -l of another mailbox finished only after " \
            "the slow cat (operations serialised behind one download)"
    finally:
        p.rate = None
        p.stop()

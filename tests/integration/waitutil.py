"""The one polling loop of the tests: call a function until it gives a
true value or a deadline passes.

    v, err = poll(fn, timeout, interval=0.2, ignore=(OSError,))

FN is called at once, then every INTERVAL seconds; the last call is the
first one at or after the deadline, so a condition that became true just
in time is seen. -> (FN's first true value, None), or at the deadline
(FN's last value, the exception of a type in IGNORE its last call raised,
or None). Other exceptions propagate. What to do at the deadline (fail,
assert, return False) is the caller's: mountutil.poll_until,
profileutil.wait_for, liveutil.wait_for and the status waits are thin
wrappers.
"""

import time


def poll(fn, timeout, interval=0.2, ignore=()):
    deadline = time.monotonic() + timeout
    while True:
        try:
            v, err = fn(), None
        except ignore as e:
            v, err = None, e
        if v:
            return v, None
        if time.monotonic() >= deadline:
            return v, err
        time.sleep(interval)

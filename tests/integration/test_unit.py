"""Run every C unit test binary (build/tests/test_*) so that pytest's one
summary line counts them too. `meson test -C build` runs them alone."""

import glob
import os
import subprocess

import pytest

import mountutil


def _unit_binaries():
    d = os.path.join(mountutil.build_dir(), "tests")
    out = []
    for p in sorted(glob.glob(os.path.join(d, "test_*"))):
        if os.path.isfile(p) and os.access(p, os.X_OK):
            out.append(p)
    return out


BINARIES = _unit_binaries()


@pytest.mark.parametrize("binary", BINARIES or [None],
                         ids=[os.path.basename(b) for b in BINARIES] or
                         ["no-unit-tests-built"])
def test_unit_binary(binary):
    if binary is None:
        pytest.fail("no unit test binaries in %s/tests: build first "
                    "(ninja -C build)" % mountutil.build_dir(),
                    pytrace=False)
    r = subprocess.run([binary], capture_output=True, timeout=300)
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    assert r.returncode == 0, "%s exited %d:\n%s" % (
        os.path.basename(binary), r.returncode, out[-5000:])

"""Packaging: packaging/build-deb builds a .deb (version from meson.build)
holding the binary, the manual, the systemd user unit and the docs, and
lintian reports neither errors nor warnings; the user unit passes
systemd-analyze verify and runs `imapfs mount -f ACCOUNT ~/mail/ACCOUNT`
with fusermount3 -u on stop and Restart=on-failure."""

import os
import re
import shutil
import subprocess
import tempfile

import pytest

import mountutil

PKG = os.path.join(mountutil.REPO, "packaging")
UNIT = os.path.join(PKG, "imapfs@.service")


def _version():
    with open(os.path.join(mountutil.REPO, "meson.build")) as f:
        return re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)


def _need(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.fail("%s not installed: run tests/install-deps"
                    % " ".join(missing), pytrace=False)


@pytest.mark.timeout_s(240)
def test_build_deb_and_lintian():
    _need("dpkg-buildpackage", "dh", "lintian")
    out = tempfile.mkdtemp(prefix="imapfs-deb-")
    r = subprocess.run([os.path.join(PKG, "build-deb"), out],
                       capture_output=True, timeout=200)
    assert r.returncode == 0, (r.stdout + r.stderr).decode()[-5000:]
    v = _version()
    debs = [f for f in os.listdir(out)
            if f.startswith("imapfs_%s_" % v) and f.endswith(".deb")]
    assert len(debs) == 1, os.listdir(out)
    deb = os.path.join(out, debs[0])

    r = subprocess.run(["dpkg-deb", "-f", deb, "Version", "Package"],
                       capture_output=True, timeout=60)
    assert r.stdout.decode().split() == ["Version:", v, "Package:", "imapfs"]
    r = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True,
                       timeout=60)
    files = r.stdout.decode()
    for path in ("./usr/bin/imapfs", "./usr/share/man/man1/imapfs.1.gz",
                 "./usr/lib/systemd/user/imapfs@.service",
                 "./usr/share/doc/imapfs/README.md.gz",
                 "./usr/share/doc/imapfs/copyright",
                 "./usr/share/doc/imapfs/examples/config.example"):
        assert path in files, (path, files)

    # the packaged program is the one we built: it runs and knows its version
    x = tempfile.mkdtemp(prefix="imapfs-deb-x-")
    subprocess.run(["dpkg-deb", "-x", deb, x], check=True, timeout=60)
    r = subprocess.run([os.path.join(x, "usr/bin/imapfs"), "--version"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0 and v in r.stdout.decode()

    changes = [f for f in os.listdir(out) if f.endswith(".changes")]
    assert len(changes) == 1
    r = subprocess.run(["lintian", "--fail-on", "error,warning",
                        os.path.join(out, changes[0])],
                       capture_output=True, timeout=180)
    report = [ln for ln in (r.stdout + r.stderr).decode().splitlines()
              if re.match(r"^[EW]: ", ln)]
    assert r.returncode == 0 and not report, \
        (r.stdout + r.stderr).decode()


def test_user_unit():
    _need("systemd-analyze")
    with open(UNIT) as f:
        unit = f.read()
    assert re.search(r"^ExecStart=/usr/bin/imapfs mount -f %i %h/mail/%i$",
                     unit, re.M), unit
    assert re.search(r"^ExecStop=/usr/bin/fusermount3 -u %h/mail/%i$",
                     unit, re.M)
    assert re.search(r"^Restart=on-failure$", unit, re.M)
    assert re.search(r"^WantedBy=default.target$", unit, re.M)
    # verify an instance, with the program where it is on this machine
    d = tempfile.mkdtemp(prefix="imapfs-unit-")
    tmpl = os.path.join(d, "imapfs@.service")
    with open(tmpl, "w") as f:
        f.write(unit.replace("/usr/bin/imapfs", mountutil.imapfs_bin()))
    inst = os.path.join(d, "imapfs@work.service")
    os.symlink(tmpl, inst)
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", inst],
                       capture_output=True, timeout=60)
    out = (r.stdout + r.stderr).decode()
    assert r.returncode == 0 and not out.strip(), out

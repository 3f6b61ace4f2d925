"""Packaging: packaging/build-deb builds a .deb (version from meson.build)
holding the binary, the manual, the systemd user unit and the docs, and
lintian reports neither errors nor warnings; the user unit passes
systemd-analyze verify (as a system and as a user unit) and runs
`imapfs mount -f ACCOUNT ~/mail/ACCOUNT` as Type=notify (test_sdnotify.py
checks READY=1) with fusermount3 -u on stop and Restart=on-failure, never
restarting after the exit statuses fs/cmd.h gives usage, authentication
and mount errors; `systemd-analyze security --user --offline=true` scores
it at most 9.6 with the directives it tolerates applied, and none of those
that break a FUSE mount by a user (setuid fusermount3) set."""

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


def _unit():
    with open(UNIT) as f:
        return f.read()


def _instance():
    """imapfs@work.service in a temporary directory, with the program
    where it is on this machine; -> (its path, environment for a user
    manager's systemd-analyze: it needs an XDG_RUNTIME_DIR)."""
    d = tempfile.mkdtemp(prefix="imapfs-unit-")
    tmpl = os.path.join(d, "imapfs@.service")
    with open(tmpl, "w") as f:
        f.write(_unit().replace("/usr/bin/imapfs", mountutil.imapfs_bin()))
    inst = os.path.join(d, "imapfs@work.service")
    os.symlink(tmpl, inst)
    rt = os.path.join(d, "runtime")
    os.mkdir(rt, 0o700)
    return inst, dict(os.environ, XDG_RUNTIME_DIR=rt)


def _exit_codes():
    """EXIT_* name -> value, from fs/cmd.h."""
    with open(os.path.join(mountutil.REPO, "fs", "cmd.h")) as f:
        return {k: int(v) for k, v in
                re.findall(r"\b(EXIT_[A-Z]+) = (\d+),", f.read())}


def test_user_unit():
    _need("systemd-analyze")
    unit = _unit()
    assert re.search(r"^ExecStart=/usr/bin/imapfs mount -f %i %h/mail/%i$",
                     unit, re.M), unit
    assert re.search(r"^ExecStop=/usr/bin/fusermount3 -u %h/mail/%i$",
                     unit, re.M)
    assert re.search(r"^Type=notify$", unit, re.M)
    assert re.search(r"^NotifyAccess=main$", unit, re.M)
    assert re.search(r"^Restart=on-failure$", unit, re.M)
    assert re.search(r"^WantedBy=default.target$", unit, re.M)
    # verify an instance, as a system unit and as what it is, a user unit
    inst, env = _instance()
    for mode in ([], ["--user"]):
        r = subprocess.run(["systemd-analyze", "verify", "--man=no"] + mode
                           + [inst], capture_output=True, timeout=60, env=env)
        out = (r.stdout + r.stderr).decode()
        assert r.returncode == 0 and not out.strip(), (mode, out)


def test_meson_install_unit_runs_installed_binary():
    """`meson install` (README: prefix /usr/local by default) installs the
    unit with ExecStart naming the imapfs it installed, not /usr/bin's."""
    dest = tempfile.mkdtemp(prefix="imapfs-install-")
    r = subprocess.run(["meson", "install", "-C", mountutil.build_dir(),
                        "--no-rebuild", "--quiet", "--destdir", dest],
                       capture_output=True, timeout=120)
    assert r.returncode == 0, (r.stdout + r.stderr).decode()
    units = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs
             if f == "imapfs@.service"]
    assert len(units) == 1 and units[0].endswith(
        "/lib/systemd/user/imapfs@.service"), units
    with open(units[0]) as f:
        unit = f.read()
    m = re.findall(r"^ExecStart=(\S+) mount -f %i %h/mail/%i$", unit, re.M)
    assert len(m) == 1, unit
    assert os.access(dest + m[0], os.X_OK), (m[0], units)
    # everything else as in the source
    assert unit.replace(m[0], "/usr/bin/imapfs") == _unit()


def test_no_restart_on_usage_auth_mount_errors():
    """A wrong password (exit 3) retried every RestartSec gets the account
    locked; usage (1) and mount (4) errors do not go away by retrying.
    Connection errors (2) do, and are retried."""
    codes = _exit_codes()
    assert codes == {"EXIT_USAGE": 1, "EXIT_CONNECT": 2, "EXIT_AUTH": 3,
                     "EXIT_MOUNT": 4}, codes
    m = re.findall(r"^RestartPreventExitStatus=(.*)$", _unit(), re.M)
    assert len(m) == 1, m
    prevented = set(m[0].split())
    for name in ("EXIT_USAGE", "EXIT_AUTH", "EXIT_MOUNT"):
        assert str(codes[name]) in prevented, (name, prevented)
    assert str(codes["EXIT_CONNECT"]) not in prevented, prevented


# In a user manager each of these implies NoNewPrivileges=yes (which voids
# fusermount3's setuid bit) or gives the unit its own mount namespace
# (where the mount is invisible to the user's other processes): setting
# one breaks the mount; imapfs@.service says why in a comment.
BREAK_FUSE = (
    "NoNewPrivileges", "SystemCallFilter", "SystemCallArchitectures",
    "RestrictAddressFamilies", "RestrictNamespaces", "RestrictRealtime",
    "RestrictSUIDSGID", "MemoryDenyWriteExecute", "LockPersonality",
    "ProtectClock", "ProtectHostname", "ProtectKernelLogs",
    "ProtectKernelModules", "ProtectKernelTunables", "PrivateDevices",
    "PrivateMounts", "PrivateTmp", "ProtectSystem", "ProtectHome",
    "ProtectProc", "ProcSubset", "ProtectControlGroups", "ReadOnlyPaths",
    "InaccessiblePaths", "TemporaryFileSystem", "PrivateUsers",
    "PrivateNetwork", "CapabilityBoundingSet", "DynamicUser", "User")

SCORE = 9.6     # systemd 252: 9.8 without UMask= and KeyringMode=


@pytest.mark.timeout_s(120)
def test_user_unit_security():
    _need("systemd-analyze")
    unit = _unit()
    for d in BREAK_FUSE:
        assert not re.search(r"^%s=" % d, unit, re.M), d
        assert re.search(r"^#.*\b%s=" % d, unit, re.M), \
            "%s= is not explained in a comment" % d
    inst, env = _instance()
    r = subprocess.run(["systemd-analyze", "security", "--user",
                        "--offline=true", "--no-pager", inst],
                       capture_output=True, timeout=90, env=env)
    out = (r.stdout + r.stderr).decode()
    m = re.search(r"Overall exposure level for imapfs@work\.service: "
                  r"(\d+\.\d+)", out)
    assert m, out
    assert float(m.group(1)) <= SCORE, out
    for d in ("UMask=", "KeyringMode=", "NotifyAccess="):
        assert re.search(r"^\u2713 %s" % d, out, re.M), (d, out)

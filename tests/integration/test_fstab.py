"""fstab and mount(8): imapfs accepts the form mount.fuse3 runs it in,
`imapfs SOURCE MOUNTPOINT -o OPTS`, with the generic options mount(8)
passes (nosuid, nodev and noexec reach the kernel; user, noauto, _netdev,
nofail, x-systemd.* are accepted and ignored), while an unknown option
stays an error. Then real mount(8): `mount -t fuse.imapfs` and an fstab
line (from a private file given with mount -T, so /etc/fstab is never
touched) with a \\040-escaped password_command, unmounted with umount(8).
mount(8) finds the program through a temporary /usr/local/bin/imapfs
symlink to the build, removed after each test."""

import errno
import os
import subprocess
import tempfile

import pytest

import mountutil
from mountutil import in_proc_mounts, run_imapfs, write_password_file

GENERIC = "rw,nosuid,nodev,noexec,noatime,user,noauto,_netdev,nofail," \
    "x-systemd.automount,x-systemd.idle-timeout=60,defaults"


def _mp():
    d = tempfile.mkdtemp(prefix="imapfs-fstab-")
    mp = os.path.join(d, "mnt")
    os.mkdir(mp)
    return d, mp


def _mount_opts(mp):
    with open("/proc/self/mountinfo") as f:
        for ln in f:
            parts = ln.split()
            if mountutil._unescape_mount_field(parts[4]) == mp:
                return parts[5].split(","), parts[parts.index("-") + 1]
    return None, None


@pytest.fixture
def cleanup():
    made = []
    yield made.append
    for mp in made:
        mountutil.unmount(mp)


def test_mount_fuse3_form(slash_server, imapfs_bin, cleanup):
    d, mp = _mp()
    cleanup(mp)
    pw = write_password_file(d, slash_server.password)
    r = run_imapfs([slash_server.url(), mp, "-o", GENERIC +
                    ",cafile=%s,password_file=%s" % (slash_server.cafile, pw)])
    assert r.returncode == 0, r.stderr
    assert in_proc_mounts(mp)
    assert "INBOX" in os.listdir(mp)
    opts, fstype = _mount_opts(mp)
    assert fstype == "fuse.imapfs"
    for o in ("nosuid", "nodev", "noexec"):
        assert o in opts, (o, opts)
    assert "rw" in opts
    r = subprocess.run(["umount", mp], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert not in_proc_mounts(mp)


def test_mount_fuse3_form_ro_and_unknown(slash_server, imapfs_bin, cleanup):
    d, mp = _mp()
    cleanup(mp)
    pw = write_password_file(d, slash_server.password)
    base = ",cafile=%s,password_file=%s" % (slash_server.cafile, pw)
    r = run_imapfs([slash_server.url(), mp, "-o", "noauto,bogus_option" + base])
    assert r.returncode == 1
    assert b"bogus_option" in r.stderr and b"unknown option" in r.stderr
    assert not in_proc_mounts(mp)
    r = run_imapfs([slash_server.url(), mp, "-o", "ro,user" + base])
    assert r.returncode == 0, r.stderr
    opts, _ = _mount_opts(mp)
    assert "ro" in opts, opts
    with pytest.raises(OSError) as ei:
        os.mkdir(os.path.join(mp, "NewBox"))
    assert ei.value.errno == errno.EROFS, ei.value


LINK = "/usr/local/bin/imapfs"


@pytest.fixture
def on_path(imapfs_bin):
    """mount(8) runs helpers with its own safe PATH, so mount.fuse3 finds
    "imapfs" only in a system directory: a symlink to the build for the
    duration of the test (never replacing an installed imapfs)."""
    if os.path.lexists(LINK):
        pytest.fail("%s exists: remove it (or run the tests where imapfs "
                    "is not installed)" % LINK, pytrace=False)
    os.symlink(imapfs_bin, LINK)
    yield
    os.unlink(LINK)


def _path_env():
    env = dict(os.environ)
    env.pop("IMAPFS_PASSWORD", None)
    return env


def test_mount_t_fuse_imapfs(slash_server, on_path, cleanup):
    d, mp = _mp()
    cleanup(mp)
    pw = write_password_file(d, slash_server.password)
    r = subprocess.run(["mount", "-t", "fuse.imapfs", "-o",
                        "nosuid,nodev,cafile=%s,password_file=%s"
                        % (slash_server.cafile, pw), slash_server.url(), mp],
                       capture_output=True, timeout=60, env=_path_env())
    assert r.returncode == 0, r.stderr
    assert "INBOX" in os.listdir(mp)
    r = subprocess.run(["umount", mp], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert not in_proc_mounts(mp)


def test_fstab_line(slash_server, on_path, cleanup):
    d, mp = _mp()
    cleanup(mp)
    # a password_command with a blank, written \040 as fstab(5) wants
    pwdir = os.path.join(d, "my secrets")
    os.mkdir(pwdir)
    pw = write_password_file(pwdir, slash_server.password)
    fstab = os.path.join(d, "fstab")
    with open(fstab, "w") as f:
        f.write("# test fstab\n%s %s fuse.imapfs noauto,user,_netdev,"
                "cafile=%s,password_command=cat\\040'%s' 0 0\n"
                % (slash_server.url(), mp, slash_server.cafile,
                   pw.replace(" ", "\\040")))
    r = subprocess.run(["mount", "-T", fstab, mp], capture_output=True,
                       timeout=60, env=_path_env())
    assert r.returncode == 0, r.stderr
    assert in_proc_mounts(mp)
    assert "INBOX" in os.listdir(mp)
    r = subprocess.run(["umount", mp], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert not in_proc_mounts(mp)

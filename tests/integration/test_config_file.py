"""The accounts file ($XDG_CONFIG_HOME/imapfs/config): `imapfs mount
ACCOUNT DIR` takes URL, CA file, password source and options from it, the
command line's -o wins over it, a file holding a password is refused while
others can read it, and every mistake names the file and the line."""

import os
import tempfile

from mountutil import in_proc_mounts, run_imapfs, write_password_file


def _config(text, mode=0o600):
    home = tempfile.mkdtemp(prefix="imapfs-xdg-")
    os.makedirs(os.path.join(home, "imapfs"))
    path = os.path.join(home, "imapfs", "config")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return home, path


def _mp():
    d = tempfile.mkdtemp(prefix="imapfs-acc-")
    mp = os.path.join(d, "mnt")
    os.mkdir(mp)
    return d, mp


def _status(mp):
    r = run_imapfs(["status", mp])
    assert r.returncode == 0, r.stderr
    return r.stdout.decode()


def test_mount_account(slash_server, mount):
    d, _ = _mp()
    pw = write_password_file(d, slash_server.password)
    home, path = _config(
        "# my mail\n[account other]\nurl = imaps://nobody@127.0.0.1:1/\n\n"
        "[account work]\nhost = 127.0.0.1\nport = %d\nuser = %s\n"
        "cafile = %s\npassword_file = %s\nmax_conns = 2\nro = yes\n"
        % (slash_server.imaps_port, slash_server.user, slash_server.cafile,
           pw))
    m = mount(url="work", password=None, env={"XDG_CONFIG_HOME": home},
              opts=["max_conns=3"])
    assert "INBOX" in os.listdir(m.path)
    out = _status(m.path)
    assert "account: work\n" in out, out
    assert "%s@127.0.0.1:%d" % (slash_server.user, slash_server.imaps_port) \
        in out
    assert "max 3" in out, "-o max_conns=3 did not win over the file:\n" + out
    assert "read-only" in out, "ro = yes from the file was lost:\n" + out
    with open("/proc/self/mountinfo") as f:
        line = [ln for ln in f if " %s " % m.path in ln][0]
    assert " ro," in line or " ro " in line, line


def test_password_in_file(slash_server, mount):
    text = ("[account a]\nurl = %s\ncafile = %s\npassword = \"%s\"\n"
            % (slash_server.url(), slash_server.cafile, slash_server.password))
    home, path = _config(text, mode=0o644)
    d, mp = _mp()
    r = run_imapfs(["mount", "a", mp], env={"XDG_CONFIG_HOME": home})
    assert r.returncode == 1, r.stderr
    assert not in_proc_mounts(mp)
    err = r.stderr.decode()
    assert err.startswith("imapfs: %s:4: " % path), err
    assert "chmod 600" in err and "0644" in err, err
    assert slash_server.password not in err

    os.chmod(path, 0o600)
    m = mount(url="a", password=None, env={"XDG_CONFIG_HOME": home})
    assert "INBOX" in os.listdir(m.path)


def test_group_readable_without_secret_is_fine(slash_server, mount):
    d, _ = _mp()
    pw = write_password_file(d, slash_server.password)
    home, path = _config("[account a]\nurl = %s\ncafile = %s\n"
                         "password_file = %s\n"
                         % (slash_server.url(), slash_server.cafile, pw),
                         mode=0o644)
    m = mount(url="a", password=None, env={"XDG_CONFIG_HOME": home})
    assert "INBOX" in os.listdir(m.path)


def test_errors_name_file_and_line(imapfs_bin):
    cases = [
        ("[account a]\nurl = imaps://a@127.0.0.1:1/\n\nfrobnicate = 1\n", 4,
         "frobnicate"),
        ("[account a]\nurl = imaps://a@127.0.0.1:1/\ntimeout = never\n", 3,
         "timeout"),
        ("ro\n", 1, "[account NAME]"),
        ("[account a]\nhost = h\nuser = u\nport = 70000\n", 4, "port"),
    ]
    for text, line, word in cases:
        home, path = _config(text)
        d, mp = _mp()
        r = run_imapfs(["mount", "a", mp], env={"XDG_CONFIG_HOME": home})
        err = r.stderr.decode()
        assert r.returncode == 1, (text, err)
        assert err.startswith("imapfs: %s:%d: " % (path, line)), (text, err)
        assert word in err, (text, err)
        assert len(err.strip().splitlines()) == 1, err


def test_unknown_account_and_no_file(imapfs_bin):
    home, path = _config("[account a]\nurl = imaps://a@127.0.0.1:1/\n")
    d, mp = _mp()
    r = run_imapfs(["mount", "nosuch", mp], env={"XDG_CONFIG_HOME": home})
    assert r.returncode == 1
    assert b"no account nosuch in " + path.encode() in r.stderr, r.stderr
    empty = tempfile.mkdtemp(prefix="imapfs-xdg-")
    r = run_imapfs(["mount", "work", mp], env={"XDG_CONFIG_HOME": empty})
    assert r.returncode == 1
    assert os.path.join(empty, "imapfs", "config").encode() in r.stderr
    assert b"No such file" in r.stderr, r.stderr
    # HOME is the fallback without XDG_CONFIG_HOME
    r = run_imapfs(["mount", "work", mp], env={"XDG_CONFIG_HOME": "",
                                                "HOME": empty})
    assert os.path.join(empty, ".config", "imapfs", "config").encode() \
        in r.stderr, r.stderr

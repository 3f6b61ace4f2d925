"""The manual: every option `imapfs --help` prints is documented in
imapfs.1, the sections users look for exist, and mandoc's linter finds
nothing to warn about."""

import os
import re
import shutil
import subprocess

import pytest

import mountutil
from mountutil import run_imapfs

MANUAL = os.path.join(mountutil.REPO, "imapfs.1")


def _man_text():
    with open(MANUAL) as f:
        src = f.read()
    # roff escapes that can sit inside an option name
    src = src.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\")
    return re.sub(r"\\f[BIRP]", "", src)


def _words(text):
    """Option names in a help sentence: the words before "go to", "are"
    or the end of the clause."""
    text = re.split(r";| go to | are ", text)[0]
    return [w for w in text.split() if re.fullmatch(r"[a-z_][a-z_.*-]*", w)]


def _help_options():
    r = run_imapfs(["--help"])
    assert r.returncode == 0
    names = []
    cont = False
    for ln in r.stdout.decode().splitlines():
        m = re.match(r"^\s+-o (\S+)(.*)$", ln)
        if m:
            for part in m.group(1).split(","):
                part = part.split("=")[0]
                if part and part != "...":
                    names.append(part)
            if "options:" in m.group(2):
                # "generic mount(8) options: nosuid nodev ... go to the kernel;"
                names += _words(m.group(2).split("options:")[1])
            cont = True
            continue
        if cont and re.match(r"^\s{8,}\S", ln):
            # a continuation line lists more option names
            names += _words(ln)
            continue
        cont = False
        m = re.match(r"^\s+(-\w)\s", ln)
        if m:
            names.append(m.group(1))
    return names


def test_every_help_option_is_documented(imapfs_bin):
    names = _help_options()
    # the parser of this test must see the options we know are there
    for known in ("ro", "timeout", "password_command", "auth", "nosuid",
                  "noauto", "_netdev", "x-*", "-f"):
        assert known in names, (known, names)
    text = _man_text()
    missing = [n for n in names
               if not re.search(r"(?<![\w-])%s(?![\w])" % re.escape(n), text)]
    assert not missing, "imapfs.1 does not document %r" % missing


def test_manual_sections():
    text = _man_text()
    for sec in ("SYNOPSIS", "OPTIONS", "PASSWORD", "ACCOUNTS", "OAUTH2",
                "FSTAB", "SYSTEMD", "STATUS", "LOGGING", "THE TREE",
                "EXTENDED ATTRIBUTES", "EXIT STATUS", "EXAMPLES", "FILES"):
        assert re.search(r"^\.S[HS] \"?%s\"?$" % sec, text, re.M), sec
    for cmd in ("imapfs status", "imapfs@.service", "fuse.imapfs",
                "auth=xoauth2", "auth=oauthbearer", "XDG_CONFIG_HOME"):
        assert cmd in text, cmd


def test_mandoc_lint():
    if shutil.which("mandoc") is None:
        pytest.fail("mandoc is not installed (tests/install-deps installs "
                    "it)", pytrace=False)
    r = subprocess.run(["mandoc", "-Tlint", "-Wwarning", MANUAL],
                       capture_output=True, timeout=60)
    out = (r.stdout + r.stderr).decode()
    assert r.returncode == 0 and not out.strip(), out

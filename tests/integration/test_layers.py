"""The layer rules, checked on the sources (no mount, no server):
src/ is the mail core with no FUSE headers, fs/ the FUSE adapter that
speaks to it only through the public headers in src/include/, and
libetpan's types never leave src/.

1. fs/ includes only fs/ headers, the public headers and system headers
   (never libetpan's or OpenSSL's).
2. src/ includes no FUSE header and no fs/ header: a quoted include in src/
   must name a file of src/.
3. A public header includes only other public headers and system headers
   (never libetpan's, OpenSSL's or FUSE's), so fs/ gets nothing else
   through them.
4. <libetpan/...> is included only by the files that wrap it (ETPAN_FILES:
   the IMAP session and the TLS stream driver, and errmap.c, the one place
   that maps libetpan's codes to errno), and no other file of src/ reaches
   it through a header it includes.
5. The build enforces 1 as well: with fs/'s compiler flags from the build,
   every public header is found and no internal header is.

The rules name directories and patterns, not lists of files, so adding or
splitting a file in src/ needs no change here unless it wraps libetpan
under a new name."""

import fnmatch
import json
import os
import re
import shlex
import subprocess
import tempfile

import pytest

import mountutil

REPO = mountutil.REPO
SRC = os.path.join(REPO, "src")
PUBLIC = os.path.join(SRC, "include")
FS = os.path.join(REPO, "fs")

# src/ files (path relative to src/) allowed to include <libetpan/...>.
# Today: session.c, tls.h and errmap.c; the patterns keep a split of the
# session or of the TLS driver into session_*.c / tls_*.c inside the rule.
ETPAN_FILES = ["session*.c", "session*.h", "tls*.c", "tls*.h", "errmap.c"]

# Headers that only the core may see, whatever the layer.
CORE_ONLY = ("libetpan/", "openssl/")

_INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


def _sources(top):
    out = []
    for d, _, names in os.walk(top):
        out += [os.path.join(d, n) for n in sorted(names)
                if n.endswith((".c", ".h"))]
    return sorted(out)


def _includes(path):
    """(line, kind, name) for each #include; kind is '"' or '<'. Comments
    are blanked first (keeping line numbers) so prose is not an include."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    text = _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return [(text.count("\n", 0, m.start()) + 1, m.group(1), m.group(2))
            for m in _INCLUDE.finditer(text)]


def _resolve(path, name, dirs):
    """Where the compiler finds quoted NAME included from PATH: next to
    PATH first, then in DIRS; None when nowhere."""
    for d in [os.path.dirname(path)] + dirs:
        p = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(p):
            return p
    return None


def _inside(path, top):
    return os.path.commonpath([path, top]) == top


def _where(path, line):
    return "%s:%d" % (os.path.relpath(path, REPO), line)


def _is_fuse(name):
    return name.startswith("fuse") or "/fuse" in name


def _core_only(name):
    return name.startswith(CORE_ONLY)


def check_fs(path, at=None):
    """What is wrong with the includes of fs/ file PATH (read from PATH,
    resolved as if it sat at AT, by default PATH itself)."""
    at = at or path
    bad = []
    for line, kind, name in _includes(path):
        if kind == "<":
            if _core_only(name) or ".." in name or "src/" in name:
                bad.append("%s: <%s> is the core's alone"
                           % (_where(at, line), name))
            continue
        p = _resolve(at, name, [PUBLIC])
        if p is None or not (_inside(p, FS) or _inside(p, PUBLIC)):
            bad.append('%s: "%s" is neither an fs/ header nor a public one '
                       "(src/include/)" % (_where(at, line), name))
    return bad


def check_src(path, at=None):
    """The same for src/ file PATH."""
    at = at or path
    public = _inside(at, PUBLIC)
    bad = []
    for line, kind, name in _includes(path):
        if kind == "<":
            if _is_fuse(name):
                bad.append("%s: <%s>: no FUSE header in src/"
                           % (_where(at, line), name))
            elif public and _core_only(name):
                bad.append("%s: <%s> in a public header reaches fs/"
                           % (_where(at, line), name))
            elif name.startswith("libetpan/") and not any(
                    fnmatch.fnmatch(os.path.relpath(at, SRC), pat)
                    for pat in ETPAN_FILES):
                bad.append("%s: <%s> outside the files that wrap libetpan "
                           "(%s)" % (_where(at, line), name,
                                     ", ".join(ETPAN_FILES)))
            continue
        if public:
            p = _resolve(at, name, [])
            if p is None or not _inside(p, PUBLIC):
                bad.append('%s: a public header includes "%s", which is not '
                           "public" % (_where(at, line), name))
            continue
        # next to the file, src/, src/include/, or (for a folder of src/
        # on core_lib's include path) anywhere below src/
        p = _resolve(at, name, [SRC, PUBLIC]) or next(
            (f for f in _sources(SRC) if f.endswith(os.sep + name)), None)
        if p is None or not _inside(p, SRC):
            bad.append('%s: "%s" is not a header of src/'
                       % (_where(at, line), name))
    return bad


def test_fs_includes_only_public_headers():
    bad = [b for f in _sources(FS) for b in check_fs(f)]
    assert not bad, "\n".join(bad)


def test_src_includes_neither_fuse_nor_fs():
    bad = [b for f in _sources(SRC) for b in check_src(f)]
    assert not bad, "\n".join(bad)


def _reach(path, seen):
    """The src/ headers PATH includes, directly or through each other."""
    for _, kind, name in _includes(path):
        if kind != '"':
            continue
        p = _resolve(path, name, [SRC, PUBLIC])
        if p is not None and _inside(p, SRC) and p not in seen:
            seen.add(p)
            _reach(p, seen)
    return seen


def _wraps_etpan(path):
    return any(fnmatch.fnmatch(os.path.relpath(path, SRC), pat)
               for pat in ETPAN_FILES)


def check_etpan_reach(path):
    """A src/ file outside ETPAN_FILES that gets <libetpan/...> through
    the headers it includes (it would see libetpan's types)."""
    if _wraps_etpan(path):
        return []
    via = sorted(h for h in _reach(path, set())
                 if any(k == "<" and n.startswith("libetpan/")
                        for _, k, n in _includes(h)))
    return ["%s reaches <libetpan/...> through %s"
            % (os.path.relpath(path, REPO),
               ", ".join(os.path.relpath(h, REPO) for h in via))] if via else []


def test_libetpan_reaches_only_its_wrappers():
    bad = [b for f in _sources(SRC) for b in check_etpan_reach(f)]
    assert not bad, "\n".join(bad)
    # and the check is not vacuous: a file that includes the session's
    # private header (which includes libetpan) is reported
    with tempfile.TemporaryDirectory() as tmp:
        probe = os.path.join(tmp, "probe.c")
        with open(probe, "w") as f:
            f.write('#include "session_int.h"\n')
        assert check_etpan_reach(probe), "session_int.h reaches libetpan"


def _internal_headers():
    return sorted(n for n in os.listdir(SRC) if n.endswith(".h"))


def test_rules_catch_forbidden_includes():
    """The checks above are not vacuous: each forbidden include, in a
    scratch file checked as if it sat in fs/, src/ or src/include/, is
    reported, and the allowed ones are not."""
    internal = _internal_headers()[0]
    forbidden = [
        (FS, '#include "%s"' % internal),
        (FS, '#include "../src/%s"' % internal),
        (FS, "#include <libetpan/libetpan.h>"),
        (FS, "#include <openssl/ssl.h>"),
        (SRC, "#include <fuse_lowlevel.h>"),
        (SRC, '#include "../fs/ops.h"'),
        (SRC, "#include <libetpan/libetpan.h>"),
        (PUBLIC, '#include "%s"' % internal),
        (PUBLIC, "#include <openssl/ssl.h>"),
    ]
    allowed = [
        (FS, '#include "vfs.h"\n#include "ops.h"\n#include <fuse_lowlevel.h>'),
        (SRC, '#include "vfs.h"\n#include "%s"\n#include <openssl/ssl.h>'
         % internal),
        (PUBLIC, '#include "config.h"\n#include <stdio.h>'),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        probe = os.path.join(tmp, "probe.h")

        def check(top, text):
            with open(probe, "w") as f:
                f.write(text + "\n")
            at = os.path.join(top, "layers_probe.h")
            return (check_fs if top == FS else check_src)(probe, at)

        for top, text in forbidden:
            assert check(top, text), "not reported: %s in %s/" % (
                text, os.path.relpath(top, REPO))
        for top, text in allowed:
            assert not check(top, text), text


def _fs_compile_command():
    db = os.path.join(mountutil.build_dir(), "compile_commands.json")
    if not os.path.exists(db):
        pytest.fail("no %s: build first (ninja -C build)" % db,
                    pytrace=False)
    with open(db) as f:
        entries = json.load(f)
    for e in entries:
        if _inside(os.path.normpath(os.path.join(e["directory"], e["file"])),
                   FS) and e["file"].endswith(".c"):
            return e
    pytest.fail("no fs/ source in %s" % db, pytrace=False)


def test_build_gives_fs_only_the_public_headers():
    e = _fs_compile_command()
    args = shlex.split(e["command"])
    keep = [args[0]] + [a for a in args[1:]
                        if a.startswith(("-I", "-D", "-std=", "-pthread"))]
    internal = _internal_headers()
    public = sorted(n for n in os.listdir(PUBLIC) if n.endswith(".h"))
    assert internal and public

    def reached(header, tmp):
        """The src/ files a file of fs/ that includes HEADER reads, or
        None when the preprocessor fails (HEADER not found)."""
        p = os.path.join(tmp, "probe.c")
        with open(p, "w") as f:
            f.write('#include "%s"\n' % header)
        r = subprocess.run(keep + ["-E", p], cwd=e["directory"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            return None
        # line markers: # LINE "FILE" FLAGS
        files = re.findall(r'^# \d+ "([^"]+)"', r.stdout, re.M)
        return {os.path.normpath(os.path.join(e["directory"], f))
                for f in files
                if _inside(os.path.normpath(os.path.join(e["directory"], f)),
                           SRC)}

    with tempfile.TemporaryDirectory() as tmp:
        for h in public:
            got = reached(h, tmp)
            assert got is not None, "fs/ cannot include public %s" % h
            assert os.path.join(PUBLIC, h) in got, h
            leaked = sorted(f for f in got if not _inside(f, PUBLIC))
            assert not leaked, "public %s gives fs/ %s" % (h, leaked)
        for h in internal:
            got = reached(h, tmp)
            # None: not found; a set without src/H: a system header of the
            # same name (glibc has an aliases.h)
            assert got is None or os.path.join(SRC, h) not in got, \
                "fs/ can include internal src/%s" % h

# tests/lib.sh — what tests/run, tests/run-asan and .ci/run share, sourced
# by each (not run): the root check, tests/install-deps, the meson build of
# one build directory, which tests pytest runs, and the counts of a pytest
# run read from its JUnit XML (pytest --junitxml) rather than from its
# summary line.
#
# Sets $repo (the checkout this file is in) and cds there. Each function
# takes the calling script's name (for its messages) first, prints why it
# fails on stderr and returns non-zero; the caller decides whether to stop.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1

# lib_need_root NAME: the suite starts Dovecot and mounts FUSE.
lib_need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "$1: must run as root (it starts Dovecot and mounts FUSE): sudo $1" >&2
    return 1
  fi
}

# lib_install_deps NAME: everything the tests need (fast when present).
lib_install_deps() {
  "$repo/tests/install-deps" || { echo "$1: install-deps failed" >&2; return 1; }
}

# lib_build NAME DIR MESON-OPTION...: set DIR up with the options (CC from
# the environment picks the compiler, as meson does) or, when it exists,
# apply them to it; then build it.
lib_build() {
  local name=$1 dir=$2
  shift 2
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" || { echo "$name: meson setup failed" >&2; return 1; }
  else
    meson configure "$dir" "$@" >/dev/null || { echo "$name: meson configure failed" >&2; return 1; }
  fi
  ninja -C "$dir" || { echo "$name: build failed" >&2; return 1; }
}

# lib_prepare NAME DIR MESON-OPTION...: the three above, for a script that
# runs the suite against DIR.
lib_prepare() {
  lib_need_root "$1" && lib_install_deps "$1" && lib_build "$@"
}

# lib_pytest_paths PYTEST-ARG...: "tests/integration", unless an argument
# already names tests there (a file, a folder or a node id such as
# tests/integration/test_unit.py::test_unit_binary), so that
# `tests/run tests/integration/test_unit.py` runs that file alone.
lib_pytest_paths() {
  local a p
  for a in "$@"; do
    p=$(realpath -m -- "${a%%::*}")
    case "$p" in
      "$repo"/tests/*) if [ -e "$p" ]; then return 0; fi ;;
    esac
  done
  echo tests/integration
}

# lib_junit_counts XML: "PASSED FAILED" of the pytest run that wrote XML
# (errors count as failed, skips as neither); "0 0" when there is no XML,
# as when pytest stopped before running anything.
lib_junit_counts() {
  /usr/bin/python3 - "$1" <<'EOF'
import sys
import xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print(0, 0)
    sys.exit()
suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
p = f = 0
for s in suites:
    n = lambda k: int(s.get(k, 0))
    f += n("failures") + n("errors")
    p += n("tests") - n("failures") - n("errors") - n("skipped")
print(p, f)
EOF
}

"""The scripting recipes of README.md and imapfs.1, extracted verbatim, so
that a recipe changed in the docs is tested as changed (test_recipes.py).

A recipe is
  - README.md: one paragraph (lines between blank lines) of a ```sh block;
  - imapfs.1: one .nf/.fi block of the EXAMPLES section, roff escapes
    undone (\\- \\e \\(aq ...; an escape not known here is an error, so a
    new one cannot slip through as garbage).

The one rule that leaves lines out (EXCLUDED): lines that need a real
account or the system rather than ~/mail -- `imapfs mount|umount|status`,
`systemctl`, `journalctl`, `sudo` (the quick start's tests/demo and
tests/run) -- together with their continuation lines. A recipe left empty
by it is not a recipe. Everything else runs.
"""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
README = os.path.join(ROOT, "README.md")
MANPAGE = os.path.join(ROOT, "imapfs.1")

EXCLUDED = re.compile(r"^\s*(imapfs\s+(mount|umount|status)\b|systemctl\b|"
                      r"journalctl\b|sudo\b)")


class Recipe:
    def __init__(self, source, line, text):
        self.source = source    # "README.md" or "imapfs.1"
        self.line = line        # 1-based line of its first line
        self.text = text

    @property
    def id(self):
        return "%s:%d" % (self.source, self.line)

    def __repr__(self):
        return "<recipe %s %r>" % (self.id, self.text)


def _drop_excluded(lines):
    """LINES = [(lineno, text)] without excluded commands and their
    continuation lines."""
    out = []
    skipping = False
    for n, t in lines:
        if skipping or EXCLUDED.match(t):
            skipping = t.rstrip().endswith("\\")
            continue
        out.append((n, t))
    return out


def _recipe(source, lines):
    lines = _drop_excluded(lines)
    if not [t for _, t in lines if t.strip() and not t.lstrip().startswith("#")]:
        return None
    return Recipe(source, lines[0][0], "\n".join(t for _, t in lines) + "\n")


def readme_recipes(path=README):
    out = []
    block = None
    para = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if block is None:
                if line.strip() == "```sh":
                    block, para = True, []
                continue
            if line.strip() == "```" or not line.strip():
                r = para and _recipe("README.md", para)
                if r:
                    out.append(r)
                para = []
                if line.strip() == "```":
                    block = None
                continue
            para.append((n, line))
    return out


_ROFF = re.compile(r"\\(\((..)|f[BIRP]|[-e&])")
_CHARS = {"aq": "'", "dq": '"', "ti": "~", "ha": "^", "rs": "\\"}


def roff_unescape(line):
    def sub(m):
        if m.group(2):
            if m.group(2) not in _CHARS:
                raise ValueError("unknown roff character \\(%s in %r"
                                 % (m.group(2), line))
            return _CHARS[m.group(2)]
        e = m.group(1)
        return {"-": "-", "e": "\\", "&": ""}.get(e, "")
    out = _ROFF.sub(sub, line)
    left = re.sub(r"\\\\", "", _ROFF.sub("", line))
    if "\\" in left:
        raise ValueError("unknown roff escape in %r" % line)
    return out


def man_recipes(path=MANPAGE):
    out = []
    section = None
    block = None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith(".SH "):
                section = line[4:].strip().strip('"')
                continue
            if section != "EXAMPLES":
                continue
            if line.startswith(".nf"):
                block = []
            elif line.startswith(".fi"):
                r = block and _recipe("imapfs.1", block)
                if r:
                    out.append(r)
                block = None
            elif block is not None and not line.startswith((".RS", ".RE")):
                if line.startswith("."):
                    raise ValueError("imapfs.1:%d: request %r inside an "
                                     "EXAMPLES block" % (n, line))
                block.append((n, roff_unescape(line)))
    return out


def all_recipes():
    return readme_recipes() + man_recipes()


if __name__ == "__main__":
    for r in all_recipes():
        print("---- %s\n%s" % (r.id, r.text), end="")

"""No cycle among the files of src/: which .c calls (or reads a variable
of) which other .c, from the symbols each object file defines and the ones
it leaves undefined (`nm` on build/src/libimapfs-core.a.p/*.o). A cycle
means two parts that cannot be read, tested or replaced one without the
other (issue 14: vfs.c -> prefetch.c -> bodies.c -> vfs.c was one).

Run alone (`python3 tests/integration/test_src_cycles.py`) it prints the
graph's cycles, or "no cycle among N files".
"""

import glob
import os
import subprocess
import sys

import pytest

import mountutil


def _objects():
    d = os.path.join(mountutil.build_dir(), "src", "libimapfs-core.a.p")
    return sorted(glob.glob(os.path.join(d, "*.o")))


def _symbols(obj):
    """(defined, undefined): the global symbols OBJ defines and uses."""
    out = subprocess.run(["nm", "-g", obj], capture_output=True, check=True,
                         text=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
        elif len(parts) == 3 and parts[1] not in ("U", "w", "v"):
            defined.add(parts[2])
    return defined, undefined


def graph(objs):
    """{file.c: {file.c it uses}} among OBJS (objects of src/)."""
    name = lambda o: os.path.basename(o)[:-len(".o")]
    owner, uses = {}, {}
    for o in objs:
        defined, undefined = _symbols(o)
        for s in defined:
            owner[s] = name(o)
        uses[name(o)] = undefined
    g = {}
    for f, undefined in uses.items():
        g[f] = sorted({owner[s] for s in undefined if s in owner and owner[s] != f})
    return g


def cycles(g):
    """The strongly connected components of G with more than one file
    (Tarjan), each sorted; a file in none is in no cycle."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    return sorted(out)


def report(g):
    """Lines describing every cycle of G: its files and the edges among them."""
    lines = []
    for comp in cycles(g):
        lines.append("cycle among %d files: %s" % (len(comp), " ".join(comp)))
        for f in comp:
            inside = [t for t in g[f] if t in comp]
            lines.append("  %s -> %s" % (f, " ".join(inside)))
    return lines


def test_no_cycle_among_src_files():
    objs = _objects()
    if not objs:
        pytest.fail("no object files in %s/src/libimapfs-core.a.p: build first "
                    "(ninja -C build)" % mountutil.build_dir(), pytrace=False)
    lines = report(graph(objs))
    assert not lines, "src/ files that depend on each other in a cycle:\n" + \
        "\n".join(lines)


def test_finds_a_cycle():
    # the detector itself: a -> b -> c -> a is one cycle, d outside it
    g = {"a.c": ["b.c"], "b.c": ["c.c"], "c.c": ["a.c", "d.c"], "d.c": []}
    assert cycles(g) == [["a.c", "b.c", "c.c"]]
    assert cycles({"a.c": ["b.c"], "b.c": []}) == []


if __name__ == "__main__":
    g = graph(_objects())
    lines = report(g)
    print("\n".join(lines) if lines else "no cycle among %d files" % len(g))
    sys.exit(1 if lines else 0)

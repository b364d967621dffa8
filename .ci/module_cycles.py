#!/usr/bin/env python3
"""Fails when modules of the crate import each other in a cycle.

A module is a file or directory under src/ (src/ws/session.rs is `ws::session`,
src/ws/mod.rs is `ws`). An edge A -> B is any `crate::B...` path (or `super::`
resolved to one) in A's source, tests excluded. Reported: every strongly
connected component with more than one module, at two granularities —
top-level modules (`ws`, `http`, `tcp`...) and individual files.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")

# Known cycles, each with the issue that removes it. Anything else fails.
ALLOWED = {
    # The TUI's panes are free functions over `App`; the TUI issue gives
    # them a `Pane` trait with their own state (gitui's components).
    frozenset({"tui::app", "tui::panes"}): "TUI issue: Pane trait",
}


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return rel


def strip_tests(text):
    """Drops the test module and comments (doc links are not imports)."""
    i = text.find("#[cfg(test)]")
    text = text if i < 0 else text[:i]
    return "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("//"))


def paths_in(text, me):
    out = set()
    for m in re.finditer(r"\bcrate::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)", text):
        out.add(tuple(m.group(1).split("::")))
    for m in re.finditer(r"\bsuper::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)", text):
        base = me[:-1] if me else []
        out.add(tuple(base + m.group(1).split("::")))
    # `use crate::{a, b::c}` groups
    for m in re.finditer(r"\bcrate::\{([^}]*)\}", text):
        for part in m.group(1).split(","):
            part = part.strip()
            if part:
                out.add(tuple(part.split("::")))
    return out


def main():
    files = {}
    for d, _, fs in os.walk(ROOT):
        for f in fs:
            if f.endswith(".rs"):
                p = os.path.join(d, f)
                files[tuple(module_of(p))] = strip_tests(open(p, encoding="utf-8").read())
    mods = set(files)
    bad = False
    for depth, name in ((1, "top-level modules"), (None, "files")):
        def key(m):
            return m[:depth] if depth else m
        nodes = {key(m) for m in mods if m}
        edges = {n: set() for n in nodes}
        for m, text in files.items():
            if not m:
                continue
            for p in paths_in(text, list(m)):
                # the longest prefix of p that is a module
                target = None
                for k in range(len(p), 0, -1):
                    if p[:k] in mods:
                        target = p[:k]
                        break
                if target is None:
                    continue
                a, b = key(m), key(target)
                if a != b and b in edges:
                    edges[a].add(b)
        # Tarjan's SCC
        index, low, on, stack, sccs = {}, {}, set(), [], []
        counter = [0]

        def strong(v):
            index[v] = low[v] = counter[0]
            counter[0] += 1
            stack.append(v)
            on.add(v)
            for w in edges[v]:
                if w not in index:
                    strong(w)
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
                    sccs.append(comp)

        sys.setrecursionlimit(10000)
        for v in sorted(nodes):
            if v not in index:
                strong(v)
        known = [c for c in sccs if frozenset("::".join(x) for x in c) in ALLOWED]
        for c in known:
            names = frozenset("::".join(x) for x in c)
            print(f"known cycle among {name}: {' <-> '.join(sorted(names))} ({ALLOWED[names]})")
        sccs = [c for c in sccs if c not in known]
        if sccs:
            bad = True
            for c in sccs:
                names = sorted("::".join(x) for x in c)
                print(f"import cycle among {name}: {' <-> '.join(names)}")
                for a in c:
                    for b in sorted(edges[a]):
                        if b in c:
                            print(f"   {'::'.join(a)} -> {'::'.join(b)}")
        else:
            print(f"no import cycles among {len(nodes)} {name}")
    sys.exit(1 if bad else 0)


main()

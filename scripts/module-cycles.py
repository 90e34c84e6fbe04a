#!/usr/bin/env python3
"""Fails when the modules of a crate import each other in a circle, or when a domain module
imports one of a higher layer (ARCHITECTURE.md, "Rules").

Reads every `crate::…`, `super::…` and `self::…` path outside comments and test modules, resolves
it to the deepest module that exists, and looks for strongly connected components. A parent
declaring its children (`mod x;`) is not an import; a child naming its parent is.

    python3 scripts/module-cycles.py domain/src app/src server/src
"""
import collections
import os
import re
import sys


def module_name(path):
    m = path[:-3]
    if m.endswith("/mod"):
        m = m[:-4]
    return "crate" if m in ("lib", "main") else m.replace("/", "::")


def graph(root):
    files = {}
    for directory, _, names in os.walk(root):
        for name in names:
            if name.endswith(".rs"):
                full = os.path.join(directory, name)
                with open(full, encoding="utf-8") as f:
                    files[module_name(os.path.relpath(full, root))] = f.read()
    known = set(files)

    def resolve(current, path):
        parts = path.split("::")
        if parts[0] == "crate":
            base, parts = [], parts[1:]
        elif parts[0] == "super":
            base = current.split("::")[:-1] if current != "crate" else []
            parts = parts[1:]
            while parts and parts[0] == "super":
                base, parts = base[:-1], parts[1:]
        elif parts[0] == "self":
            base, parts = (current.split("::") if current != "crate" else []), parts[1:]
        else:
            return None
        for i in range(len(parts), -1, -1):
            candidate = "::".join(base + parts[:i]) or "crate"
            if candidate in known:
                return candidate
        return None

    edges = collections.defaultdict(set)
    for module, text in files.items():
        text = re.split(r"#\[cfg\(test\)\]\s*mod tests", text)[0]
        text = re.sub(r"//[^\n]*", "", text)
        for m in re.finditer(
            r"\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z_0-9]*)+)(::\{([^}]*)\})?", text
        ):
            targets = [m.group(1)]
            for part in (m.group(3) or "").split(","):
                part = part.strip().split(" as ")[0]
                if part and part != "self":
                    targets.append(m.group(1) + "::" + part.split("::{")[0])
            for t in targets:
                r = resolve(module, t)
                if r and r not in (module, "crate"):
                    edges[module].add(r)
    return known, edges


def cycles(nodes, edges):
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return found


# The domain's layers, lowest first (a module's layer is that of its longest listed prefix). A
# module may import its own layer and those below, never one above.
DOMAIN_LAYERS = [
    ["error", "call", "text"],
    ["address", "audit", "throttle", "password", "password_policy", "accounts", "cards",
     "sessions", "mail", "refusals", "routing", "db", "directory", "news", "sign_in_policy"],
    ["auth"],
    ["admin", "import", "provisioning", "demo"],
]


def layer_of(module):
    best = None
    for level, prefixes in enumerate(DOMAIN_LAYERS):
        for p in prefixes:
            if module == p or module.startswith(p + "::"):
                if best is None or len(p) > best[1]:
                    best = (level, len(p))
    return None if best is None else best[0]


def layer_violations(nodes, edges):
    bad = []
    for a in sorted(nodes):
        la = layer_of(a)
        if a != "crate" and la is None:
            bad.append(f"{a} is in no layer: add it to DOMAIN_LAYERS")
        for b in sorted(edges[a]):
            lb = layer_of(b)
            if la is not None and lb is not None and lb > la:
                bad.append(f"{a} (layer {la}) imports {b} (layer {lb})")
    return bad


def main():
    failed = False
    for root in sys.argv[1:]:
        nodes, edges = graph(root)
        if root.rstrip("/").endswith("domain/src"):
            for line in layer_violations(nodes, edges):
                failed = True
                print("  layer:", line)
        found = cycles(nodes, edges)
        print(f"{root}: {len(nodes)} modules, {len(found)} circle(s)")
        for component in found:
            failed = True
            print("  circle:", ", ".join(component))
            for a in component:
                print(f"    {a} -> {', '.join(sorted(b for b in edges[a] if b in component))}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

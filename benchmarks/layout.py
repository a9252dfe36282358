"""Counts of how the code is laid out, printed as JSON (issue: the layout a newcomer can read):

- ``local_first_party_imports``: imports of citymind's own packages inside functions (most dodge an ordering or a
  cycle; the goal is at most 40);
- ``any_share``: per package, the share of function signatures that mention ``Any`` (goal: at most 0.15 in
  ``serving`` and ``events``);
- ``module_cycles``: import cycles between modules (strongly connected groups, top-level imports only; goal: none);
- ``long_modules``: modules over 400 lines.

``python benchmarks/layout.py`` (no third-party imports: it reads the source)."""

from __future__ import annotations

import ast
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

PACKAGES = ("citymind", "registry", "models", "rules", "knowledge_graph", "training", "events", "serving")
ROOT = Path(__file__).resolve().parents[1]


def modules(root: Path = ROOT) -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _first_party(node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        if node.level:  # relative: resolve against the module's package
            base = module.split(".")[: -node.level]
            return [".".join([*base, node.module] if node.module else base)]
        names = [node.module or ""]
    else:
        names = [alias.name for alias in node.names]
    return [n for n in names if n.split(".")[0] in PACKAGES]


def _signatures(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def _mentions_any(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    args = fn.args
    annotations = [a.annotation for a in [*args.posonlyargs, *args.args, *args.kwonlyargs] if a.annotation]
    annotations += [a.annotation for a in (args.vararg, args.kwarg) if a is not None and a.annotation]
    annotations += [fn.returns] if fn.returns else []
    return any("Any" in ast.unparse(a) for a in annotations)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's, recursive: imports nest shallowly)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in edges.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def _target(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def layout(root: Path = ROOT) -> dict[str, object]:
    known = modules(root)
    local: Counter[str] = Counter()
    signatures: Counter[str] = Counter()
    with_any: Counter[str] = Counter()
    edges: dict[str, set[str]] = defaultdict(set)
    long_modules = {}
    for module, path in known.items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 400:
            long_modules[module] = text.count("\n")
        tree = ast.parse(text)
        package = module.split(".")[0]
        functions = _signatures(tree)
        signatures[package] += len(functions)
        with_any[package] += sum(map(_mentions_any, functions))
        inside = {id(n) for fn in functions for n in ast.walk(fn) if isinstance(n, ast.Import | ast.ImportFrom)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            names = _first_party(node, module)
            if id(node) in inside:
                local[module] += len(names)
                continue
            for name in names:  # the module itself, or the module a ``from package import name`` names
                for candidate in [name, *(f"{name}.{a.name}" for a in getattr(node, "names", []))]:
                    target = _target(candidate, known)
                    if target and target != module and not module.startswith(target + "."):
                        edges[module].add(target)
    return {
        "local_first_party_imports": sum(local.values()),
        "local_first_party_by_module": dict(local.most_common()),
        "any_share": {p: round(with_any[p] / signatures[p], 3) for p in PACKAGES if signatures[p]},
        "signatures": {p: [with_any[p], signatures[p]] for p in PACKAGES if signatures[p]},
        "module_cycles": _cycles(edges),
        "long_modules": long_modules,
    }


if __name__ == "__main__":
    json.dump(layout(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT), sys.stdout, ensure_ascii=False, indent=1)
    print()

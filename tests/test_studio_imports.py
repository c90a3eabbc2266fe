"""The studio's import structure (read from the source, nothing imported): no import cycles. The
layers (window > panels > run model / sources / worker > engine) are import-linter contracts
(tests/test_architecture.py); underscore names stay in their module (tests/test_budgets.py)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDIO = ROOT / "studio"

def modules() -> dict[str, Path]:
    out = {}
    for path in STUDIO.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every ``import`` / ``from ... import`` in the file, nested ones too."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names)
    return out


def studio_graph() -> dict[str, set[str]]:
    mods = modules()
    graph = {}
    for name, path in mods.items():
        deps = set()
        for module, names in imports(path):
            if module in mods:
                deps.add(module)
            deps.update(f"{module}.{n}" for n in names if f"{module}.{n}" in mods)
        graph[name] = deps - {name}
    return graph


def test_no_import_cycles():
    graph = studio_graph()
    seen, on_path, cycles = set(), [], []

    def visit(node):
        if node in on_path:
            cycles.append(on_path[on_path.index(node):] + [node])
            return
        if node in seen:
            return
        seen.add(node)
        on_path.append(node)
        for dep in sorted(graph[node]):
            visit(dep)
        on_path.pop()

    for node in sorted(graph):
        visit(node)
    # A package importing its own submodules (studio/__init__ -> studio._compat) is no cycle of ours.
    cycles = [c for c in cycles if not all(m == "studio" or m == "studio._compat" for m in c)]
    assert not cycles, cycles

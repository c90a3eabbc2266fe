"""Budgets that keep the code readable: no module of the engine or the studio over
:data:`MAX_LINES` lines, no function over the complexity limit set in pyproject.toml (ruff's C901,
``[tool.ruff.lint.mccabe] max-complexity``), and no module importing another module's underscore
names. When a change would break one, split the file or the function first (docs/ARCHITECTURE.md,
"Budgets")."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "studio")
MAX_LINES = 600


def sources() -> dict[str, Path]:
    """Module name -> file, for every module of the engine and the studio."""
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def test_no_module_is_longer_than_the_budget():
    long = {name: n for name, path in sources().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them): {long}"


def test_no_function_is_more_complex_than_the_limit():
    limit = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]["mccabe"]["max-complexity"]
    assert limit <= 10
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is part of the dev extra (scripts/setup.sh installs it)"
    r = subprocess.run([ruff, "check", "--select", "C901", "--no-cache", "--output-format", "concise", *PACKAGES],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, f"functions over McCabe complexity {limit}:\n{r.stdout}{r.stderr}"


def _absolute(module: str | None, level: int, name: str, is_package: bool) -> str:
    """The absolute name of ``from <level dots><module> import ...`` written in module ``name``."""
    if level == 0:
        return module or ""
    base = name.split(".")
    base = base[:len(base) - level + (1 if is_package else 0)]
    return ".".join(base + ([module] if module else []))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _imports(name: str, tree: ast.AST, is_package: bool, modules: set[str]) -> tuple[list[str], dict[str, str]]:
    """(``from x import _y`` of another module x of ours, {alias: module} of the modules imported)."""
    bad, aliases = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            mod = _absolute(node.module, node.level, name, is_package)
            for a in node.names:
                if f"{mod}.{a.name}" in modules:  # a submodule: its x._y uses are checked below
                    aliases[a.asname or a.name] = f"{mod}.{a.name}"
                elif mod in modules and mod != name and _private(a.name):
                    bad.append(f"{name}: from {mod} import {a.name}")
        elif isinstance(node, ast.Import):
            aliases.update({a.asname: a.name for a in node.names if a.name in modules and a.asname})
    return bad, aliases


def private_uses(name: str, path: Path, modules: set[str]) -> list[str]:
    """``from x import _y``, ``import x`` then ``x._y``, where x is another module of ours."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad, aliases = _imports(name, tree, path.name == "__init__.py", modules)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr)
                and aliases.get(node.value.id, name) != name):
            bad.append(f"{name}: {aliases[node.value.id]}.{node.attr}")
    return bad


def test_no_module_uses_another_modules_underscore_names():
    mods = sources()
    bad = [line for name, path in mods.items() for line in private_uses(name, path, set(mods))]
    assert not bad, "underscore names are a module's own: make them public or move them\n" + "\n".join(bad)

"""The house checks: the lint, the type checker and the layer contracts pass on the whole tree.

Each tool runs once as its own process (one test each, so pytest-xdist gives each to one worker)
and its own output is the failure message. Configuration lives in pyproject.toml
(``[tool.ruff]``, ``[tool.mypy]``, ``[tool.importlinter]``); docs/development.md#checks says how to
run them by hand.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Everything ruff looks at; mypy and import-linter read their paths from pyproject.toml.
LINTED = ["analysis", "ingest", "heavylegs", "tests", "benchmarks"]


def run(*argv: str, timeout_s: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)


def report(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"


def test_ruff_finds_nothing() -> None:
    done = run(sys.executable, "-m", "ruff", "check", "--no-fix", "--output-format", "concise", *LINTED)
    assert done.returncode == 0, report(done)


def test_mypy_finds_nothing() -> None:
    # Strict on analysis/ and ingest/, the defaults on heavylegs/ (pyproject.toml [tool.mypy]).
    # The cache (.mypy_cache) makes a re-run take a few seconds; a cold run ~20 s on 2 cores.
    done = run(sys.executable, "-m", "mypy")
    assert done.returncode == 0, report(done)


def test_import_contracts_are_kept() -> None:
    # --no-cache: the graph takes about a second to build and leaves no cache folder behind.
    done = run(str(BIN / "lint-imports"), "--no-cache")
    assert done.returncode == 0, report(done)


def imported_roots(path: Path) -> set[str]:
    """Top-level names a module imports, relative imports left out (they stay inside the package)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_analysis_imports_only_numpy_and_the_standard_library() -> None:
    # import-linter's "analysis-pure" contract forbids our own packages; this forbids the rest.
    allowed = set(sys.stdlib_module_names) | {"numpy", "analysis", "__future__"}
    found = {str(p.relative_to(ROOT)): imported_roots(p) - allowed for p in sorted((ROOT / "analysis").rglob("*.py"))}
    assert {path: names for path, names in found.items() if names} == {}


def test_imported_roots_sees_every_import_form(tmp_path: Path) -> None:
    # The check above is only as good as this walk: plain, dotted, from-, nested and relative imports.
    module = tmp_path / "m.py"
    module.write_text(
        "import os, numpy.linalg as la\nfrom sqlalchemy import select\nfrom . import sibling\n"
        "def f():\n    import httpx\n",
        encoding="utf-8",
    )
    assert imported_roots(module) == {"os", "numpy", "sqlalchemy", "httpx"}

"""The test harness keeps its own shape: fixtures by name, helpers imported, every collected module a test.

pytest collects every ``tests/test_*.py``; a helper module named so is imported as
a test module and its helpers can be mistaken for tests. ``conftest.py`` is pytest's
to load: importing it as a module runs it twice under two names.
"""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imported(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_nothing_imports_conftest() -> None:
    offenders = sorted(p.name for p in TESTS.glob("*.py") if {"conftest", "tests.conftest"} & _imported(_tree(p)))
    assert offenders == []


def test_every_collected_module_holds_tests() -> None:
    def has_test(tree: ast.Module) -> bool:
        return any(
            (isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name.startswith("test"))
            or (isinstance(n, ast.ClassDef) and n.name.startswith("Test"))
            for n in tree.body
        )

    helpers_named_as_tests = sorted(p.name for p in TESTS.glob("test_*.py") if not has_test(_tree(p)))
    assert helpers_named_as_tests == []


def test_checks_see_the_real_files() -> None:
    # The two checks above must not pass vacuously.
    assert len(list(TESTS.glob("test_*.py"))) > 50
    assert "tests.helpers" in _imported(_tree(TESTS / "test_analysis_realfile.py"))

"""Plain helpers shared by the tests: where the test data is, and how to run the CLI.

Fixtures live in ``tests/conftest.py`` and are used by name; nothing imports
``conftest``. What a test imports comes from here (and from the fakes and
builders beside it: ``synth``, ``alerts_support``, ``strava_fake`` ...).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The shared corpus sits beside the checkout in the project workspace only; tests of it skip elsewhere.
CORPUS = ROOT.parent / "shared" / "corpus"

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent (only in the project workspace)")


def poll(fn: Callable[[], Any], timeout: float, interval: float = 0.1, what: str = "condition") -> Any:
    """Wait until ``fn()`` is truthy and return that value; fail the test after ``timeout`` seconds.

    The tests' one waiting loop: where the code under test offers no event to wait on (another
    process, a server thread, a file watcher), ask for the condition itself, never sleep a fixed time.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@dataclass(frozen=True)
class CliResult:
    """What a CLI run gives back, spelled like ``subprocess.CompletedProcess``."""

    returncode: int
    stdout: str
    stderr: str


def _clean_env(env: dict[str, str] | None) -> dict[str, str | None]:
    # Outside HEAVYLEGS_* settings must not leak into a test: None unsets a variable for the run.
    out: dict[str, str | None] = {k: None for k in os.environ if k.startswith("HEAVYLEGS_")}
    out.update(env or {})
    return out


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> CliResult:
    """Run ``heavylegs ARGS`` in this process with click's ``CliRunner``.

    The command, its options, output and exit code are what a user gets; only
    the process is saved. Use ``run_process`` where the process is the point
    (signals, kills, the service, start-up imports, the real entry point).
    """
    from heavylegs.cli import main

    result = CliRunner().invoke(main, list(args), env=_clean_env(env), input=input, catch_exceptions=False)
    return CliResult(result.exit_code, result.stdout, result.stderr)


def run_process(*args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m heavylegs ARGS`` as a real subprocess."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HEAVYLEGS_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "heavylegs", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=timeout,
    )

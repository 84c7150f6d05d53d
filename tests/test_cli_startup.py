"""The command line's lazy start: what ``--help`` imports, and the static command table.

``heavylegs --help`` lists the commands from ``heavylegs.cli.COMMANDS`` instead
of importing every command module; these tests keep that table true to the
commands and check that the cheap paths stay cheap in what they import (not
in seconds: timing is for benchmarks/bench_startup.py).
"""
from __future__ import annotations

import importlib
import json
import subprocess
import sys

import click
from click.testing import CliRunner

from heavylegs.cli import _MODULES, COMMANDS, main

HEAVY = ("sqlalchemy", "pydantic", "numpy", "matplotlib", "starlette", "rich", "heavylegs.settings")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_help_imports_nothing_heavy() -> None:
    code = "from heavylegs.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    loaded = _modules_after(code)
    assert "click" in loaded and "heavylegs.cli" in loaded
    assert not {m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY}


def test_a_command_loads_only_its_module() -> None:
    code = "from heavylegs.cli import main\nimport click\nmain.get_command(click.Context(main), 'import')"
    loaded = _modules_after(code)
    assert "heavylegs.cli.ingest_cmds" in loaded
    assert "heavylegs.cli.analysis_cmds" not in loaded and "heavylegs.cli.service_cmds" not in loaded
    assert "matplotlib" not in loaded and "starlette" not in loaded


def test_command_table_matches_the_commands() -> None:
    real = dict(main.commands)  # loads every module
    assert set(real) == set(COMMANDS)
    registrar: dict[str, str] = {}
    for module in _MODULES:  # which module registers a command first, alone on a fresh group
        group = click.Group()
        importlib.import_module(f"heavylegs.cli.{module}").register(group)
        for name in group.commands:
            registrar.setdefault(name, module)
    for name, cmd in real.items():
        module, short = COMMANDS[name]
        assert registrar[name] == module, name
        for limit in (30, 45, 60, 1000):
            assert click.Command(name, help=short).get_short_help_str(limit) == cmd.get_short_help_str(limit), (name, limit)


def test_help_lists_every_command_as_click_would() -> None:
    result = CliRunner().invoke(main, ["--help"], terminal_width=100)
    assert result.exit_code == 0
    listed = result.output.split("Commands:\n", 1)[1]
    names = [line.split()[0] for line in listed.splitlines() if line.strip()]
    assert names == sorted(COMMANDS)
    ctx = click.Context(main, terminal_width=100)
    formatter = ctx.make_formatter()
    click.Group.format_commands(main, ctx, formatter)  # click's own listing, every module loaded
    assert formatter.getvalue().split("Commands:\n", 1)[1] == listed


def test_subcommand_help_and_connect_group_still_work() -> None:
    result = CliRunner().invoke(main, ["connect", "--help"])
    assert result.exit_code == 0
    assert "strava" in result.output and "garmin" in result.output

"""CLI commands (placeholder until implemented)."""
from __future__ import annotations

import click


def register(main: click.Group) -> None:
    return None

"""Packaged configuration files: ``default.toml`` (every key, documented) and ``example.toml``."""
from __future__ import annotations

from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent
DEFAULT_TOML = CONFIG_DIR / "default.toml"
EXAMPLE_TOML = CONFIG_DIR / "example.toml"

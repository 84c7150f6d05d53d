"""The shipped TOML files parse, and the example only uses keys the defaults document."""
from __future__ import annotations

import tomllib
from typing import Any

from config import DEFAULT_TOML, EXAMPLE_TOML
from heavylegs.settings import load_settings


def _keys(d: dict[str, Any], prefix: str = "") -> set[str]:
    out: set[str] = set()
    for k, v in d.items():
        if isinstance(v, dict):
            out |= _keys(v, f"{prefix}{k}.")
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            out.add(f"{prefix}{k}")
        else:
            out.add(f"{prefix}{k}")
    return out


def test_example_keys_are_documented_defaults() -> None:
    default = tomllib.loads(DEFAULT_TOML.read_text())
    example = tomllib.loads(EXAMPLE_TOML.read_text())
    documented = _keys(default) | {"athlete.hr_rest_bpm", "athlete.hr_max_bpm", "alerts.channels"}
    # *_file / *_env variants of secrets are documented once for all secrets.
    unknown = {k for k in _keys(example) if k not in documented and not k.endswith(("_file", "_env"))}
    assert unknown == set()


def test_example_loads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = load_settings(config=EXAMPLE_TOML, data_dir=tmp_path, environ={})
    assert s.athlete("me")["sex"] == "female"
    assert s.get("smtp.security") == "starttls"

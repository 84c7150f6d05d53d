"""The shipped TOML files parse, the example only uses documented keys, and default.toml and the typed settings agree."""
from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from analysis.daily import DailyParams
from analysis.runs import RunParams
from config import DEFAULT_TOML, EXAMPLE_TOML
from heavylegs.settings import load_settings
from heavylegs.settings_schema import AnalysisSection, ConfigFile


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


# ---- config/default.toml and the typed settings agree exactly -------------------
def _sections(model: type[BaseModel]) -> dict[str, FieldInfo]:
    return {(info.alias or name): info for name, info in model.model_fields.items()}


def _section_type(info: FieldInfo) -> type[BaseModel] | None:
    ann = info.annotation
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


def _compare(model: type[BaseModel], table: dict[str, Any], prefix: str, text: str, problems: list[str]) -> None:
    fields = _sections(model)
    for key in table:
        if key not in fields:
            problems.append(f"{prefix}{key}: in default.toml but not a field of {model.__name__}")
    for key, info in fields.items():
        sub = _section_type(info)
        if sub is not None:
            if not isinstance(table.get(key), dict):
                problems.append(f"{prefix}{key}: table missing from default.toml")
            else:
                _compare(sub, table[key], f"{prefix}{key}.", text, problems)
            continue
        default = info.get_default(call_default_factory=True)
        if key not in table:
            # Unset-by-default keys and arrays of tables are documented as comments.
            if (default is None or default in ((), {})) and re.search(rf"^#\s*(\[+[\w.]*{key}|{key}\s*=)", text, re.M):
                continue
            problems.append(f"{prefix}{key}: a field (default {default!r}) missing from default.toml")
            continue
        value = table[key]
        same = list(default) == value if isinstance(default, tuple) else (default == value and type(value) is not bool or default is value)
        if not same:
            problems.append(f"{prefix}{key}: default.toml says {value!r}, the field's default is {default!r}")


def test_default_toml_and_the_typed_settings_agree_exactly() -> None:
    text = DEFAULT_TOML.read_text()
    problems: list[str] = []
    _compare(ConfigFile, tomllib.loads(text), "", text, problems)
    assert problems == []


def _every_field(model: type[BaseModel], prefix: str = "") -> list[tuple[str, FieldInfo]]:
    out = []
    for key, info in _sections(model).items():
        out.append((f"{prefix}{key}", info))
        args = [info.annotation, *typing.get_args(info.annotation)]
        for arg in [a for x in args for a in (x, *typing.get_args(x))]:
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                out += _every_field(arg, f"{prefix}{key}.")
    return out


def test_every_setting_is_described_for_the_reference() -> None:
    undocumented = [path for path, info in _every_field(ConfigFile) if len((info.description or "").strip()) < 8]
    assert undocumented == []


def test_the_analysis_library_defaults_match_the_config_defaults() -> None:
    # RunParams/DailyParams keep defaults for library use; the service builds them from [analysis].
    section = AnalysisSection()
    assert section.run_params() == RunParams()
    assert section.daily_params() == DailyParams()


def test_every_run_and_daily_parameter_is_read_from_the_config() -> None:
    # Nudge every numeric key: each RunParams/DailyParams field must move, or a key is not wired.
    changed: dict[str, Any] = {"gap_model": "minetti"}
    for name, info in AnalysisSection.model_fields.items():
        default = info.get_default(call_default_factory=True)
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            changed[name] = default + 1
    section = AnalysisSection(**changed)
    for params, base in ((section.run_params(), RunParams()), (section.daily_params(), DailyParams())):
        same = [f.name for f in dataclasses.fields(base) if getattr(params, f.name) == getattr(base, f.name)]
        assert same == []


def test_default_toml_alone_loads_with_every_section_typed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = load_settings(data_dir=tmp_path, environ={})
    assert s.cfg == ConfigFile()  # default.toml adds nothing the defaults in code do not say

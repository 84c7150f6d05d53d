"""``ConfigError`` and the wording of validation errors: one line per bad key, named by its path."""
from __future__ import annotations

import difflib
import re
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

# pydantic adds the member of a union it tried to the error location
# ("to.str", "to.list[str]"); those are not keys a user wrote.
_UNION_MEMBER = re.compile(r"^(str|int|float|bool|none|.*\[.*\])$")
# Values of these keys are never echoed in an error: they may be credentials.
_SECRET_WORDS = ("password", "secret", "url", "key", "token", "db")


class ConfigError(Exception):
    """A missing or invalid config file, an unknown key or a bad value; the CLI makes it a usage error (exit 2)."""


def _path(loc: tuple[int | str, ...], tags: frozenset[str]) -> str:
    out: list[str] = []
    after_index = False
    for part in loc:
        if isinstance(part, int):
            out[-1:] = [f"{out[-1]}[{part}]"] if out else [f"[{part}]"]
            after_index = True
            continue
        if (after_index and part in tags) or _UNION_MEMBER.match(part):
            after_index = False
            continue  # a discriminated union's tag ("email") or a union member: not a key
        after_index = False
        out.append(part)
    return ".".join(out)


def _model_at(root: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The section class the last element of ``loc`` sits in (for "did you mean"), when it is plain."""
    model: Any = root
    parts = list(loc[:-1])
    while parts:
        part = parts.pop(0)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        fields = {(f.alias or n): f for n, f in model.model_fields.items()}
        if part not in fields:
            return None
        ann = fields[part].annotation
        if get_origin(ann) is dict:
            if not parts:
                return None
            parts.pop(0)  # the user's own key, e.g. the athlete's name
            ann = get_args(ann)[1]
        model = ann
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _known(root: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    model = _model_at(root, loc)
    return [] if model is None else [f.alias or n for n, f in model.model_fields.items()]


def _message(err: dict[str, Any], root: type[BaseModel]) -> str:
    kind, loc = err["type"], tuple(err["loc"])
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _known(root, loc), n=1)
        return "unknown key" + (f" (did you mean {close[0]}?)" if close else "")
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return f"unknown kind {ctx.get('tag')!r} (one of {ctx.get('expected_tags')})"
    # TOML calls them arrays; pydantic names the Python type we store them as.
    return str(err["msg"]).removeprefix("Value error, ").replace("valid tuple", "valid array")


def _shown_value(err: dict[str, Any]) -> str:
    """`` (got 5)`` for a scalar that is not a credential and not already quoted by our own check."""
    value, named = err.get("input"), " ".join(str(p) for p in err["loc"]).lower()
    if err["type"] == "value_error" or not isinstance(value, (str, int, float, bool)):
        return ""
    return "" if any(w in named for w in _SECRET_WORDS) else f" (got {value!r})"


def describe_errors(exc: ValidationError, where: str, root: type[BaseModel], tags: frozenset[str] = frozenset()) -> str:
    """``invalid configuration (<where>):`` and one ``key.path: message`` line per bad key.

    ``root`` is the validated model (for "did you mean"); ``tags`` are the values
    of discriminated unions' tags, which pydantic puts in the location.
    """
    lines: dict[str, list[str]] = {}
    shown: dict[str, str] = {}
    for err in exc.errors():
        path = _path(tuple(err["loc"]), tags) or "(top level)"
        msgs = lines.setdefault(path, [])
        msg = _message(dict(err), root)
        if msg not in msgs:
            msgs.append(msg)
        shown[path] = shown.get(path) or _shown_value(dict(err))
    body = "\n".join(f"  {path}: {' or '.join(msgs)}{shown[path]}" for path, msgs in lines.items())
    head = f"invalid configuration ({where})" if where else "invalid configuration"
    return f"{head}:\n{body}"

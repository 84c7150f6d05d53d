"""JSON and CSV renderings of ``daily_rows``/``run_rows``: exact column names, no rounding."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date
from typing import Any


def _plain(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date) else v


def rows_json(rows: list[dict[str, Any]], keys: Sequence[str]) -> str:
    """A JSON list of objects with exactly ``keys``; None becomes null; floats keep full precision."""
    return json.dumps([{k: _plain(r[k]) for k in keys} for r in rows], indent=1, allow_nan=False)


def _csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)  # shortest round-tripping form
    return str(_plain(v))


def rows_csv(rows: list[dict[str, Any]], keys: Sequence[str]) -> str:
    """CSV with a header row of ``keys``; empty fields for null, true/false for booleans."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(keys)
    for r in rows:
        out.writerow([_csv_value(r[k]) for k in keys])
    return buf.getvalue()

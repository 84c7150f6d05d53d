"""A small PNG for alert e-mails: daily load bars and the acute:chronic ratio line."""
from __future__ import annotations

import io
from typing import Any

Row = dict[str, Any]


def _own_chart(rows: list[Row]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 2.4), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    dates = [r["date"] for r in rows]
    ax.bar(dates, [r["load"] or 0.0 for r in rows], color="#9bb7d4", label="daily load")
    ax.set_ylabel("load")
    ratio = ax.twinx()
    ratio.plot(dates, [r.get("acwr_ewma") for r in rows], color="#c0392b", label="acute:chronic")
    for level, style in ((1.3, ":"), (1.5, "--")):
        ratio.axhline(level, color="#c0392b", linestyle=style, linewidth=0.8)
    ratio.set_ylabel("ratio")
    ax.tick_params(axis="x", labelsize=7, rotation=30)
    fig.subplots_adjust(bottom=0.25, right=0.88)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def load_png(rows: list[Row]) -> bytes | None:
    """PNG bytes for the last weeks of ``rows`` (dicts with date, load, acwr_ewma), or None without data."""
    if not rows:
        return None
    try:
        from heavylegs.report.charts import load_chart_png  # the report's chart, when that module exists
    except ImportError:
        return _own_chart(rows)
    try:
        return load_chart_png(rows)
    except Exception:  # noqa: BLE001 - a chart must never cost the alert; ours is the fallback
        return _own_chart(rows)

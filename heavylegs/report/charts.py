"""Report charts as PNG bytes (matplotlib, Agg, no pyplot: no global state, safe in the service).

The alert e-mails embed these inline, the HTML report as base64 data URLs.
"""
from __future__ import annotations

import io
from datetime import date
from typing import Any

import matplotlib

matplotlib.use("Agg")  # never a GUI backend, even if pyplot is imported elsewhere

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from heavylegs.report.profile import RunProfile  # noqa: E402

ACWR_BAND = (0.8, 1.3)
_BLUE, _ORANGE, _GREY, _RED, _GREEN = "#1f5fa8", "#d9731a", "#9a9a9a", "#b8322a", "#3a8a4a"


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _empty(message: str, size: tuple[float, float] = (9.0, 3.0)) -> bytes:
    fig = Figure(figsize=size)
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color="#555555")
    return _png(fig)


def _dates(ax: Any) -> None:
    loc = AutoDateLocator()
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(loc))


def _series(rows: list[dict[str, Any]], key: str) -> list[float]:
    return [float("nan") if r.get(key) is None else float(r[key]) for r in rows]


def load_chart_png(rows: list[dict[str, Any]]) -> bytes:
    """Daily load with acute and chronic averages, and the ACWR with the 0.8-1.3 band shaded.

    ``rows``: ``daily_rows`` dicts, oldest first.
    """
    if not rows:
        return _empty("No training load yet")
    days: list[date] = [r["date"] for r in rows]
    fig = Figure(figsize=(9.0, 5.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    top.bar(days, _series(rows, "load"), width=0.8, color="#c9d6e8", label="daily load")
    top.plot(days, _series(rows, "acute"), color=_ORANGE, lw=2, label="acute (7-day average)")
    top.plot(days, _series(rows, "chronic"), color=_BLUE, lw=2, label="chronic (28-day average)")
    top.set_ylabel("load (TRIMP)")
    top.legend(loc="upper left", fontsize=8, frameon=False)
    top.grid(axis="y", alpha=0.3)
    bottom.axhspan(*ACWR_BAND, color=_GREEN, alpha=0.12, label="0.8-1.3")
    bottom.axhline(1.0, color=_GREY, lw=0.8)
    bottom.plot(days, _series(rows, "acwr"), color=_RED, lw=2, label="ACWR (rolling, coupled)")
    bottom.plot(days, _series(rows, "acwr_ewma"), color=_RED, lw=1, ls="--", label="ACWR (EWMA)")
    bottom.set_ylabel("acute : chronic")
    bottom.set_ylim(bottom=0)
    bottom.legend(loc="upper left", fontsize=8, frameon=False, ncol=3)
    bottom.grid(axis="y", alpha=0.3)
    _dates(bottom)
    return _png(fig)


def fade_chart_png(runs: list[dict[str, Any]]) -> bytes:
    """Late-run fade and HR decoupling per run (``run_rows`` dicts, oldest first)."""
    if not runs:
        return _empty("No qualifying runs yet")
    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    ax = fig.add_subplot()
    days = [r["local_date"] for r in runs]
    ax.axhline(0.0, color=_GREY, lw=0.8)
    ax.plot(days, _series(runs, "fade_pct"), "o-", color=_ORANGE, lw=1.2, ms=5, label="late fade % (GAP, last quarter vs 10-60%)")
    ax.plot(days, _series(runs, "decoupling_pct"), "s--", color=_BLUE, lw=1, ms=4, label="HR decoupling % (Pa:HR)")
    ax.set_ylabel("% (positive = slower / HR drifted up)")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    _dates(ax)
    return _png(fig)


def long_run_chart_png(profile: RunProfile | None) -> bytes:
    """Pace (grade-adjusted and raw) and heart rate against distance, early and late stretches shaded."""
    if profile is None or profile.distance_km.size == 0:
        return _empty("No long run yet")
    fig = Figure(figsize=(9.0, 4.2), layout="constrained")
    ax = fig.add_subplot()
    km = profile.distance_km
    e0, e1 = (x / 1000.0 for x in profile.early_range_m)
    l0, l1 = (x / 1000.0 for x in profile.late_range_m)
    ax.axvspan(e0, e1, color=_BLUE, alpha=0.08, label="early stretch")
    ax.axvspan(l0, l1, color=_ORANGE, alpha=0.12, label="late stretch")
    ax.plot(km, profile.pace_raw_min_km, color=_GREY, lw=1, label="pace")
    ax.plot(km, profile.pace_gap_min_km, color=_ORANGE, lw=2, label="grade-adjusted pace")
    ax.invert_yaxis()  # faster is higher
    ax.set_xlabel("distance (km)")
    ax.set_ylabel("min/km")
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{int(v)}:{int(round((v % 1) * 60)):02d}")
    handles, labels = ax.get_legend_handles_labels()
    if profile.hr_bpm is not None:
        ax2 = ax.twinx()
        ax2.plot(km, profile.hr_bpm, color=_RED, lw=1.2, label="heart rate")
        ax2.set_ylabel("bpm")
        ax2.ticklabel_format(axis="y", useOffset=False)
        lo, hi = ax2.get_ylim()
        if hi - lo < 20:  # a flat line should look flat, not like noise blown up
            mid = (hi + lo) / 2
            ax2.set_ylim(mid - 10, mid + 10)
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="lower left", fontsize=8, frameon=False, ncol=3)
    # The title holds the activity's name (from a file or Strava): never math text or TeX, so a "$" in
    # a name ("Long run $\frac{1}{$") is shown as typed instead of failing every render.
    ax.set_title(profile.title, fontsize=10, parse_math=False, usetex=False)
    ax.grid(alpha=0.3)
    return _png(fig)

"""Every alert rule, by name, with its config section: adding a rule is one entry in ``RULES``
(plus its ``[alerts.rules.<name>]`` table in ``settings_schema_alerts.AlertRules``).

A rule looks either at one athlete's history (``per_athlete``: daily rows, runs,
active days) or at the whole store (``per_store``: the connected sources).
Rules run in the order of ``RULES``, and two couplings between them are kept
here, in the context, rather than in an if-chain:

- after a break the comeback rule owns the days, even when it is switched off
  (a ratio over a near-zero reference says nothing), so ``load_spike`` skips
  ``AthleteHistory.after_break``;
- monotony leaves the days of an open load_spike episode (``busy``, filled by
  load_spike, which runs first) and a no_rest streak to those rules.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from heavylegs.alerts import rules, rules_runs
from heavylegs.alerts.model import Finding
from heavylegs.alerts.rules_source import source_stalled
from heavylegs.settings_schema_alerts import (
    AlertRules,
    AlertsSection,
    ComebackRule,
    DecouplingRule,
    LateFadeRule,
    LoadSpikeRule,
    MonotonyRule,
    NoRestRule,
    RecurringFadeRule,
    RuleSection,
    SourceStalledRule,
)

Row = dict[str, Any]
RuleConfig = dict[str, Any]


@dataclass
class AthleteHistory:
    """One athlete's inputs to the per-athlete rules, and what the rules tell each other."""

    days: list[Row]  # daily_metrics rows, oldest first
    runs: list[Row]  # qualifying runs' activity_metrics (with start_ts), oldest first
    active: list[date]  # days with an activity or load
    reminder_days: int
    enabled: dict[str, RuleConfig]  # the configs of the enabled rules, by name
    after_break: set[date] = field(default_factory=set)
    busy: set[date] = field(default_factory=set)  # days of an open load_spike episode


@dataclass
class StoreView:
    """The whole store's inputs to the per-store rules."""

    sources: list[Row]
    starts_by_athlete: dict[int, list[float]]
    now: datetime
    reminder_days: int


@dataclass(frozen=True)
class Rule:
    section: type[RuleSection]
    per_athlete: Callable[[AthleteHistory, RuleConfig], Iterable[Finding]] | None = None
    per_store: Callable[[StoreView, RuleConfig], Iterable[tuple[int, Finding]]] | None = None


def _load_spike(h: AthleteHistory, cfg: RuleConfig) -> Iterator[Finding]:
    for f in rules.load_spike(h.days, cfg, h.reminder_days, h.after_break):
        if f.date is not None and f.last_date is not None:
            h.busy |= {f.date + timedelta(days=i) for i in range((f.last_date - f.date).days + 1)}
        yield f


def _monotony(h: AthleteHistory, cfg: RuleConfig) -> Iterable[Finding]:
    no_rest = h.enabled.get("no_rest")
    streaks = rules.streak_days(h.days, int(no_rest["run_streak"])) if no_rest is not None else set()
    return rules.monotony(h.days, cfg, h.reminder_days, streaks | h.busy)


RULES: dict[str, Rule] = {
    "load_spike": Rule(LoadSpikeRule, per_athlete=_load_spike),
    "monotony": Rule(MonotonyRule, per_athlete=_monotony),
    "no_rest": Rule(NoRestRule, per_athlete=lambda h, cfg: rules.no_rest(h.days, cfg, h.reminder_days)),
    "comeback": Rule(ComebackRule, per_athlete=lambda h, cfg: rules.comeback(h.days, h.active, cfg)),
    "late_fade": Rule(LateFadeRule, per_athlete=lambda h, cfg: rules_runs.late_fade(h.runs, cfg)),
    "recurring_fade": Rule(RecurringFadeRule, per_athlete=lambda h, cfg: rules_runs.recurring_fade(h.runs, cfg)),
    "decoupling": Rule(DecouplingRule, per_athlete=lambda h, cfg: rules_runs.decoupling(h.runs, cfg)),
    "source_stalled": Rule(SourceStalledRule, per_store=lambda v, cfg: source_stalled(
        v.sources, v.starts_by_athlete, cfg, v.now, v.reminder_days)),
}


def rule_config(conf: AlertRules, name: str) -> RuleConfig:
    """``[alerts.rules.<name>]`` as the rule functions take it (a plain dict, defaults filled in)."""
    section = getattr(conf, name)
    assert isinstance(section, RULES[name].section)
    return section.model_dump()


def enabled_configs(conf: AlertRules) -> dict[str, RuleConfig]:
    """The config of every enabled rule of ``[alerts.rules]``, in ``RULES`` order."""
    out = {name: rule_config(conf, name) for name in RULES}
    return {name: cfg for name, cfg in out.items() if cfg.get("enabled", True)}


def athlete_findings(alerts: AlertsSection, days: list[Row], runs: list[Row], active: list[date]) -> Iterator[Finding]:
    """Every enabled per-athlete rule over one athlete's history, in ``RULES`` order."""
    enabled = enabled_configs(alerts.rules)
    history = AthleteHistory(days, runs, active, alerts.reminder_days, enabled,
                             after_break=rules.comeback_windows(active, rule_config(alerts.rules, "comeback")))
    for name, cfg in enabled.items():
        rule = RULES[name].per_athlete
        if rule is not None:
            yield from rule(history, cfg)


def store_findings(conf: AlertRules, view: StoreView) -> Iterator[tuple[int, Finding]]:
    """Every enabled per-store rule: (athlete id, finding)."""
    for name, cfg in enabled_configs(conf).items():
        rule = RULES[name].per_store
        if rule is not None:
            yield from rule(view, cfg)

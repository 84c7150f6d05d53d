"""``[alerts]``, ``[alerts.rules.*]`` and ``[[alerts.channels]]`` of ``config/default.toml`` as typed sections."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Discriminator, Field, model_validator

from heavylegs.settings_schema_base import Section, check_clock, check_window

Security = Literal["starttls", "tls", "none"]
CHANNEL_KINDS = ("file", "email", "webhook", "apprise")


def _clock_or_empty(text: str) -> str:
    if text.strip():
        check_clock(text)
    return text


def _window_or_empty(text: str) -> str:
    check_window(text)
    return text


class RuleSection(Section):
    enabled: bool = Field(True, description="Evaluate this rule; false turns it off.")


class LoadSpikeRule(RuleSection):
    warning: float = Field(1.5, description="Load ratio at or above which a load spike is a warning.")
    caution: float = Field(1.28, description="Load ratio at or above which a load spike is a caution.")
    urgent: float = Field(2.0, description="Load ratio at or above which the alert is urgent (sent even during quiet hours); 0 = never urgent.")
    min_history_days: int = Field(42, description="Days of history needed before the load ratio is judged.")
    ratio: Literal["weekly", "ewma"] = Field("weekly", description="Load ratio: 7-day sum / mean of the four 7-day sums before (weekly) or EWMA 7/28 (ewma).")
    close_below: float = Field(1.1, description="A load_spike episode closes after close_days days in a row below this ratio.")
    close_days: int = Field(7, description="Days in a row below close_below that end a load_spike episode.")
    peak_margin: float = Field(1.05, description="Open only when the last 7 days exceed the heaviest 7 days of the 8 weeks before times this (weekly ratio).")
    escalate_above_peak: float = Field(1.2, description="A load_spike goes beyond caution only when the last 7 days exceed the 8-week peak times this.")
    peak_bypass: float = Field(1.4, description="From this ratio on, exceeding the 8-week peak itself (x 1.0) is enough to open a load_spike episode.")
    renewed_rise_days: int = Field(3, ge=0, description="A caution load_spike episode whose ratio fell back under caution for this many days in a row and then rises past its heaviest 7 days again (x peak_margin) becomes a warning; 0 = off (weekly ratio).")


class LateFadeRule(RuleSection):
    min_distance_m: float = Field(8000, description="Runs shorter than this (metres) are not judged for late fade.")
    fade_pct: float = Field(8.0, description="Late-fade percentage (last quarter against the early part) that raises the alert.")
    above_baseline_pct: float = Field(3.0, description="The fade must also exceed the runner's own baseline by this many percentage points.")
    baseline_mads: float = Field(2.0, description="...and by this many median absolute deviations of the runner's recent fades.")
    min_fade_pct: float = Field(5.0, description="Never alert below this fade (%), however stable the runner's usual fade.")
    warning_pct: float = Field(8.0, description="Fade (%) from which late_fade is a warning rather than a caution.")


class RecurringFadeRule(RuleSection):
    window: int = Field(5, description="Number of recent qualifying runs looked at.")
    count: int = Field(3, description="Fading runs within the window that raise the alert.")
    min_distance_m: float = Field(8000, description="Runs shorter than this (metres) are not counted.")
    fade_pct: float = Field(5.0, description="Late-fade percentage from which a run counts as fading.")
    window_days: int = Field(21, description="Also count fading runs within this many days (whichever window finds more).")
    above_baseline_pct: float = Field(2.0, description="A run counts as fading only this many points above its usual fade.")


class DecouplingRule(RuleSection):
    decoupling_pct: float = Field(5.0, description="Aerobic decoupling (pace:heart-rate drift, %) that raises the alert.")
    min_moving_s: float = Field(2400, description="Runs with less moving time than this (seconds) are not judged.")
    min_pct: float = Field(5.0, description="With a personal baseline: never alert below this decoupling (%).")
    above_baseline_pct: float = Field(4.0, description="With a baseline: alert only this many points above the usual drift of comparable runs.")
    baseline_mads: float = Field(3.0, description="With a baseline: ...and more than this many SD-equivalents (1.4826 x MAD) above it.")
    baseline_runs: int = Field(10, description="Earlier steady runs of similar duration (x/÷1.5) forming the decoupling baseline.")
    baseline_min_runs: int = Field(5, description="Fewer comparable runs than this: decoupling_pct applies.")
    max_fade_pct: float = Field(5.0, description="Runs whose late fade (%) reaches this are judged by late_fade only: the same slowdown.")


class MonotonyRule(RuleSection):
    monotony: float = Field(2.0, description="Training monotony (mean / standard deviation of daily load over 7 days) that raises the alert.")


class NoRestRule(RuleSection):
    run_streak: int = Field(7, description="Days in a row with a run that raise the alert.")


class ComebackRule(RuleSection):
    break_days: int = Field(14, description="Days without activity that count as a break.")
    within_days: int = Field(56, description="Days after the return during which the comeback is watched (and load_spike is silent).")
    acwr: float = Field(1.3, description="Load since the return divided by the re-entry plan's share that raises a caution.")
    warning: float = Field(1.5, description="The same ratio over a whole week back that makes the comeback a warning.")
    start_fraction: float = Field(0.5, description="Re-entry plan: first week back as a fraction of the mean pre-break week.")
    weekly_increase_pct: float = Field(10.0, description="Re-entry plan: increase per week (%).")
    full_break_days: int = Field(28, description="Breaks this long or longer start at start_fraction; shorter ones proportionally closer to the old load.")


class SourceStalledRule(RuleSection):
    days: int = Field(3, description="Days without a successful sync after which a source counts as stalled.")


class AlertRules(Section):
    load_spike: LoadSpikeRule = Field(default_factory=LoadSpikeRule, description="Sudden rise of the training load.")
    late_fade: LateFadeRule = Field(default_factory=LateFadeRule, description="A run that slows markedly in its last quarter.")
    recurring_fade: RecurringFadeRule = Field(default_factory=RecurringFadeRule, description="Several recent runs that fade.")
    decoupling: DecouplingRule = Field(default_factory=DecouplingRule, description="Heart rate drifting up against pace within a run.")
    monotony: MonotonyRule = Field(default_factory=MonotonyRule, description="Every day's load alike, without easy days.")
    no_rest: NoRestRule = Field(default_factory=NoRestRule, description="A long streak of days with a run.")
    comeback: ComebackRule = Field(default_factory=ComebackRule, description="Too much load too soon after a break.")
    source_stalled: SourceStalledRule = Field(default_factory=SourceStalledRule, description="A connected source that stopped delivering.")


class ChannelBase(Section):
    name: str = Field("", description="Name of the channel in logs and `heavylegs alerts`; empty = kind plus its position.")


class FileChannelConf(ChannelBase):
    kind: Literal["file"] = Field(description="The local JSON-lines file (and the console).")
    path: str = Field("", description="File path, relative to the data dir; empty = alerts.file.")
    console: bool = Field(True, description="Also print each alert on the console.")


class EmailChannelConf(ChannelBase):
    kind: Literal["email"] = Field(description="E-mail through the [smtp] server.")
    to: str | tuple[str, ...] = Field((), description="Recipient address or list of addresses (required).")
    chart: bool = Field(True, description="Attach the load chart as an inline PNG.")
    host: str | None = Field(None, description="Overrides smtp.host for this channel.")
    port: int | None = Field(None, description="Overrides smtp.port for this channel.")
    security: Security | None = Field(None, description="Overrides smtp.security for this channel.")
    username: str | None = Field(None, description="Overrides smtp.username for this channel.")
    password: str | None = Field(None, description="Overrides smtp.password for this channel.")
    password_file: str | None = Field(None, description="Overrides smtp.password_file for this channel.")
    password_env: str | None = Field(None, description="Overrides smtp.password_env for this channel.")
    sender: str | None = Field(None, alias="from", description="Overrides smtp.from for this channel.")
    timeout_s: float | None = Field(None, description="Overrides smtp.timeout_s for this channel.")
    ca_file: str | None = Field(None, description="Overrides smtp.ca_file for this channel.")

    @model_validator(mode="after")
    def _needs_recipient(self) -> EmailChannelConf:
        if not self.to:
            raise ValueError("email needs 'to' (an address or a list of addresses)")
        return self


class WebhookChannelConf(ChannelBase):
    kind: Literal["webhook"] = Field(description="HTTP POST of the heavylegs.alert.v1 JSON.")
    url: str = Field(description="http(s) URL the alert is posted to.")
    secret: str = Field("", description="HMAC signing secret (X-Heavylegs-Signature); empty = unsigned.")
    secret_file: str = Field("", description="File holding the signing secret.")
    secret_env: str = Field("", description="Name of an environment variable holding the signing secret.")
    timeout_s: float | None = Field(None, description="Request timeout in seconds; unset = alerts.webhook_timeout_s.")


class AppriseChannelConf(ChannelBase):
    kind: Literal["apprise"] = Field(description="Any Apprise URL (needs pip install heavylegs[apprise]).")
    url: str = Field(description="The Apprise URL; it carries credentials and is never logged.")


ChannelConf = Annotated[
    FileChannelConf | EmailChannelConf | WebhookChannelConf | AppriseChannelConf,
    Discriminator("kind", custom_error_type="union_tag_invalid",
                  custom_error_message=f"unknown kind (one of {', '.join(CHANNEL_KINDS)})"),
]


class AlertsSection(Section):
    max_age_days: int = Field(3, description="Events older than this many days are summarised, not sent.")
    reminder_days: int = Field(0, description="Remind every this many days while an episode lasts; 0 = never remind.")
    retry_max_age_h: float = Field(24, description="Give up delivering an alert after this many hours of failures.")
    retry_base_s: float = Field(30, description="First retry delay in seconds; doubles with each failure.")
    retry_max_s: float = Field(3600, description="Longest retry delay in seconds.")
    webhook_timeout_s: float = Field(10, description="Default timeout of webhook channels, in seconds.")
    claim_timeout_s: float = Field(300, description="A delivery claimed longer ago than this (crashed sender) is sent again, seconds.")
    file: str = Field("alerts.jsonl", description="The local channel's file, inside the data dir.")
    quiet_hours: Annotated[str, AfterValidator(_window_or_empty)] = Field("", description='Quiet hours "HH:MM-HH:MM" in each athlete\'s local time (may wrap midnight); alerts that are not urgent wait until the window ends and the quiet time does not count against retry_max_age_h. Empty = off.')
    digest_time: Annotated[str, AfterValidator(_clock_or_empty)] = Field("", description='Daily digest at this local time ("HH:MM"): one info alert per athlete and day with load, ratio, run streak, the last runs\' fade and the alerts of the last 24 h. Empty = no daily digest.')
    rules: AlertRules = Field(default_factory=AlertRules, description="One table per alert rule: [alerts.rules.<rule>].")
    channels: tuple[ChannelConf, ...] = Field((), description="Delivery channels ([[alerts.channels]]); none = the local file and the console.")

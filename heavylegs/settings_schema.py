"""The configuration as typed, frozen, validated sections: one class per table of ``config/default.toml``.

``heavylegs.settings.load_settings`` merges the TOML files and overrides, then
validates the result once, at start, into ``ConfigFile``. Components receive
their own section (``settings.cfg.alerts``, ``settings.cfg.service``...).

Why pydantic rather than dataclasses:
- its errors name the key path (``alerts.rules.late_fade.fade_pct: Input should
  be a valid number``), which is exactly what a user needs to fix a config file;
- it coerces TOML types where that is unambiguous (an integer where a float is
  expected) and refuses the rest, with no converter written per field;
- ``model_json_schema()`` gives types, defaults and ``Field`` descriptions to the
  generated configuration reference, so the docs cannot drift from the code.
Dataclasses would need all three written by hand.

Adding a setting: add it, documented, to ``config/default.toml`` and a field with
the same default and a ``description`` to its section here;
``tests/test_config_files.py`` fails when the two disagree.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from heavylegs.settings_schema_alerts import CHANNEL_KINDS, AlertsSection
from heavylegs.settings_schema_analysis import AnalysisSection
from heavylegs.settings_schema_base import Section, check_zone
from heavylegs.settings_schema_sources import IntervalsSection, PolarSection

__all__ = ["CHANNEL_KINDS", "RENAMED_KEYS", "ConfigFile", "AthleteSection", "AlertsSection", "AnalysisSection"]

Sex = Literal["male", "female"]
Zone = Annotated[str, AfterValidator(check_zone)]


class StorageSection(Section):
    db: str = Field("", description="SQLAlchemy URL of the store. Empty means SQLite at <data dir>/heavylegs.db.")
    data_dir: str = Field("", description="The data directory. Empty means the platform's user data directory (platformdirs).")


class ImportSection(Section):
    max_file_bytes: int = Field(104_857_600, description="Largest activity file accepted, bytes (100 MiB).")
    max_archive_bytes: int = Field(4_294_967_296, description="Largest decompressed size of an archive, bytes (4 GiB).")
    max_archive_entries: int = Field(100_000, description="Most members read from one archive.")
    max_compression_ratio: float = Field(200, description="A member inflating more than this ratio is treated as a decompression bomb.")
    max_nesting: int = Field(3, description="Deepest nesting of archives (zip inside zip inside zip).")
    workers: int = Field(0, description="Decode processes; 0 = number of cores.")
    window_bytes: int = Field(134_217_728, ge=0, description="Most bytes of file content the importer and its decode workers hold while decoding ahead, whatever the core count (128 MiB); never less than max_file_bytes.")
    default_timezone: Zone = Field("UTC", description="Time zone of an athlete without athlete.timezone: used for files that give no UTC offset and have no GPS, and for the athlete's local date.")


class DedupSection(Section):
    start_tolerance_s: float = Field(60, description="Two activities starting within this many seconds may be the same one.")
    max_shift_h: float = Field(14, description="Largest whole or half-hour shift tried when a file's clock carries a time-zone error, hours.")
    duration_tolerance: float = Field(0.03, description="Relative difference of duration still counted as the same activity.")
    distance_tolerance: float = Field(0.03, description="Relative difference of distance still counted as the same activity.")


class AthleteOverride(Section):
    """``[athletes.<name>]``: any athlete key, overriding ``[athlete]`` for that athlete."""

    sex: Sex | None = Field(None, description="Overrides athlete.sex.")
    hr_rest_bpm: float | None = Field(None, description="Overrides athlete.hr_rest_bpm.")
    hr_max_bpm: float | None = Field(None, description="Overrides athlete.hr_max_bpm.")
    timezone: Zone | None = Field(None, description="Overrides athlete.timezone.")


class AthleteSection(Section):
    default: str = Field("me", description="The athlete commands use without --athlete.")
    sex: Sex = Field("male", description='"male" or "female": selects the Banister TRIMP constants.')
    hr_rest_bpm: float | None = Field(None, description="Resting heart rate, bpm; unset = analysis.hr_rest_default_bpm.")
    hr_max_bpm: float | None = Field(None, description="Maximum heart rate, bpm; unset = a high percentile of the recorded heart rates (analysis.hr_max_percentile over analysis.hr_max_window_days).")
    timezone: Zone = Field("", description='The athlete\'s IANA time zone (e.g. "Europe/Berlin"): their local date, quiet hours and digest time, and files without offset or GPS. Empty = import.default_timezone.')


class ReportSection(Section):
    months: int = Field(6, description="The load chart of `heavylegs report` and the web page covers this many months.")
    runs: int = Field(30, description="Runs in the fade chart and the table.")
    long_run_m: float = Field(10000, description='"Latest long run": the latest qualifying run at least this long, metres.')


class SmtpSection(Section):
    host: str = Field("127.0.0.1", description="SMTP server host.")
    port: int = Field(1025, description="SMTP server port.")
    security: Literal["starttls", "tls", "none"] = Field("none", description='"starttls", "tls" or "none".')
    username: str = Field("", description="Login name; empty = no login.")
    password: str = Field("", description="Password (prefer password_file or password_env).")
    password_file: str = Field("", description="File holding the password.")
    password_env: str = Field("", description="Name of an environment variable holding the password.")
    sender: str = Field("heavylegs@localhost", alias="from", description="Sender address (key `from`).")
    timeout_s: float = Field(10, description="Connection timeout, seconds.")
    ca_file: str = Field("", description='PEM file of a private CA for the server\'s certificate; "" = system CAs.')
    allow_plaintext_auth: bool = Field(False, description='Allow a login with security = "none" (password in clear); honoured only for a loopback host (a local relay). Otherwise such a channel is refused at start.')


class ServiceAuthSection(Section):
    token: str = Field("", description="Bearer token for scripts (`Authorization: Bearer ...`), also accepted on the login form; at least 16 characters (prefer token_file or token_env). `heavylegs auth new-token` makes one.")
    token_file: str = Field("", description="File holding the token.")
    token_env: str = Field("", description="Name of an environment variable holding the token.")
    password_hash: str = Field("", description="scrypt hash of the login password, from `heavylegs auth hash-password`.")
    password_hash_file: str = Field("", description="File holding the password hash.")
    password_hash_env: str = Field("", description="Name of an environment variable holding the password hash.")
    session_hours: float = Field(12, description="A browser login lasts this long, hours.")


class ServiceSection(Section):
    host: str = Field("127.0.0.1", description="Address the web endpoint listens on.")
    port: int = Field(8080, description="Port of the web endpoint.")
    folder_scan_interval_s: float = Field(300, description="Folder sources are scanned this often, seconds.")
    deliver_interval_s: float = Field(30, description="Pending alerts are delivered this often, seconds.")
    sync_interval_s: float = Field(900, description="Account sources (Strava...) are synced this often, seconds.")
    analysis_interval_s: float = Field(60, description="New activities are analysed and alert rules run this often, seconds.")
    housekeeping_interval_s: float = Field(3600, description="Housekeeping (retention, pruning) runs this often, seconds.")
    watch_files: bool = Field(True, description="Also scan as soon as files land (watchfiles); the periodic scan still runs.")
    stop_timeout_s: float = Field(25, description="On SIGTERM, wait this long for the job in hand, seconds.")
    folder_settle_s: float = Field(2.0, description="A file modified this recently is looked at twice before import, seconds.")
    attempts_retention_days: float = Field(90, description="Housekeeping drops delivery-attempt logs of finished alerts after this many days.")
    allowed_hosts: tuple[str, ...] = Field((), description='Host names the web endpoint answers (the Host header), besides localhost, 127.0.0.1, [::1] and service.host; others get 400 (stops DNS rebinding). Add the public name when behind a proxy. "*" allows any.')
    behind_proxy: bool = Field(False, description="The endpoint is reached through a reverse proxy: login is required (service.auth) and the session cookie is Secure (https only).")
    max_body_bytes: int = Field(65536, description="Largest request body accepted (webhook POSTs, the login form), bytes; larger gets 413.")
    auth: ServiceAuthSection = Field(default_factory=ServiceAuthSection, description="Login for the web endpoint: required when it listens beyond loopback or behind_proxy is set.")

    def source_interval_s(self, kind: str) -> float:
        """How often a source of ``kind`` is scanned (folders) or synced (accounts), seconds."""
        return self.folder_scan_interval_s if kind == "folder" else self.sync_interval_s


class StravaSection(Section):
    client_id: str = Field("", description="Client id of your Strava API application.")
    client_secret: str = Field("", description="Client secret of your Strava API application (prefer client_secret_file).")
    client_secret_file: str = Field("", description="File holding the client secret.")
    api_url: str = Field("https://www.strava.com/api/v3", description="Strava API base URL.")
    oauth_url: str = Field("https://www.strava.com/oauth", description="Strava OAuth base URL.")
    callback_port: int = Field(8721, description="Loopback port receiving the OAuth callback of `heavylegs connect strava`.")
    sport_types: tuple[str, ...] = Field(("Run", "TrailRun", "VirtualRun"), description="Strava sport types that are fetched.")
    reserve_fraction: float = Field(0.10, description="Share of the Strava rate limit left unused for other apps.")
    raw_retention_days: float = Field(0, description="Keep raw Strava streams this many days; 0 = forever.")
    request_timeout_s: float = Field(30, description="HTTP timeout of Strava requests, seconds.")
    initial_sync_days: int = Field(14, description="The first sync after connect looks this far back, days; older runs: heavylegs backfill.")
    webhook_creates_per_sync: int = Field(20, ge=0, description="Webhook `create` events fetched per sync at most (each costs a request); the rest wait for the next sync.")
    webhook_max_pending: int = Field(500, ge=1, description="Webhook events waiting for the sync beyond this are dropped (deauthorizations excepted); the sync's listing still finds new runs.")


class GarminSection(Section):
    api_url: str = Field("https://personal.connectapi.garmin.com", description="Garmin Connect Personal API base URL (Garmin China: https://personal.connectapi.garmin.cn).")
    lookback_days: int = Field(7, description="Each sync lists this many past days; older runs: heavylegs backfill --source NAME.")
    activity_types: tuple[str, ...] = Field(("running", "trail_running", "treadmill_running", "track_running", "street_running", "virtual_run", "indoor_running"), description="Garmin activity type keys whose files are downloaded.")
    max_requests_per_minute: float = Field(20, description="Requests to Garmin are spaced to at most this many per minute, one at a time.")
    sync_max_wait_s: float = Field(120, description="A sync waits out a Retry-After up to this long; a longer one ends the sync until its next run.")
    page_size: int = Field(100, description="Activity summaries asked for per list request.")
    request_timeout_s: float = Field(30, description="HTTP timeout of Garmin requests, seconds.")


class ConfigFile(Section):
    """The whole configuration, as merged from default.toml, the user's file and overrides."""

    storage: StorageSection = Field(default_factory=StorageSection, description="Where the store lives.")
    import_: ImportSection = Field(default_factory=ImportSection, alias="import", description="Limits and defaults of file import.")
    dedup: DedupSection = Field(default_factory=DedupSection, description="When two files are the same activity.")
    athlete: AthleteSection = Field(default_factory=AthleteSection, description="Defaults for every athlete.")
    athletes: dict[str, AthleteOverride] = Field(default_factory=dict, description="Per-athlete overrides: [athletes.<name>].")
    analysis: AnalysisSection = Field(default_factory=AnalysisSection, description="Run metrics and the daily load series.")
    report: ReportSection = Field(default_factory=ReportSection, description="`heavylegs report` and the service's web page.")
    alerts: AlertsSection = Field(default_factory=AlertsSection, description="Alert rules, delivery and channels.")
    smtp: SmtpSection = Field(default_factory=SmtpSection, description="The mail server of e-mail channels.")
    service: ServiceSection = Field(default_factory=ServiceSection, description="`heavylegs run`: the web endpoint and job intervals.")
    strava: StravaSection = Field(default_factory=StravaSection, description="The Strava API application.")
    garmin: GarminSection = Field(default_factory=GarminSection, description="The Garmin Connect Personal API.")
    polar: PolarSection = Field(default_factory=PolarSection, description="Polar AccessLink (your API client; heavylegs connect polar).")
    intervals: IntervalsSection = Field(default_factory=IntervalsSection, description="intervals.icu (heavylegs connect intervals).")


# Renamed keys: old dotted path -> new dotted path. The old name keeps working,
# with a deprecation warning, so no user's file breaks on upgrade.
RENAMED_KEYS: dict[str, str] = {}

"""Settings sections of the account connectors added after Garmin: Polar AccessLink and intervals.icu."""
from __future__ import annotations

from pydantic import Field

from heavylegs.settings_schema_base import Section


class PolarSection(Section):
    client_id: str = Field("", description="Client id of your Polar AccessLink API client (admin.polaraccesslink.com).")
    client_secret: str = Field("", description="Its client secret (prefer client_secret_file or client_secret_env).")
    client_secret_file: str = Field("", description="File holding the client secret.")
    client_secret_env: str = Field("", description="Name of an environment variable holding the client secret.")
    oauth_url: str = Field("https://flow.polar.com/oauth2/authorization", description="Polar's OAuth authorization URL.")
    token_url: str = Field("https://polarremote.com/v2/oauth2/token", description="Polar's OAuth token URL.")
    api_url: str = Field("https://www.polaraccesslink.com", description="AccessLink API base URL.")
    callback_port: int = Field(8722, description="Loopback port receiving the OAuth callback of `heavylegs connect polar` (the client's redirect URL must be http://127.0.0.1:PORT/oauth/polar/callback).")
    reserve_fraction: float = Field(0.10, description="Share of each Polar rate-limit window (15 minutes, 24 hours) left unused.")
    sync_max_wait_s: float = Field(120, description="A sync waits for a rate-limit window to reset up to this long; longer, it stops until its next run.")
    request_timeout_s: float = Field(30, description="HTTP timeout of Polar requests, seconds.")


class IntervalsSection(Section):
    api_url: str = Field("https://intervals.icu", description="intervals.icu base URL.")
    lookback_days: int = Field(7, description="Each sync lists this many past days; older runs: heavylegs backfill --source NAME.")
    activity_types: tuple[str, ...] = Field(("Run", "TrailRun", "VirtualRun"), description="intervals.icu activity types whose original files are downloaded.")
    max_requests_per_minute: float = Field(60, description="Requests to intervals.icu are spaced to at most this many per minute, one at a time.")
    sync_max_wait_s: float = Field(120, description="A sync waits out a Retry-After up to this long; longer, it stops until its next run.")
    request_timeout_s: float = Field(30, description="HTTP timeout of intervals.icu requests, seconds.")

"""Channel kind -> transport class, and the configured channels built from ``[[alerts.channels]]``.

Adding a kind: a module with a ``Transport`` subclass, its table in
``settings_schema_alerts`` (``ChannelConf`` and ``CHANNEL_KINDS``), and one
entry in ``TRANSPORTS``. With no channel configured, alerts go to the local
file channel (JSON lines in the data dir, echoed on stderr).
"""
from __future__ import annotations

from heavylegs.alerts.transports.apprise import AppriseTransport
from heavylegs.alerts.transports.base import ChannelEnv, Transport
from heavylegs.alerts.transports.email import EmailTransport
from heavylegs.alerts.transports.file import FileTransport
from heavylegs.alerts.transports.webhook import WebhookTransport
from heavylegs.settings_errors import ConfigError
from heavylegs.settings_schema_alerts import CHANNEL_KINDS, ChannelConf, FileChannelConf

TRANSPORTS: dict[str, type[Transport]] = {
    t.kind: t for t in (FileTransport, EmailTransport, WebhookTransport, AppriseTransport)
}
KINDS = CHANNEL_KINDS
DEFAULT_CHANNEL = "local"


def channel_name(conf: ChannelConf, index: int) -> str:
    """The table's ``name``, else the kind and its 1-based position (``webhook2``)."""
    return conf.name or f"{conf.kind}{index + 1}"


def transport_for(kind: str, name: str) -> type[Transport]:
    try:
        return TRANSPORTS[kind]
    except KeyError:
        raise ConfigError(f"alerts channel {name}: unknown kind {kind!r} (one of {', '.join(KINDS)})") from None


def build_channel(env: ChannelEnv, conf: ChannelConf, index: int) -> Transport:
    """One channel from its validated ``[[alerts.channels]]`` table (kinds and types were checked at load)."""
    name = channel_name(conf, index)
    return transport_for(conf.kind, name).from_config(name, env, conf)


def build_channels(env: ChannelEnv) -> list[Transport]:
    """Every configured channel (the local file channel when none is); ConfigError on a bad table."""
    confs = env.alerts.channels
    if not confs:
        return [build_channel(env, FileChannelConf.model_validate({"kind": "file", "name": DEFAULT_CHANNEL}), 0)]
    channels = [build_channel(env, c, i) for i, c in enumerate(confs)]
    names = [c.name for c in channels]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"alerts channel names must be unique: {', '.join(dupes)}")
    return channels


def channel_warnings(env: ChannelEnv) -> list[str]:
    """What is risky but allowed (e.g. an unsigned webhook), said at `heavylegs run` and `heavylegs alerts test`."""
    out: list[str] = []
    for i, conf in enumerate(env.alerts.channels):
        name = channel_name(conf, i)
        out += transport_for(conf.kind, name).config_warnings(name, env, conf)
    return out

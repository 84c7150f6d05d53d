"""Settings: precedence, validation at load with the key's name, typed sections, the time-zone rule."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from heavylegs.cli import main
from heavylegs.settings import ConfigError, apply_renames, load_settings
from heavylegs.settings_schema import RENAMED_KEYS


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_defaults_put_sqlite_in_data_dir(tmp_path: Path) -> None:
    s = load_settings(data_dir=tmp_path, environ={})
    assert s.db_url == f"sqlite:///{tmp_path.resolve() / 'heavylegs.db'}"
    assert s.get("service.port") == 8080 and s.cfg.service.port == 8080


def test_env_then_file_then_args(tmp_path: Path) -> None:
    cfg = _file(tmp_path, '[service]\nport = 9999\n[athletes.alice]\nsex = "female"\n')
    env = {"HEAVYLEGS_CONFIG": str(cfg), "HEAVYLEGS_DB": "sqlite:///x.db", "HEAVYLEGS_DATA_DIR": str(tmp_path / "d")}
    s = load_settings(environ=env)
    assert s.get("service.port") == 9999
    assert s.db_url == "sqlite:///x.db"
    assert s.data_dir == (tmp_path / "d").resolve()
    assert s.athlete("alice")["sex"] == "female"
    assert s.athlete("bob")["sex"] == "male"
    assert s.athletes.cfg("alice").sex == "female" and s.athletes.cfg("bob").sex == "male"
    assert load_settings(db="sqlite:///y.db", environ=env).db_url == "sqlite:///y.db"


def test_storage_precedence_file_then_env_then_cli(tmp_path: Path) -> None:
    cfg = _file(tmp_path, f'[storage]\ndb = "sqlite:///file.db"\ndata_dir = "{tmp_path / "from_file"}"\n')
    from_file = load_settings(config=cfg, environ={})
    assert (from_file.db_url, from_file.data_dir) == ("sqlite:///file.db", (tmp_path / "from_file").resolve())
    env = {"HEAVYLEGS_DB": "sqlite:///env.db", "HEAVYLEGS_DATA_DIR": str(tmp_path / "from_env")}
    from_env = load_settings(config=cfg, environ=env)
    assert (from_env.db_url, from_env.data_dir) == ("sqlite:///env.db", (tmp_path / "from_env").resolve())
    from_cli = load_settings(config=cfg, db="sqlite:///cli.db", data_dir=tmp_path / "from_cli", environ=env)
    assert (from_cli.db_url, from_cli.data_dir) == ("sqlite:///cli.db", (tmp_path / "from_cli").resolve())


def test_cli_config_beats_env_config(tmp_path: Path) -> None:
    env_file = tmp_path / "env.toml"
    env_file.write_text("[service]\nport = 1111\n")
    cli_file = _file(tmp_path, "[service]\nport = 2222\n")
    s = load_settings(config=cli_file, data_dir=tmp_path, environ={"HEAVYLEGS_CONFIG": str(env_file)})
    assert s.cfg.service.port == 2222 and s.config_path == cli_file


def test_secret_from_file_and_env(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    s = load_settings(data_dir=tmp_path, environ={"SMTP_PW": "fromenv"})
    assert s.secrets.read({"password_file": str(tmp_path / "pw")}, "password") == "s3cret"
    assert s.secrets.read({"password_env": "SMTP_PW"}, "password") == "fromenv"


def test_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    cfg = _file(tmp_path, "[service\nport=")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(config=cfg, environ={})


def test_unknown_key_is_refused_with_its_path_and_a_suggestion(tmp_path: Path) -> None:
    cfg = _file(tmp_path, "[alerts.rules.late_fade]\nfade_pcnt = 9.0\n")
    with pytest.raises(ConfigError) as err:
        load_settings(config=cfg, data_dir=tmp_path, environ={})
    assert "alerts.rules.late_fade.fade_pcnt: unknown key (did you mean fade_pct?)" in str(err.value)
    assert str(cfg) in str(err.value)
    with pytest.raises(ConfigError, match=r"servce: unknown key"):
        load_settings(config=_file(tmp_path, "[servce]\nport = 1\n"), data_dir=tmp_path, environ={})


def test_bad_value_is_refused_with_its_path(tmp_path: Path) -> None:
    cfg = _file(tmp_path, '[alerts.rules.late_fade]\nfade_pct = "eight"\n[import]\nworkers = 1.5\n')
    with pytest.raises(ConfigError) as err:
        load_settings(config=cfg, data_dir=tmp_path, environ={})
    text = str(err.value)
    assert "alerts.rules.late_fade.fade_pct: Input should be a valid number" in text and "'eight'" in text
    assert "import.workers: Input should be a valid integer" in text  # every bad key, not only the first


@pytest.mark.parametrize("over,message", [
    ({"athlete.timezone": "Mars/Olympus"}, "athlete.timezone: unknown time zone 'Mars/Olympus'"),
    ({"athletes.kim.sex": "other"}, "athletes.kim.sex: Input should be 'male' or 'female'"),
    ({"alerts.digest_time": "7.30"}, "alerts.digest_time: must be a 24-hour time"),
    ({"alerts.quiet_hours": "22:00"}, "alerts.quiet_hours: must look like"),
    ({"alerts.channels": [{"kind": "pigeon"}]}, "alerts.channels[0]: unknown kind 'pigeon'"),
    ({"alerts.channels": [{"kind": "email", "to": "a@b", "port": "smtp"}]}, "alerts.channels[0].port: Input should be a valid integer"),
    ({"smtp.security": "ssl3"}, "smtp.security: Input should be 'starttls', 'tls' or 'none'"),
])
def test_overrides_are_validated_too(tmp_path: Path, over: dict, message: str) -> None:  # type: ignore[type-arg]
    s = load_settings(data_dir=tmp_path, environ={})
    with pytest.raises(ConfigError) as err:
        s.with_overrides(over)
    assert message in str(err.value)


def test_credentials_are_never_echoed_in_errors(tmp_path: Path) -> None:
    s = load_settings(data_dir=tmp_path, environ={})
    with pytest.raises(ConfigError) as err:
        s.with_overrides({"smtp.password": 123456789, "smtp.port": "x"})
    assert "smtp.password" in str(err.value) and "123456789" not in str(err.value)


def test_typed_sections_are_frozen_and_coerced(tmp_path: Path) -> None:
    s = load_settings(data_dir=tmp_path, environ={}).with_overrides({"alerts.rules.late_fade.fade_pct": 9, "analysis.sports": ["running"]})
    late = s.cfg.alerts.rules.late_fade
    assert late.fade_pct == 9.0 and isinstance(late.fade_pct, float)
    assert s.cfg.analysis.sports == ("running",)
    assert s.cfg.import_.max_file_bytes == 104_857_600 and s.cfg.smtp.sender == "heavylegs@localhost"
    with pytest.raises(Exception, match="frozen"):
        late.fade_pct = 1.0  # type: ignore[misc]
    # the compatibility view reads the same values
    assert s.get("alerts.rules.late_fade.fade_pct") == 9 and s.section("analysis")["sports"] == ["running"]


# ---- the time-zone rule ------------------------------------------------------
LATE_EVENING_UTC = datetime(2024, 1, 1, 23, 30, tzinfo=timezone.utc)


def test_athlete_zone_falls_back_to_import_default_timezone(tmp_path: Path) -> None:
    s = load_settings(config=_file(tmp_path, '[import]\ndefault_timezone = "Europe/Berlin"\n'), data_dir=tmp_path, environ={})
    assert s.cfg.athlete.timezone == ""  # unset in default.toml: import.default_timezone is reachable
    assert s.import_zone("me") == "Europe/Berlin" and str(s.athlete_zone("me")) == "Europe/Berlin"
    assert s.athlete_today("me", LATE_EVENING_UTC) == date(2024, 1, 2)  # 00:30 in Berlin


def test_athlete_timezone_beats_the_import_default_and_per_athlete_beats_both(tmp_path: Path) -> None:
    cfg = _file(tmp_path, '[import]\ndefault_timezone = "Europe/Berlin"\n[athlete]\ntimezone = "America/New_York"\n'
                          '[athletes.kiwi]\ntimezone = "Pacific/Kiritimati"\n')
    s = load_settings(config=cfg, data_dir=tmp_path, environ={})
    assert s.import_zone("me") == "America/New_York" and s.athlete_today("me", LATE_EVENING_UTC) == date(2024, 1, 1)
    assert s.import_zone("kiwi") == "Pacific/Kiritimati" and s.athlete_today("kiwi", LATE_EVENING_UTC) == date(2024, 1, 2)
    assert s.athletes.zones() == ["America/New_York", "Pacific/Kiritimati"]


def test_without_any_zone_configured_everything_is_utc(tmp_path: Path) -> None:
    s = load_settings(data_dir=tmp_path, environ={})
    assert s.import_zone("anyone") == "UTC" and s.athlete_today("anyone", LATE_EVENING_UTC) == date(2024, 1, 1)


# ---- renamed keys --------------------------------------------------------------
def test_renamed_key_keeps_working_with_a_deprecation_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(RENAMED_KEYS, "alerts.old_max_age", "alerts.max_age_days")
    cfg = _file(tmp_path, "[alerts]\nold_max_age = 9\n")
    with pytest.warns(DeprecationWarning, match="alerts.old_max_age is deprecated, use alerts.max_age_days"):
        s = load_settings(config=cfg, data_dir=tmp_path, environ={})
    assert s.cfg.alerts.max_age_days == 9 and s.get("alerts.max_age_days") == 9
    with pytest.warns(DeprecationWarning):
        assert s.with_overrides({"alerts.old_max_age": 4}).cfg.alerts.max_age_days == 4


def test_rename_prefers_the_new_name_and_moves_across_tables() -> None:
    renamed = {"report.chart_months": "report.months", "service.smtp_host": "smtp.host"}
    with pytest.warns(DeprecationWarning):
        out = apply_renames({"report": {"chart_months": 3, "months": 4}, "service": {"smtp_host": "mx"}}, "f.toml", renamed)
    assert out == {"report": {"months": 4}, "service": {}, "smtp": {"host": "mx"}}


# ---- the CLI: a bad config is a usage error -------------------------------------
def test_cli_exits_2_naming_the_bad_key(tmp_path: Path) -> None:
    cfg = _file(tmp_path, '[alerts.rules.late_fade]\nfade_pct = "x"\n')
    res = CliRunner().invoke(main, ["--config", str(cfg), "--data-dir", str(tmp_path / "d"), "alerts"])
    assert res.exit_code == 2
    assert "alerts.rules.late_fade.fade_pct: Input should be a valid number" in res.output
    assert not (tmp_path / "d").exists()  # refused before anything was created


def test_cli_exits_2_for_an_unknown_key_from_the_environment(tmp_path: Path) -> None:
    cfg = _file(tmp_path, "[service]\nprot = 8081\n")
    res = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "d"), "runs"], env={"HEAVYLEGS_CONFIG": str(cfg)})
    assert res.exit_code == 2 and "service.prot: unknown key (did you mean port?)" in res.output


# ---- the rule end to end: import and rebuild of a file with no offset and no GPS ----
def _tcx_without_offset_or_gps(start: datetime, seconds: int = 1800) -> bytes:
    points = "".join(
        f"<Trackpoint><Time>{(start + timedelta(seconds=t)).strftime('%Y-%m-%dT%H:%M:%SZ')}</Time>"
        f"<DistanceMeters>{3.0 * t:.1f}</DistanceMeters><HeartRateBpm><Value>150</Value></HeartRateBpm></Trackpoint>"
        for t in range(0, seconds + 1, 10)
    )
    iso = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        '<?xml version="1.0" encoding="UTF-8"?><TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">'
        f'<Activities><Activity Sport="Running"><Id>{iso}</Id><Lap StartTime="{iso}"><TotalTimeSeconds>{seconds}</TotalTimeSeconds>'
        f"<DistanceMeters>{3.0 * seconds}</DistanceMeters><Track>{points}</Track></Lap></Activity></Activities></TrainingCenterDatabase>"
    ).encode()


def _stored(tmp_path: Path, config: str, *commands: list[str]) -> tuple[str, str]:
    """(timezone, local_date) of the one activity after running ``commands`` with ``config``."""
    cfg = _file(tmp_path, config)
    run = tmp_path / "run.tcx"
    run.write_bytes(_tcx_without_offset_or_gps(datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)))  # 02:00 next day at UTC+14
    base = ["--config", str(cfg), "--data-dir", str(tmp_path / "d")]
    for cmd in (["import", str(run)], *commands):
        res = CliRunner().invoke(main, [*base, *cmd])
        assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, [*base, "activities", "--json"])
    [act] = json.loads(res.output)
    return act["timezone"], act["local_date"]


@pytest.mark.parametrize("config", [
    '[import]\ndefault_timezone = "Pacific/Kiritimati"\n',  # reachable now that athlete.timezone defaults to unset
    '[athlete]\ntimezone = "Pacific/Kiritimati"\n',
])
def test_import_puts_a_file_without_offset_in_the_athletes_zone(tmp_path: Path, config: str) -> None:
    assert _stored(tmp_path, config) == ("Pacific/Kiritimati", "2024-01-02")


def test_rebuild_keeps_the_zone_the_import_gave(tmp_path: Path) -> None:
    assert _stored(tmp_path, '[athlete]\ntimezone = "Pacific/Kiritimati"\n', ["rebuild"]) == ("Pacific/Kiritimati", "2024-01-02")

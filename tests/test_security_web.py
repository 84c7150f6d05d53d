"""Issue 13, findings 2, 3 and 10 on the web endpoint: login, Host check, no leaks, the cached report.

Each test replays the attack from the review against the real app (Starlette's
TestClient speaks ASGI to it; the body-size attacks in test_security_bodies.py
use a real uvicorn server) and shows it no longer works.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from heavylegs.metrics.recompute import recompute_athlete
from heavylegs.service.auth import hash_password
from heavylegs.service.envs import analysis_env
from heavylegs.service.prom import PrometheusMetrics
from heavylegs.service.scheduler import Scheduler
from heavylegs.service.web import build_app
from heavylegs.settings import Settings, load_settings
from heavylegs.store.db import make_engine, migrate
from tests.metrics_synth import activity, athlete_id, run, store, streams_for

TOKEN = "t0ken-for-scripts-0123456789abcdef"
PASSWORD = "correct horse battery staple"
DOLLAR_NAME = r"Long run $\frac{1}{$"
LOCAL = "http://127.0.0.1:8080"


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def store_(tmp_path: Path) -> Iterator[tuple[Engine, Settings]]:
    settings = load_settings(data_dir=tmp_path / "data", db=f"sqlite:///{tmp_path / 'web.db'}", environ={})
    engine = make_engine(settings.db_url)
    migrate(engine)
    yield engine, settings
    engine.dispose()


def _client(engine: Engine, settings: Settings, base_url: str = LOCAL, **over: object) -> TestClient:
    cfg = settings.with_overrides(dict(over)) if over else settings
    app = build_app(engine, cfg, Scheduler(engine, cfg), PrometheusMetrics(engine))
    # raise_server_exceptions=False: see the answer a real client would get, as uvicorn sends it.
    return TestClient(app, base_url=base_url, follow_redirects=False, raise_server_exceptions=False)


def _with_runs(engine: Engine, settings: Settings, name: str = DOLLAR_NAME) -> int:
    today = settings.athlete_today("me")
    acts = [run(today - timedelta(days=d), 45, hr=148) for d in range(40, 1, -3)]
    acts.append(activity(today - timedelta(days=1), streams_for([(3.1, 3600), (2.8, 900)], hr=155.0, hills_m=15.0), name=name))
    store(engine, acts)
    aid = athlete_id(engine, "me")
    recompute_athlete(engine, analysis_env(settings), aid, today)
    return aid


@pytest.fixture
def locked(store_: tuple[Engine, Settings], password_hash: str) -> tuple[Engine, Settings, TestClient]:
    engine, settings = store_
    _with_runs(engine, settings)
    client = _client(engine, settings, **{"service.auth.token": TOKEN, "service.auth.password_hash": password_hash})
    return engine, settings, client


# ---- finding 2: login ------------------------------------------------------------------
def test_the_report_needs_a_login_and_does_not_tell_which_athletes_exist(locked) -> None:
    _, _, client = locked
    json_answers = [client.get(path, headers={"Accept": "application/json"}) for path in ("/", "/?athlete=me", "/?athlete=nobody")]
    assert {r.status_code for r in json_answers} == {401}
    assert len({r.text for r in json_answers}) == 1  # known, default and unknown athlete look the same
    assert "me" not in json_answers[0].text and "nobody" not in json_answers[0].text
    page = client.get("/?athlete=nobody", headers={"Accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    assert client.get("/metrics").status_code == 401


def test_a_bearer_token_opens_the_report_and_metrics_and_a_wrong_one_does_not(locked) -> None:
    _, _, client = locked
    good = {"Authorization": f"Bearer {TOKEN}"}
    page = client.get("/", headers=good)
    assert page.status_code == 200 and "<h1>heavylegs: me</h1>" in page.text
    assert client.get("/?athlete=nobody", headers=good).status_code == 404  # logged in: the old answer
    assert client.get("/metrics", headers=good).status_code == 200
    assert client.get("/", headers={"Authorization": f"Bearer {TOKEN[:-1]}x"}).status_code == 401
    assert client.get("/", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401


def test_browser_login_sets_a_strict_httponly_cookie_and_logout_revokes_it(locked) -> None:
    _, _, client = locked
    wrong = client.post("/login", data={"password": "guess", "next": "/"})
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    ok = client.post("/login", data={"password": PASSWORD, "next": "/?athlete=me"})
    assert ok.status_code == 303 and ok.headers["location"] == "/?athlete=me"
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http on loopback: a Secure cookie would never come back
    value = re.match(r"heavylegs_session=([^;]+)", cookie).group(1)  # type: ignore[union-attr]
    session = {"Cookie": f"heavylegs_session={value}"}
    assert client.get("/", headers=session).status_code == 200
    # A forged cookie: a later expiry with the old signature.
    expiry, rest = value.split(".", 1)
    forged = {"Cookie": f"heavylegs_session={int(expiry) + 10**6}.{rest}", "Accept": "application/json"}
    assert client.get("/", headers=forged).status_code == 401
    assert client.post("/logout", headers=session).status_code == 303
    assert client.get("/", headers=session | {"Accept": "application/json"}).status_code == 401


def test_the_token_also_logs_in_and_login_refuses_cross_site_posts_and_open_redirects(locked) -> None:
    _, _, client = locked
    evil = client.post("/login", data={"password": PASSWORD}, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and "set-cookie" not in evil.headers
    away = client.post("/login", data={"password": TOKEN, "next": "//evil.example/steal"})
    assert away.status_code == 303 and away.headers["location"] == "/"


def test_behind_a_proxy_the_cookie_is_secure(store_: tuple[Engine, Settings]) -> None:
    engine, settings = store_
    client = _client(engine, settings, **{"service.auth.token": TOKEN, "service.behind_proxy": True})
    assert "Secure" in client.post("/login", data={"password": TOKEN}).headers["set-cookie"]


def test_guessing_is_cut_off_after_ten_failures(locked) -> None:
    _, _, client = locked
    for _ in range(10):
        assert client.post("/login", data={"password": "guess"}).status_code == 401
    assert client.post("/login", data={"password": PASSWORD}).status_code == 429  # even the right one, for a while
    assert client.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200  # a good token is not locked out


def test_healthz_and_webhooks_stay_public_and_healthz_shows_no_detail(locked) -> None:
    _, _, client = locked
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json() == {"status": "unhealthy"}  # the scheduler was never started
    full = client.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert {"database", "scheduler", "jobs"} <= set(full)
    hook = client.post("/webhooks/strava", json={"object_type": "activity"})
    assert hook.status_code not in (401, 303)


def test_without_auth_on_loopback_everything_works_as_before(store_: tuple[Engine, Settings]) -> None:
    engine, settings = store_
    client = _client(engine, settings)
    assert client.get("/").status_code == 200  # ./dev run: no setup
    assert client.get("/?athlete=nobody").status_code == 404
    assert "jobs" in client.get("/healthz").json()


def test_no_exception_text_reaches_a_response(store_: tuple[Engine, Settings]) -> None:
    engine, settings = store_
    _with_runs(engine, settings)
    client = _client(engine, settings)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE daily_metrics"))  # the store breaks under the running service
    broken = client.get("/")
    assert broken.status_code == 500
    assert "daily_metrics" not in broken.text and "no such table" not in broken.text.lower()


# ---- finding 2: Host check (DNS rebinding) ----------------------------------------------
@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8080", "192.168.1.10:8080", "127.0.0.1.nip.io"])
def test_a_foreign_host_header_is_refused(store_: tuple[Engine, Settings], host: str) -> None:
    engine, settings = store_
    client = _client(engine, settings)
    for path in ("/", "/healthz", "/metrics", "/login"):
        resp = client.get(path, headers={"Host": host})
        assert resp.status_code == 400 and "heavylegs" not in resp.text


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost:8080", "[::1]:8080", "LOCALHOST", "legs.example.org", "legs.example.org:443"])
def test_loopback_names_and_configured_hosts_are_answered(store_: tuple[Engine, Settings], host: str) -> None:
    engine, settings = store_
    client = _client(engine, settings, **{"service.allowed_hosts": ["legs.example.org"]})
    assert client.get("/healthz", headers={"Host": host}).status_code in (200, 503)


# ---- findings 3 and 10: a "$" in a name, and the cached page -------------------------------
def test_a_dollar_in_a_run_name_renders_and_the_page_is_cached_until_data_changes(store_: tuple[Engine, Settings]) -> None:
    engine, settings = store_
    aid = _with_runs(engine, settings)
    client = _client(engine, settings)
    cache = client.app.state.report_cache
    first = client.get("/")
    assert first.status_code == 200 and cache.renders == 1
    assert client.get("/").text == first.text and cache.renders == 1  # not rendered again
    assert client.get("/?athlete=me").status_code == 200 and cache.renders == 1
    # New data: a run today. The page must show it, so it is rendered again.
    today = settings.athlete_today("me")
    store(engine, [run(today, 50, hr=150)])
    recompute_athlete(engine, analysis_env(settings), aid, today)
    second = client.get("/")
    assert second.status_code == 200 and cache.renders == 2 and second.text != first.text
    assert client.get("/").text == second.text and cache.renders == 2


def test_the_dollar_name_really_breaks_default_matplotlib_text() -> None:
    """The attack is real: the same title with matplotlib's defaults fails to render."""
    import io

    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().set_title(f"{DOLLAR_NAME} on {date.today().isoformat()}")
    with pytest.raises(ValueError):
        fig.savefig(io.BytesIO(), format="png")


def test_pages_cannot_be_framed_or_load_anything_and_the_report_offers_logout(locked) -> None:
    _, _, client = locked
    login = client.get("/login")
    page = client.get("/", headers={"Authorization": f"Bearer {TOKEN}"})
    for resp in (login, page, client.get("/healthz")):
        assert resp.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
        assert "script-src" not in resp.headers["content-security-policy"]  # default-src 'none': no scripts at all
        assert resp.headers["x-content-type-options"] == "nosniff"
    assert '<form method="post" action="/logout"' in page.text


def test_without_auth_the_login_page_just_leads_to_the_report(store_: tuple[Engine, Settings]) -> None:
    engine, settings = store_
    client = _client(engine, settings)
    resp = client.get("/login")
    assert resp.status_code == 303 and resp.headers["location"] == "/"
    assert "/logout" not in client.get("/").text

"""The Garmin client on its own: token parsing and reuse, Retry-After, pacing, against the strict fake."""
from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from ingest.garmin.client import GarminClient, KeyRejected, Pacer, RateLimited, Unauthorized, retry_after_s
from ingest.garmin.mapping import durations_s, start_ts
from ingest.garmin.token import BadToken, Token, parse_token_body
from tests.garmin_fake import LIST_PATH, TOKEN_PATH, GarminFake

KEY = "k-123"


def _jwt(claims: dict) -> str:
    part = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


@pytest.fixture
def fake() -> Iterator[GarminFake]:
    f = GarminFake(min_interval_s=0.05, retry_after_s=1).start()
    f.add_key(KEY)
    try:
        yield f
    finally:
        f.stop()


def test_token_body_bare_quoted_json_and_exp() -> None:
    jwt = _jwt({"exp": 1_700_086_400})
    for body in (jwt, f" {jwt}\n", json.dumps(jwt), json.dumps({"token": jwt}), json.dumps({"accessToken": jwt})):
        token = parse_token_body(body, now=1_700_000_000.0)
        assert (token.jwt, token.expires_at) == (jwt, 1_700_086_400.0)
    with pytest.raises(BadToken):
        parse_token_body("<html>not a token</html>", now=0.0)
    fallback = parse_token_body(_jwt({"sub": "x"}), now=1000.0)  # no exp: a short lifetime, renewed half-way
    assert fallback.expires_at == 4600.0 and fallback.renew_at(3600) == 2800.0


def test_token_reused_until_an_hour_before_exp() -> None:
    day = Token("t", expires_at=100_000.0, issued_at=100_000.0 - 86_400)
    assert day.renew_at(3600) == 96_400.0  # 24 h token: renewed one hour before exp


def test_retry_after_seconds_and_date() -> None:
    assert retry_after_s("7") == 7.0
    assert retry_after_s(None) == 60.0
    assert 0.0 <= retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") <= 0.0  # a past date: no wait


def test_summary_fields_are_optional() -> None:
    assert start_ts({"startTimeGMT": "2024-05-01 06:30:00"}) == 1714545000.0
    assert start_ts({"beginTimestamp": 1714545000000, "startTimeGMT": "garbage"}) == 1714545000.0
    assert start_ts({}) is None
    assert durations_s({"duration": 1800.5, "elapsedDuration": 1900, "movingDuration": "x"}) == [1900.0, 1800.5]


def test_pacer_spaces_requests() -> None:
    t = [0.0]
    slept: list[float] = []
    pacer = Pacer(20, clock=lambda: t[0], sleep=lambda s: (slept.append(s), t.__setitem__(0, t[0] + s)))
    for _ in range(3):
        pacer.wait_turn()
    assert slept == [3.0, 3.0]  # 20 per minute: three seconds apart


def test_the_fake_refuses_overlapping_requests(fake: GarminFake) -> None:
    statuses: list[int] = []

    def hit() -> None:
        statuses.append(httpx.post(fake.url + TOKEN_PATH, headers={"Authorization": f"ApiKey {KEY}"}).status_code)

    fake.download_delay_s = 0.0
    threads = [threading.Thread(target=hit) for _ in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert 429 in statuses  # 12 parallel requests, as seen on the real API


def test_client_sends_one_request_at_a_time_across_threads(fake: GarminFake) -> None:
    client = GarminClient(fake.url, lambda: KEY, max_requests_per_minute=600)
    try:
        threads = [threading.Thread(target=client.list_activities, kwargs={"start": 0, "limit": 10}) for _ in range(6)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        client.close()
    assert 429 not in fake.statuses() and len(fake.requests_to(LIST_PATH)) == 6
    assert len(fake.requests_to(TOKEN_PATH)) == 1  # the token is shared


def test_rate_limited_carries_retry_after(fake: GarminFake) -> None:
    fake.quota = 0
    client = GarminClient(fake.url, lambda: KEY, max_requests_per_minute=0)
    try:
        before = time.time()
        with pytest.raises(RateLimited) as caught:
            client.exchange()
        assert before + 0.9 <= caught.value.resume_at <= time.time() + 1.1
    finally:
        client.close()


def test_key_rejected_on_exchange_and_unauthorized_after_one_retry(fake: GarminFake) -> None:
    fake.add_key("old", expires_at=time.time() - 1)
    for key, status in (("nope", 401), ("old", 403)):
        client = GarminClient(fake.url, lambda k=key: k, max_requests_per_minute=600, last_request=time.time())
        with pytest.raises(KeyRejected) as caught:
            client.list_activities(start_date=date(2024, 1, 1), end_date=date(2024, 1, 2))
        assert caught.value.status == status
        client.close()
    client = GarminClient(fake.url, lambda: KEY, max_requests_per_minute=600, last_request=time.time())
    try:
        client.list_activities()
        fake.token_ttl_s = -1  # every new token is born expired: the retry fails too
        fake.expire_tokens()
        with pytest.raises(Unauthorized):
            client.list_activities()
        assert [c.status for c in fake.requests_to(LIST_PATH)] == [200, 401, 401]  # exactly one retry
    finally:
        client.close()


def test_a_passing_outage_is_retried_with_backoff(fake: GarminFake) -> None:
    client = GarminClient(fake.url, lambda: KEY, max_requests_per_minute=600)
    try:
        client.bearer()
        fake.fail_next = 1
        page = client.list_activities()
        assert page.items == [] and page.short
        assert [c.status for c in fake.requests_to(LIST_PATH)] == [503, 200]
    finally:
        client.close()

"""Provider health from real sign-ins against a local provider, counted by two app instances
(two workers) sharing one database; shown by the admin page and the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from social_auth import get_state
from social_auth.errors import ProviderError
from social_auth.health import HealthRecorder
from social_auth.health_redis import RedisHealthSink
from social_auth.store.health import SqlHealthSink
from tests.conftest import missing_part
from tests.providers.conftest import make_fake, make_provider
from tests.providers.servers import FakeProvider, consent
from tests.providers.signin_app import BASE, callback, client_for, signin_app, start


def worker(tmp_path: Path, fake: FakeProvider) -> Flask:
    """One of two app instances on the same database (``tmp_path``'s)."""
    return signin_app(tmp_path, {"github": make_provider("github", fake).settings},
                      SOCIAL_AUTH_HEALTH_FLUSH=0, SOCIAL_AUTH_ADMIN_CHECK=lambda: True)


def attempt(app: Flask) -> int:
    client = client_for(app)
    started = start(client, "github")
    answer = callback(client, "github", consent(started.headers["Location"]))
    return answer.status_code


def cancel(app: Flask, fake: FakeProvider) -> None:
    fake.decision = "deny"
    try:
        assert attempt(app) == 302
    finally:
        fake.decision = "approve"


def cli_health(app: Flask) -> dict[str, Any]:
    result = app.test_cli_runner().invoke(args=["social-auth", "providers", "--health", "--json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)["providers"]
    health: dict[str, Any] = row["health"]
    return health


def test_two_workers_count_sign_ins_failures_and_latency_together(tmp_path: Path):
    with make_fake("github").running() as fake:
        one, two = worker(tmp_path, fake), worker(tmp_path, fake)
        assert attempt(one) == 302 and attempt(two) == 302
        cancel(two, fake)
        fake.faults["token"] = "500"
        assert attempt(one) == 502
        failing = cli_health(two)
        fake.faults.clear()
        assert attempt(two) == 302
    hour = failing["last_hour"]
    assert (hour["started"], hour["finished"]) == (4, 2)
    assert hour["failed"] == {"cancelled": 1, "provider_error": 1}
    assert hour["median_latency_ms"] is not None and hour["median_latency_ms"] > 0
    assert failing["unavailable_since"] is not None and "provider_error" in failing["last_error"]
    assert failing["callback_url"] == f"{BASE}/auth/callback/github"
    recovered = cli_health(one)
    assert recovered["last_day"]["finished"] == 3 and recovered["unavailable_since"] is None
    assert recovered["capabilities"]["returns_email"] is True


def test_the_admin_page_shows_counts_and_since_when_a_provider_fails(tmp_path: Path):
    with make_fake("github").running() as fake:
        app = worker(tmp_path, fake)
        fake.faults["token"] = "500"
        assert attempt(app) == 502
        page = client_for(app).get("/auth/admin/health", base_url=BASE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "unavailable since" in html
    assert "1 started, 0 finished, 1 provider_error" in html
    assert f"{BASE}/auth/callback/github" in html
    assert "img-src 'self';" in page.headers["Content-Security-Policy"]


def test_the_cli_prints_capabilities_for_people(tmp_path: Path):
    with make_fake("github").running() as fake:
        app = worker(tmp_path, fake)
        result = app.test_cli_runner().invoke(args=["social-auth", "providers", "--health"])
    assert result.exit_code == 0
    assert "last hour: 0 started, 0 finished, 0 failed" in result.output
    assert "email: returned, verified by api_field" in result.output


class FlakySink(SqlHealthSink):
    down = True

    def add(self, counts: Any, statuses: Any) -> None:
        if self.down:
            raise OSError("database away")
        super().add(counts, statuses)


def test_counts_wait_in_the_worker_until_flushed_and_survive_a_failed_write(tmp_path: Path):
    with make_fake("github").running() as fake:
        app = worker(tmp_path, fake)
    sink = FlakySink(get_state(app).store.engine)
    recorder = HealthRecorder(sink, flush_every=3600, clock=lambda: 1_800_000_000.0)
    recorder.started("github")
    recorder.failed("github", ProviderError("github", "GitHub timed out.", status=504))
    assert sink.counts(0) == []  # not written yet: the sign-in path only counted
    recorder.flush()  # the write fails: the counts stay in the worker
    sink.down = False
    recorder.flush()
    assert sorted(m for _p, _b, m, _n in sink.counts(0)) == ["failed:timeout", "started"]
    assert sink.statuses()["github"].failing_since is not None


def test_redis_shares_counts_between_workers():
    url = os.environ.get("SOCIAL_AUTH_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
    sink = RedisHealthSink(url)
    try:
        sink.client.flushdb()
    except Exception as exc:  # no server here
        missing_part(f"Redis at {url} is unreachable: {exc.__class__.__name__}")
    ticks = iter(range(1_800_000_000, 1_800_000_100))
    clock = 1_800_000_000.0
    one = HealthRecorder(sink, flush_every=0, clock=lambda: float(next(ticks)))
    two = HealthRecorder(RedisHealthSink(url), flush_every=0, clock=lambda: float(next(ticks)))
    one.started("x")
    two.started("x")
    two.finished("x", 0.25)
    one.failed("x", ProviderError("x", "X answered 500.", status=502))
    counts = {m: n for _p, _b, m, n in sink.counts(int(clock // 600) - 1)}
    assert (counts["started"], counts["finished"], counts["failed:provider_error"]) == (2, 1, 1)
    assert sink.statuses()["x"].failing_since is not None
    sink.client.flushdb()


@pytest.mark.parametrize("seconds", [0.001, 0.05, 0.4, 3.0])
def test_latency_buckets_are_within_a_fifth(seconds: float):
    from social_auth.health import bucket_ms, latency_bucket

    assert abs(bucket_ms(latency_bucket(seconds)) / (seconds * 1000) - 1) <= 0.2 or seconds < 0.002


def test_a_provider_down_at_the_start_counts_as_failed_not_started(tmp_path: Path):
    down = {"client_id": "c", "client_secret": "s",
            "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
    app = signin_app(tmp_path, {"google": down}, SOCIAL_AUTH_HEALTH_FLUSH=0)
    client = client_for(app)
    assert start(client, "google").status_code == 502
    result = app.test_cli_runner().invoke(args=["social-auth", "providers", "--health", "--json"])
    (row,) = json.loads(result.output)["providers"]
    hour = row["health"]["last_hour"]
    assert (hour["started"], hour["failed"]) == (0, {"provider_error": 1})
    assert row["health"]["unavailable_since"] is not None

"""One expiry rule for a sign-in flow (``flow.flow_expires_at`` / ``flow.is_expired``): the flow
cookie is accepted exactly while the replay guard still remembers its consumed id, so a state
used once is refused at every instant, before its deadline ("already used") and after it ("took
too long"), including the half second after it (+600.5 s) that once let a replay through.

Time is moved by the flow settings' own clock (``FlowSettings.clock``), the one both the cookie
check and the guard read; the cookie itself is signed by itsdangerous at the real time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from social_auth import flow, get_state
from social_auth.errors import StateMismatch
from social_auth.flow import FlowSettings, MemoryUsedStates, SqlUsedStates, UsedStates
from social_auth.store import IdentityStore
from tests.conftest import POSTGRES_URL, empty_tables, postgres_schema
from tests.providers.conftest import callback_url, make_fake, make_provider
from tests.providers.servers import FakeProvider, consent
from tests.providers.signin_app import (
    BASE,
    callback,
    client_for,
    counts,
    set_cookies,
    sets_session,
    signin_app,
    start,
)

SECRET = "flow-expiry-secret-key"


class Clock:
    """Now, as the flow settings read it: set by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def tokens(fake: FakeProvider) -> int:
    return sum(1 for kind, _ in fake.requests_seen if kind == "token")


# -- through the real callback route, two workers on one database --------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Config that puts every app of the test on one database: a SQLite file or PostgreSQL."""
    if request.param == "sqlite":
        yield {"SOCIAL_AUTH_DATABASE_URI": f"sqlite:///{tmp_path / 'shared.sqlite3'}"}
        return
    with postgres_schema("sa_expiry") as (schema, _admin):
        yield {
            "SOCIAL_AUTH_DATABASE_URI": POSTGRES_URL,
            "SOCIAL_AUTH_DATABASE_ENGINE_OPTIONS": {
                "connect_args": {"options": f"-csearch_path={schema}"}
            },
        }


def worker(tmp_path: Path, fake: FakeProvider, database: dict[str, Any], clock: Clock) -> Flask:
    """One worker of the blog; its flow settings read ``clock``."""
    settings = make_provider("github", fake).settings
    app = signin_app(tmp_path, {"github": settings}, SOCIAL_AUTH_SITE_URL=BASE, **database)
    state = get_state(app)
    state.flow_settings = replace(state.flow_settings, clock=clock)
    return app


@pytest.mark.parametrize("after", [0.0, 0.5, 1.0, 3600.0])
def test_a_consumed_state_replayed_just_after_its_deadline_is_refused_by_the_callback(
    tmp_path: Path, github: FakeProvider, database: dict[str, Any], after: float
):
    clock = Clock()
    first, second = (worker(tmp_path, github, database, clock) for _ in range(2))
    try:
        client = client_for(first)
        started = start(client, "github")
        name, cookie = next(
            (n, c[n]) for n, c in set_cookies(started).items() if n.endswith(flow.COOKIE_NAME)
        )
        signed = flow.read_cookie(cookie.value, settings=get_state(first).flow_settings)
        deadline = flow.flow_expires_at(signed.signed_at, flow.MAX_AGE)
        params = consent(started.headers["Location"])
        clock.now = signed.signed_at + 1.0
        assert sets_session(callback(client, "github", params))
        exchanged = tokens(github)

        clock.now = deadline + after  # e.g. +600.5 s after the cookie was signed
        attacker = client_for(second)
        attacker.set_cookie(name, cookie.value, domain="blog.example", path=cookie["path"])
        replay = callback(attacker, "github", params)
        assert replay.status_code == 400
        assert "took too long" in replay.get_data(as_text=True)
        assert not sets_session(replay)
        assert tokens(github) == exchanged  # refused before any exchange with the provider
        assert counts(first) == (1, 1)
    finally:
        for app in (first, second):
            get_state(app).store.engine.dispose()


# -- the flow functions, at the exact boundary, for each guard -----------------------------


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def guard(request: pytest.FixtureRequest) -> Iterator[UsedStates]:
    """Each replay guard: in memory, and ``SqlUsedStates`` on a SQLite file and PostgreSQL."""
    if request.param == "memory":
        yield MemoryUsedStates()
        return
    store: IdentityStore = request.getfixturevalue(f"{request.param}_store")
    empty_tables(store)
    yield SqlUsedStates(store.engine)
    empty_tables(store)


def test_at_every_instant_around_the_deadline_a_consumed_state_is_refused(guard: UsedStates):
    clock = Clock()
    settings = FlowSettings(secret_key=SECRET, used_states=guard, clock=clock)
    with make_fake("github").running() as fake:
        provider = make_provider("github", fake)
        url = callback_url(provider)
        started = flow.start(provider, url, settings=settings, draft="Hi")
        params = consent(started.url)
        signed_at = flow.read_cookie(started.cookie_value, settings=settings).signed_at
        deadline = flow.flow_expires_at(signed_at, settings.max_age)
        clock.now = deadline - 1.0
        assert flow.finish(provider, started.cookie_value, params, url, settings=settings)
        exchanged = tokens(fake)
        for now, why in [
            (deadline - 0.001, "already used"),  # the guard still remembers it
            (deadline, "took too long"),  # the same instant the guard forgets it
            (deadline + 0.5, "took too long"),
        ]:
            clock.now = now
            with pytest.raises(StateMismatch, match=why) as info:
                flow.finish(provider, started.cookie_value, params, url, settings=settings)
            assert info.value.draft == "Hi"
        assert tokens(fake) == exchanged


def test_a_cookie_read_before_its_deadline_and_finished_after_it_is_refused(guard: UsedStates):
    """The callback reads the cookie once, then finishes: the guard is asked at the instant
    the flow is judged again, not at the instant the cookie was read."""
    clock = Clock()
    settings = FlowSettings(secret_key=SECRET, used_states=guard, clock=clock)
    with make_fake("github").running() as fake:
        provider = make_provider("github", fake)
        url = callback_url(provider)
        started = flow.start(provider, url, settings=settings)
        params = consent(started.url)
        signed_at = flow.read_cookie(started.cookie_value, settings=settings).signed_at
        deadline = flow.flow_expires_at(signed_at, settings.max_age)
        clock.now = deadline - 1.0
        assert flow.finish(provider, started.cookie_value, params, url, settings=settings)
        clock.now = deadline - 0.25
        cookie = flow.read_cookie(started.cookie_value, settings=settings)
        assert cookie.problem is None
        clock.now = deadline + 0.25
        with pytest.raises(StateMismatch, match="took too long"):
            flow.finish_read(provider, cookie, params, url, settings=settings)


def test_the_guard_forgets_an_id_exactly_at_its_deadline(guard: UsedStates):
    deadline = 1_000_000.0
    assert guard.consume("remembered", deadline, now=deadline - 600)
    assert not guard.consume("remembered", deadline, now=deadline - 0.001)
    assert guard.consume("remembered", deadline, now=deadline)  # gone: the cookie is too


def test_the_cookie_is_refused_from_the_exact_deadline_on():
    clock = Clock()
    settings = FlowSettings(secret_key=SECRET, used_states=MemoryUsedStates(), clock=clock)
    with make_fake("github").running() as fake:
        provider = make_provider("github", fake)
        started = flow.start(provider, callback_url(provider), settings=settings)
    signed_at = flow.read_cookie(started.cookie_value, settings=settings).signed_at
    deadline = flow.flow_expires_at(signed_at, settings.max_age)
    for now, problem in [(deadline - 0.001, False), (deadline, True), (deadline + 0.5, True)]:
        clock.now = now
        cookie = flow.read_cookie(started.cookie_value, settings=settings)
        assert (cookie.problem is not None) is problem
        assert cookie.state == started.state  # the draft and next still read back

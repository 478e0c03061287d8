"""The replay guard (``flow.SqlUsedStates``) on SQLite and PostgreSQL: a flow id is consumed once
across workers, twin consumers have one winner, an expired entry never blocks, expired entries
are pruned now and then rather than on every sign-in, a database failure is a clear
``StoreUnavailable``, and the guard's own SQLite connection changes no other connection's
durability. Racing consumers and forgotten expired ids are checked on the in-memory guard too."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select, text

from social_auth import flow
from social_auth.errors import StateMismatch, StoreUnavailable
from social_auth.flow import FlowSettings, MemoryUsedStates, SqlUsedStates
from social_auth.store import IdentityStore, UsedFlowState
from social_auth.store.models import Base
from tests.providers.conftest import callback_url, make_fake, make_provider
from tests.providers.servers import consent

SECRET = "replay-guard-secret"


def stored(store: IdentityStore) -> int:
    with store.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(UsedFlowState)) or 0


def jti() -> str:
    return uuid.uuid4().hex


def test_a_flow_id_is_consumed_once_across_workers(store: IdentityStore):
    workers = [SqlUsedStates(store.engine) for _ in range(3)]
    expires, used = time.time() + 600, jti()
    assert workers[0].consume(used, expires)
    assert not workers[1].consume(used, expires)
    assert not workers[2].consume(used, expires)
    assert not workers[0].consume(used, expires)


def test_twin_consumers_in_many_threads_have_exactly_one_winner(store: IdentityStore):
    workers = [SqlUsedStates(store.engine) for _ in range(2)]
    for _ in range(5):
        used, barrier = jti(), threading.Barrier(8)
        results: list[bool] = []

        def consume(i: int, used: str, barrier: threading.Barrier, out: list[bool]) -> None:
            barrier.wait()
            out.append(workers[i % 2].consume(used, time.time() + 600))

        threads = [
            threading.Thread(target=consume, args=(i, used, barrier, results)) for i in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [False] * 7 + [True]


def test_expired_entries_are_pruned_at_most_once_a_period_and_never_block(store: IdentityStore):
    guard = SqlUsedStates(store.engine)
    old = jti()
    assert guard.consume(jti(), time.time() + 600)  # the first call of a guard prunes
    assert guard.consume(old, time.time() - 1)
    assert guard.consume(jti(), time.time() + 600)
    assert stored(store) == 3  # not pruned on this call: the period has not passed
    # An expired entry still there does not count as used.
    assert guard.consume(old, time.time() + 600)
    assert not guard.consume(old, time.time() + 600)
    expired = jti()
    assert guard.consume(expired, time.time() - 1)
    assert stored(store) == 4
    # Another worker's guard prunes on its first call.
    assert SqlUsedStates(store.engine).consume(jti(), time.time() + 600)
    assert stored(store) == 4
    with store.engine.connect() as conn:
        left = conn.scalar(select(func.count()).where(UsedFlowState.jti == expired))
    assert left == 0


def test_a_failing_database_is_store_unavailable_and_the_guard_recovers(store: IdentityStore):
    guard = SqlUsedStates(store.engine)
    assert guard.consume(jti(), time.time() + 600)
    table: Any = UsedFlowState.__table__
    table.drop(store.engine)
    try:
        with pytest.raises(StoreUnavailable, match="database"):
            guard.consume(jti(), time.time() + 600)
    finally:
        Base.metadata.create_all(store.engine, tables=[table])
    used = jti()
    assert guard.consume(used, time.time() + 600)
    assert not SqlUsedStates(store.engine).consume(used, time.time() + 600)


def test_the_guards_own_sqlite_connection_leaves_the_stores_durability_alone(
    sqlite_store: IdentityStore,
):
    before = _synchronous(sqlite_store)
    guard = SqlUsedStates(sqlite_store.engine)
    assert guard.consume(jti(), time.time() + 600)
    assert _synchronous(sqlite_store) == before
    fresh = IdentityStore.from_url(str(sqlite_store.engine.url))
    try:
        assert _synchronous(fresh) == before
    finally:
        fresh.engine.dispose()


def _synchronous(store: IdentityStore) -> Any:
    with store.engine.connect() as conn:
        return conn.execute(text("PRAGMA synchronous")).scalar()


def test_a_replayed_callback_is_refused_by_another_worker_before_any_exchange(
    store: IdentityStore,
):
    workers = [
        FlowSettings(secret_key=SECRET, used_states=SqlUsedStates(store.engine)) for _ in range(2)
    ]
    with make_fake("github").running() as fake:
        provider = make_provider("github", fake)
        started = flow.start(provider, callback_url(provider), settings=workers[0], draft="Hi")
        params = consent(started.url)
        url = callback_url(provider)
        assert flow.finish(provider, started.cookie_value, params, url, settings=workers[0])
        tokens = sum(1 for kind, _ in fake.requests_seen if kind == "token")
        with pytest.raises(StateMismatch, match="already used") as info:
            flow.finish(provider, started.cookie_value, params, url, settings=workers[1])
        assert info.value.draft == "Hi"
        assert sum(1 for kind, _ in fake.requests_seen if kind == "token") == tokens


def test_a_flow_cookie_is_read_once_and_a_refused_one_consumes_nothing(store: IdentityStore):
    settings = FlowSettings(secret_key=SECRET, used_states=SqlUsedStates(store.engine))
    with make_fake("github").running() as fake:
        provider = make_provider("github", fake)
        started = flow.start(provider, callback_url(provider), settings=settings, draft="Hi")
        params = consent(started.url)
        url = callback_url(provider)
        cookie = flow.read_cookie(started.cookie_value, settings=settings)
        assert cookie.problem is None and cookie.state == started.state
        forged = flow.read_cookie(started.cookie_value[:-2] + "xx", settings=settings)
        assert forged.state is None and forged.problem
        before = stored(store)
        with pytest.raises(StateMismatch, match="not valid"):
            flow.finish_read(provider, forged, params, url, settings=settings)
        missing = flow.read_cookie(None, settings=settings)
        with pytest.raises(StateMismatch, match="not started here"):
            flow.finish_read(provider, missing, params, url, settings=settings)
        assert stored(store) == before
        result = flow.finish_read(provider, cookie, params, url, settings=settings)
        assert result.draft == "Hi" and stored(store) == before + 1


def test_an_expired_flow_cookie_still_gives_its_draft_back_but_never_finishes(
    store: IdentityStore,
):
    settings = FlowSettings(secret_key=SECRET, used_states=SqlUsedStates(store.engine))
    expired = FlowSettings(
        secret_key=SECRET, used_states=SqlUsedStates(store.engine), max_age=-1
    )
    with make_fake("github").running() as fake:
        provider = make_provider("github", fake)
        started = flow.start(provider, callback_url(provider), settings=settings, draft="Hi")
        params = consent(started.url)
        cookie = flow.read_cookie(started.cookie_value, settings=expired)
        assert cookie.state is not None and cookie.state.draft == "Hi"
        assert cookie.problem is not None and "too long" in cookie.problem
        before = stored(store)
        with pytest.raises(StateMismatch, match="too long") as info:
            flow.finish_read(provider, cookie, params, callback_url(provider), settings=expired)
        assert info.value.draft == "Hi" and stored(store) == before


# -- the in-memory guard and the SQL one, side by side ----------------------------------------


@pytest.fixture(params=["memory", "sql"])
def guards(request, store: IdentityStore):
    if request.param == "memory":
        shared = MemoryUsedStates()
        return [shared] * 8
    return [SqlUsedStates(store.engine) for _ in range(8)]


def test_racing_consumers_of_one_flow_id_have_exactly_one_winner(guards):
    expires, jti = time.time() + 600, uuid.uuid4().hex
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda g: g.consume(jti, expires), guards))
    assert results.count(True) == 1


def test_expired_entries_are_forgotten(guards):
    old, new = uuid.uuid4().hex, uuid.uuid4().hex
    assert guards[0].consume(old, time.time() - 1)
    assert guards[1].consume(new, time.time() + 600)  # prunes the expired one on the way
    assert guards[2].consume(old, time.time() + 600)
    assert not guards[3].consume(new, time.time() + 600)

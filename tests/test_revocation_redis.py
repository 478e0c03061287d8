"""The generation tokens on a real Redis (``revocation.RedisGenerations``): replies read in the
order their GETs were sent, over RESP2 and RESP3, through redis-py's own connection; failures
fall back on the database and the next call reconnects."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from social_auth.revocation import CommenterCache, RedisGenerations
from tests.conftest import missing_part
from tests.test_revocation import REDIS_URL, loader


def with_options(url: str, **options: object) -> str:
    query = "&".join(f"{name}={value}" for name, value in options.items())
    return f"{url}{'&' if '?' in url else '?'}{query}"


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def redis_setup(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any, str]]:
    """A Redis URL speaking the parametrized protocol, a plain client, a fresh key prefix."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        missing_part(f"Redis at {REDIS_URL} is unreachable: {exc.__class__.__name__}")
    prefix = f"sa_test:{uuid.uuid4().hex[:12]}:"
    client = redis.Redis.from_url(REDIS_URL)
    yield with_options(REDIS_URL, protocol=request.param), client, prefix
    client.delete(*client.keys(f"{prefix}*") or [f"{prefix}none"])
    client.close()


@pytest.fixture
def generations(redis_setup: tuple[str, Any, str]) -> tuple[RedisGenerations, Any, str]:
    url, client, prefix = redis_setup
    return RedisGenerations(url, ttl=60, prefix=prefix), client, prefix


def test_a_reply_asked_for_by_an_earlier_request_is_never_read_as_a_later_ones(generations):
    gens, client, prefix = generations
    gens.bump([1])
    stale = gens.ask(1)  # a request asked early, then never looked at the commenter
    gens.bump([1])
    assert gens.current(1) == client.get(f"{prefix}1")
    next_request = gens.ask(1)
    gens.bump([1])
    assert gens.current(1, stale) == client.get(f"{prefix}1")  # dropped: asked afresh
    assert gens.current(1, next_request) == client.get(f"{prefix}1")


def test_an_early_reply_is_read_in_its_own_request_and_only_for_its_commenter(generations):
    gens, client, prefix = generations
    gens.bump([1, 2])
    before = client.get(f"{prefix}1")
    ticket = gens.ask(1)
    assert gens.current(2, ticket) == client.get(f"{prefix}2")  # another commenter: asked anew
    ticket = gens.ask(1)
    gens.bump([1])  # a change racing this request: its GET was sent before it
    assert gens.current(1, ticket) == before
    assert gens.current(1) == client.get(f"{prefix}1") != before
    assert gens.current(3) is None


def test_a_reply_that_is_not_a_string_falls_back_on_the_database(generations):
    gens, client, prefix = generations
    client.rpush(f"{prefix}5", "not-a-token")  # GET answers WRONGTYPE
    cache = CommenterCache(gens, errors=gens.errors)
    loads: dict[int, int] = {}
    assert cache.get(5, loader(loads)).session_version == 1  # type: ignore[union-attr]
    assert cache.get(5, loader(loads)).session_version == 2  # type: ignore[union-attr]
    client.delete(f"{prefix}5")
    assert cache.get(5, loader(loads)).session_version == 3  # reconnected, cached again
    assert cache.get(5, loader(loads)).session_version == 3  # type: ignore[union-attr]


def test_tokens_are_compared_as_bytes_whatever_the_url_decodes(redis_setup):
    url, client, prefix = redis_setup
    gens = RedisGenerations(with_options(url, decode_responses="true"), ttl=60, prefix=prefix)
    client.set(f"{prefix}6", b"\xff\xfe not utf-8")  # tokens are random bytes
    cache = CommenterCache(gens, errors=gens.errors)
    loads: dict[int, int] = {}
    assert cache.get(6, loader(loads)).session_version == 1  # type: ignore[union-attr]
    assert cache.get(6, loader(loads)).session_version == 1  # cached: no decode error
    assert gens.current(6) == b"\xff\xfe not utf-8"


def test_each_thread_reads_only_the_replies_to_its_own_gets(generations):
    gens, client, prefix = generations
    ids = range(10, 18)
    gens.bump(ids)
    tickets = {cid: gens.ask(cid) for cid in ids}  # this thread's GETs, all unread
    seen: dict[int, bytes | None] = {}

    def other_thread(cid: int) -> None:
        seen[cid] = gens.current(cid, gens.ask(cid))

    threads = [threading.Thread(target=other_thread, args=(cid,)) for cid in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = {cid: client.get(f"{prefix}{cid}") for cid in ids}
    assert seen == expected
    assert gens.current(17, tickets[17]) == expected[17]


def test_a_health_check_never_reads_an_unread_reply_as_its_pong(redis_setup):
    url, client, prefix = redis_setup
    gens = RedisGenerations(with_options(url, health_check_interval=1), ttl=60, prefix=prefix)
    gens.bump([1, 2])
    ticket = gens.ask(1)
    time.sleep(1.1)  # a health check is due before the next command redis-py sends
    assert gens.current(2, ticket) == client.get(f"{prefix}2")  # sent with GET 1 unread
    assert gens.current(1, gens.ask(1)) == client.get(f"{prefix}1")


def test_a_connection_closed_by_redis_falls_back_then_reconnects(redis_setup):
    url, client, prefix = redis_setup
    name = f"sa_test_{uuid.uuid4().hex[:12]}"
    gens = RedisGenerations(with_options(url, client_name=name), ttl=60, prefix=prefix)
    gens.bump([4])
    cache = CommenterCache(gens, errors=gens.errors)
    loads: dict[int, int] = {}
    assert cache.get(4, loader(loads)).session_version == 1  # type: ignore[union-attr]
    ours = [c["id"] for c in client.client_list() if c["name"] == name]
    assert ours  # the thread's own connection, and the one bump's pool keeps
    for client_id in ours:
        client.client_kill_filter(_id=client_id)
    assert cache.ask(9) is not None  # a request asks early over the closed connection, unread
    assert cache.get(4, loader(loads)).session_version == 2  # type: ignore[union-attr]
    assert cache.get(4, loader(loads)).session_version == 3  # reconnected, cached again
    assert cache.get(4, loader(loads)).session_version == 3  # type: ignore[union-attr]


def test_an_unreachable_redis_raises_an_error_the_cache_falls_back_on():
    generations = RedisGenerations("redis://127.0.0.1:1/0", ttl=60)
    cache = CommenterCache(generations, errors=generations.errors)
    loads: dict[int, int] = {}
    assert cache.get(7, loader(loads)).session_version == 1  # type: ignore[union-attr]
    assert cache.get(7, loader(loads)).session_version == 2  # type: ignore[union-attr]

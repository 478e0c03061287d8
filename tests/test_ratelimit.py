"""Rate limits in process and in Redis (``limits``' fixed window on its memory and Redis
storages): the limit, the in-process bound, and counts shared between workers."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from social_auth.ratelimit import MAX_KEYS, MemoryRateLimiter, RedisRateLimiter
from tests.conftest import missing_part

REDIS_URL = os.environ.get("SOCIAL_AUTH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_limiter() -> RedisRateLimiter:
    """A limiter on the test Redis, or ``missing_part`` when it cannot be reached."""
    limiter = RedisRateLimiter(REDIS_URL)
    try:
        limiter.remaining(uuid.uuid4().hex, 1, 1)
    except Exception as exc:
        missing_part(f"Redis at {REDIS_URL} is unreachable: {exc.__class__.__name__}")
    return limiter


def test_memory_limiter_allows_the_limit_then_refuses():
    limiter = MemoryRateLimiter()
    assert [limiter.hit("k", 3, 60) for _ in range(5)] == [True, True, True, False, False]
    assert limiter.remaining("k", 3, 60) == 0
    assert limiter.hit("other", 3, 60) is True
    assert limiter.remaining("other", 3, 60) == 2


@pytest.mark.slow
def test_a_flood_of_distinct_keys_leaves_at_most_max_keys_counters():
    limiter = MemoryRateLimiter()
    for i in range(200_000):
        limiter.hit(f"email:flood{i}@example.com", 3, 15 * 60)
    assert len(limiter) == MAX_KEYS
    # What limits' own storage holds, through its public API (reset answers how many it held).
    assert limiter.storage.reset() == MAX_KEYS


def test_when_full_a_new_key_evicts_the_counter_nearest_its_window_end():
    limiter = MemoryRateLimiter(max_keys=3)
    limiter.hit("long-a", 3, 900)
    limiter.hit("short", 3, 60)  # the newest, but its window ends first
    limiter.hit("long-b", 3, 900)
    assert limiter.hit("new", 3, 900) is True
    assert len(limiter) == 3
    assert limiter.remaining("short", 3, 60) == 3  # forgotten: it starts over
    assert limiter.remaining("long-a", 3, 900) == 2
    assert limiter.remaining("long-b", 3, 900) == 2


@pytest.mark.slow
def test_a_key_hit_again_after_its_window_ended_is_ordered_by_its_new_window():
    limiter = MemoryRateLimiter(max_keys=2)
    limiter.hit("returning", 3, 2)
    time.sleep(2.1)  # its first window ends; the next hit opens a new one
    limiter.hit("returning", 3, 2)
    limiter.hit("returning", 3, 2)
    limiter.hit("brief", 3, 1)  # ends before the returning key's new window
    limiter.hit("new", 3, 900)
    assert limiter.remaining("returning", 3, 2) == 1
    assert limiter.remaining("brief", 3, 1) == 3


def test_redis_limiter_allows_the_limit_then_refuses():
    limiter = redis_limiter()
    key = uuid.uuid4().hex
    assert [limiter.hit(key, 3, 60) for _ in range(5)] == [True, True, True, False, False]
    assert limiter.remaining(key, 3, 60) == 0


def test_redis_counters_expire_with_their_window():
    import redis

    limiter = redis_limiter()
    key = uuid.uuid4().hex
    limiter.hit(key, 3, 60)
    client = redis.Redis.from_url(REDIS_URL)
    (name,) = client.keys(f"social_auth:rl:*{key}*")
    assert 0 < client.ttl(name) <= 60
    client.close()


def test_redis_limiter_is_shared_between_instances():
    first, second = redis_limiter(), RedisRateLimiter(REDIS_URL)
    key = uuid.uuid4().hex
    assert first.hit(key, 2, 60) is True
    assert second.hit(key, 2, 60) is True
    assert first.hit(key, 2, 60) is False
    assert second.remaining(key, 2, 60) == 0


def test_with_a_redis_url_two_workers_share_the_magic_link_limit(tmp_path):
    import random

    from social_auth.testing import csrf_headers
    from tests.webapp import make_app

    redis_limiter()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    workers = [make_app(tmp_path / n, SOCIAL_AUTH_REDIS_URL=REDIS_URL) for n in ("a", "b")]
    address = f"{uuid.uuid4().hex}@example.com"
    client_ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    codes = []
    for i in range(4):
        client = workers[i % 2].test_client()
        response = client.post(
            "/auth/email/start",
            data={"email": address},
            headers=csrf_headers(client),
            environ_overrides={"REMOTE_ADDR": client_ip},
        )
        codes.append(response.status_code)
    assert codes == [200, 200, 200, 429]


def test_a_key_popped_while_the_sweep_lists_keys_reads_as_expired():
    """limits' expiry sweep lists the keys, then reads ``expirations[key]`` for each: a key an
    eviction or a hit popped in between must read as expired, not raise in the sweep thread."""
    import time as clock

    from social_auth.ratelimit import MemoryRateLimiter

    limiter = MemoryRateLimiter(max_keys=2)
    for n in range(50):
        limiter.hit(f"k{n}", 5, 60)
    expirations = limiter.storage.expirations  # type: ignore[attr-defined]
    assert expirations["k0"] <= clock.time()  # evicted: gone from the storage

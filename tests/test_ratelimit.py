"""Rate limits in process and in Redis."""

from __future__ import annotations

import os
import uuid

from social_auth.ratelimit import MemoryRateLimiter, RedisRateLimiter
from tests.conftest import missing_part

REDIS_URL = os.environ.get("SOCIAL_AUTH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def test_memory_limiter_allows_the_limit_then_refuses():
    limiter = MemoryRateLimiter()
    assert [limiter.hit("k", 3, 60) for _ in range(5)] == [True, True, True, False, False]
    assert limiter.hit("other", 3, 60) is True


def test_redis_limiter_is_shared_between_instances():
    try:
        first = RedisRateLimiter(REDIS_URL)
        key = uuid.uuid4().hex
        first.hit(key, 2, 60)
    except Exception as exc:
        missing_part(f"Redis at {REDIS_URL} is unreachable: {exc.__class__.__name__}")
    second = RedisRateLimiter(REDIS_URL)
    assert second.hit(key, 2, 60) is True
    assert first.hit(key, 2, 60) is False

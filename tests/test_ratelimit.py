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


def test_with_a_redis_url_two_workers_share_the_magic_link_limit(tmp_path):
    import random

    from social_auth.testing import csrf_headers
    from tests.webapp import make_app

    try:
        RedisRateLimiter(REDIS_URL).hit(uuid.uuid4().hex, 1, 1)
    except Exception as exc:
        missing_part(f"Redis at {REDIS_URL} is unreachable: {exc.__class__.__name__}")
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

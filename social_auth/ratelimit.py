"""Fixed-window rate limits, in process or shared through Redis; no framework imports."""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int, window: int) -> bool:
        """Count one event for ``key``; False when ``limit`` per ``window`` seconds is passed."""
        ...


class MemoryRateLimiter:
    """Per-process counters: fine for one worker, and for development."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int]] = {}

    def hit(self, key: str, limit: int, window: int) -> bool:
        bucket = int(time.time()) // window
        with self._lock:
            if len(self._counts) > 10_000:  # forget old windows instead of growing forever
                self._counts = {k: v for k, v in self._counts.items() if v[0] == bucket}
            seen_bucket, count = self._counts.get(key, (bucket, 0))
            count = count + 1 if seen_bucket == bucket else 1
            self._counts[key] = (bucket, count)
        return count <= limit


class RedisRateLimiter:
    """Counters in Redis, so every worker shares them."""

    def __init__(self, url: str, prefix: str = "social_auth:rl:") -> None:
        import redis

        self._redis: Any = redis.Redis.from_url(url, socket_timeout=2)
        self._prefix = prefix

    def hit(self, key: str, limit: int, window: int) -> bool:
        bucket = int(time.time()) // window
        name = f"{self._prefix}{key}:{bucket}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, window)
        count, _ = pipe.execute()
        return int(count) <= limit


def make_limiter(redis_url: str | None) -> RateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else MemoryRateLimiter()

"""Provider health counts in Redis (``SOCIAL_AUTH_REDIS_URL``): one hash per time bucket,
``<provider>|<metric>`` → count, kept two days; one hash per provider for its status."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import redis

from .health import DAY_BUCKETS
from .store.health import Status

PREFIX = "social_auth:health:"
KEEP_SECONDS = 2 * 86400
_FIELDS = ("last_error", "last_error_at", "last_ok_at", "failing_since")


class RedisHealthSink:
    """``health.HealthSink`` over redis-py's public client API."""

    def __init__(self, url: str) -> None:
        self.client: redis.Redis = redis.Redis.from_url(url, decode_responses=True)

    def add(self, counts: Mapping[tuple[str, int, str], int],
            statuses: Mapping[str, Status]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for (provider, bucket, metric), n in counts.items():
            key = f"{PREFIX}{bucket}"
            pipe.hincrby(key, f"{provider}|{metric}", n)
            pipe.expire(key, KEEP_SECONDS)
        pipe.execute()
        for provider, status in statuses.items():
            self._merge_status(provider, status)

    def _merge_status(self, provider: str, status: Status) -> None:
        key = f"{PREFIX}status:{provider}"

        def merge(pipe: Any) -> None:
            merged = _status(pipe.hgetall(key)).merged(status)
            values = {name: _text(getattr(merged, name)) for name in _FIELDS}
            pipe.multi()
            pipe.delete(key)
            pipe.hset(key, mapping={k: v for k, v in values.items() if v})

        self.client.transaction(merge, key)

    def counts(self, since_bucket: int) -> list[tuple[str, int, str, int]]:
        pipe = self.client.pipeline(transaction=False)
        buckets = range(since_bucket, since_bucket + DAY_BUCKETS + 2)
        for bucket in buckets:
            pipe.hgetall(f"{PREFIX}{bucket}")
        found = []
        for bucket, fields in zip(buckets, pipe.execute(), strict=True):
            for name, n in fields.items():
                provider, _, metric = name.partition("|")
                found.append((provider, bucket, metric, int(n)))
        return found

    def statuses(self) -> dict[str, Status]:
        keys = list(self.client.scan_iter(f"{PREFIX}status:*"))
        return {str(key).rsplit(":", 1)[1]: _status(self._hash(key)) for key in keys}

    def _hash(self, key: Any) -> dict[str, str]:
        return {str(k): str(v) for k, v in self.client.hgetall(key).items()}


def _text(value: str | datetime | None) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return value or ""


def _status(fields: Mapping[str, str]) -> Status:
    def when(name: str) -> datetime | None:
        value = fields.get(name)
        return datetime.fromisoformat(value) if value else None

    return Status(fields.get("last_error") or None, when("last_error_at"), when("last_ok_at"),
                  when("failing_since"))



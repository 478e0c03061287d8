"""Provider health, shared by every worker: event counts per provider, time bucket and metric,
and each provider's last error, last success and since when it has been failing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Engine, Integer, String, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, UTCDateTime


class HealthCount(Base):
    """How many times ``metric`` happened for ``provider`` in time bucket ``bucket``."""

    __tablename__ = "social_auth_health_count"

    provider: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: Seconds since the epoch divided by the bucket width (``health.BUCKET_SECONDS``).
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``started``, ``finished``, ``failed:<kind>`` or ``lat:<n>`` (a latency bucket).
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class HealthStatus(Base):
    """A provider's last error and success, and the start of its current run of failures."""

    __tablename__ = "social_auth_health_status"

    provider: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())


@dataclass
class Status:
    """One worker's (or the shared) view of a provider's recent outcomes."""

    last_error: str | None = None
    last_error_at: datetime | None = None
    last_ok_at: datetime | None = None
    failing_since: datetime | None = None

    def merged(self, other: Status) -> Status:
        """Both views as one: the latest error and success; failing since the earliest
        failure after the latest success (None once a success came after every failure)."""
        newer = other if _later(other.last_error_at, self.last_error_at) else self
        ok = max((t for t in (self.last_ok_at, other.last_ok_at) if t), default=None)
        since = [t for t in (self.failing_since, other.failing_since)
                 if t is not None and (ok is None or t > ok)]
        return Status(newer.last_error, newer.last_error_at, ok, min(since, default=None))


def _later(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and (b is None or a > b)


class SqlHealthSink:
    """Health counts and statuses in the identity store's database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, counts: Mapping[tuple[str, int, str], int],
            statuses: Mapping[str, Status]) -> None:
        """Add ``counts`` ((provider, bucket, metric) → n) and merge ``statuses``."""
        if counts:
            insert = (postgresql.insert if self.engine.dialect.name == "postgresql"
                      else sqlite.insert)(HealthCount)
            upsert = insert.on_conflict_do_update(
                index_elements=["provider", "bucket", "metric"],
                set_={"count": HealthCount.count + insert.excluded.count},
            )
            rows = [{"provider": p, "bucket": b, "metric": m, "count": n}
                    for (p, b, m), n in counts.items()]
            with self.engine.begin() as conn:
                conn.execute(upsert, rows)
        for provider, status in statuses.items():
            self._merge_status(provider, status)

    def _merge_status(self, provider: str, status: Status) -> None:
        t = HealthStatus.__table__
        with self.engine.begin() as conn:
            row = conn.execute(select(t).where(t.c.provider == provider)
                               .with_for_update()).first()
            if row is None:
                merged = status
            else:
                merged = Status(row.last_error, row.last_error_at, row.last_ok_at,
                                row.failing_since).merged(status)
            values = {"last_error": (merged.last_error or "")[:500] or None,
                      "last_error_at": merged.last_error_at, "last_ok_at": merged.last_ok_at,
                      "failing_since": merged.failing_since}
            if row is None:
                conn.execute(insert(HealthStatus).values(provider=provider, **values))
            else:
                conn.execute(update(HealthStatus).where(HealthStatus.provider == provider)
                             .values(**values))

    def counts(self, since_bucket: int) -> list[tuple[str, int, str, int]]:
        """Every count from ``since_bucket`` on: (provider, bucket, metric, n)."""
        t = HealthCount.__table__
        query = select(t.c.provider, t.c.bucket, t.c.metric, t.c.count).where(
            t.c.bucket >= since_bucket)
        with self.engine.connect() as conn:
            return [(p, b, m, n) for p, b, m, n in conn.execute(query)]

    def statuses(self) -> dict[str, Status]:
        t = HealthStatus.__table__
        with self.engine.connect() as conn:
            return {r.provider: Status(r.last_error, r.last_error_at, r.last_ok_at,
                                       r.failing_since) for r in conn.execute(select(t))}

    def prune(self, before_bucket: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(HealthCount).where(HealthCount.bucket < before_bucket))

"""Provider health: how sign-ins with each provider went (started, finished, failed by kind,
provider latency), the last error, and since when a provider has been failing.

Cheap on the sign-in path: an event is a dict increment under a lock, in this worker; a timer
adds the worker's counts to a sink every ``SOCIAL_AUTH_HEALTH_FLUSH`` seconds (the store's
database, or Redis with ``SOCIAL_AUTH_REDIS_URL``), where every worker's add up. No Flask.
"""

from __future__ import annotations

import atexit
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol

from .errors import ProviderError, SocialAuthError
from .store.health import Status

#: The width of a count's time bucket: "the last hour" is the last six buckets and this one.
BUCKET_SECONDS = 600
HOUR_BUCKETS, DAY_BUCKETS = 3600 // BUCKET_SECONDS, 86400 // BUCKET_SECONDS
#: Latency buckets grow by this factor: ``lat:<n>`` holds calls of about ``1.2 ** n`` ms.
LATENCY_STEP = 1.2
log = logging.getLogger("social_auth.health")

Counts = dict[tuple[str, int, str], int]


class HealthSink(Protocol):
    """Where every worker's counts meet (``store.health.SqlHealthSink``, ``RedisHealthSink``)."""

    def add(self, counts: Mapping[tuple[str, int, str], int],
            statuses: Mapping[str, Status]) -> None: ...

    def counts(self, since_bucket: int) -> list[tuple[str, int, str, int]]: ...

    def statuses(self) -> dict[str, Status]: ...


def failure_kind(error: SocialAuthError) -> str:
    """How a failed sign-in is counted: the error's code, ``timeout`` for a provider's 504."""
    if isinstance(error, ProviderError) and error.status == 504:
        return "timeout"
    return error.code


def latency_bucket(seconds: float) -> int:
    return max(0, round(math.log(max(seconds * 1000, 1.0), LATENCY_STEP)))


def bucket_ms(index: int) -> float:
    return float(LATENCY_STEP**index)


class HealthRecorder:
    """This worker's events, added to ``sink`` every ``flush_every`` seconds (0: at once)."""

    def __init__(self, sink: HealthSink, *, flush_every: float = 10.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.sink = sink
        self.flush_every = flush_every
        self.clock = clock
        self._lock = threading.Lock()
        self._counts: Counts = {}
        self._statuses: dict[str, Status] = {}
        self._flushed_at = clock()
        self._watched = False
        self._failing = False

    # -- events (the sign-in path) ------------------------------------------------------

    def started(self, provider: str) -> None:
        self._count(provider, "started")

    def finished(self, provider: str, seconds: float) -> None:
        """The provider answered: its round trips took ``seconds``."""
        now = self.clock()
        with self._lock:
            self._add(provider, int(now // BUCKET_SECONDS), "finished")
            self._add(provider, int(now // BUCKET_SECONDS), f"lat:{latency_bucket(seconds)}")
            status = self._statuses.setdefault(provider, Status())
            status.last_ok_at = _time(now)
            status.failing_since = None
        self._after_event()

    def failed(self, provider: str, error: SocialAuthError) -> None:
        kind = failure_kind(error)
        now = self.clock()
        with self._lock:
            self._add(provider, int(now // BUCKET_SECONDS), f"failed:{kind}")
            if kind != "cancelled":
                status = self._statuses.setdefault(provider, Status())
                status.last_error, status.last_error_at = f"{kind}: {error.message}", _time(now)
                if isinstance(error, ProviderError) and status.failing_since is None:
                    status.failing_since = _time(now)
        self._after_event()

    def _count(self, provider: str, metric: str) -> None:
        bucket = int(self.clock() // BUCKET_SECONDS)
        with self._lock:
            self._add(provider, bucket, metric)
        self._after_event()

    def _add(self, provider: str, bucket: int, metric: str) -> None:
        key = (provider, bucket, metric)
        self._counts[key] = self._counts.get(key, 0) + 1

    def _after_event(self) -> None:
        if self.flush_every <= 0:
            self.flush()
        elif not self._watched:
            self._watched = True
            _watch(self)

    # -- flushing -----------------------------------------------------------------------

    def flush(self) -> None:
        """Add this worker's counts to the sink now (a failed write keeps them for later)."""
        with self._lock:
            counts, statuses = self._counts, self._statuses
            self._counts, self._statuses = {}, {}
            self._flushed_at = self.clock()
        if not counts and not statuses:
            return
        try:
            self.sink.add(counts, statuses)
            self._failing = False
        except Exception:
            # Said once per run of failures: the timer retries every tick.
            if not self._failing:
                log.exception("Provider health counts could not be written; kept for later")
            self._failing = True
            with self._lock:
                for key, n in counts.items():
                    self._counts[key] = self._counts.get(key, 0) + n
                for provider, status in statuses.items():
                    mine = self._statuses.get(provider)
                    self._statuses[provider] = status.merged(mine) if mine else status

    def due(self) -> bool:
        return self.clock() - self._flushed_at >= self.flush_every


# One timer thread for every recorder of the process, holding them weakly: an app that goes
# away takes its recorder (and its database connections) with it.
_RECORDERS: weakref.WeakSet[HealthRecorder] = weakref.WeakSet()
_TIMER: list[threading.Thread] = []
_TIMER_LOCK = threading.Lock()
TICK_SECONDS = 1.0


def _watch(recorder: HealthRecorder) -> None:
    with _TIMER_LOCK:
        _RECORDERS.add(recorder)
        if not _TIMER:
            thread = threading.Thread(target=_tick, name="social-auth-health", daemon=True)
            _TIMER.append(thread)
            thread.start()
            atexit.register(flush_all)


def _tick() -> None:
    while True:
        time.sleep(TICK_SECONDS)
        for recorder in list(_RECORDERS):
            if recorder.due():
                recorder.flush()


def flush_all() -> None:
    """Write every recorder's counts now (at exit)."""
    for recorder in list(_RECORDERS):
        recorder.flush()


def _time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)

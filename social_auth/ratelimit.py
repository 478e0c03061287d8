"""Rate limits: thin adapters over the ``limits`` library (the engine under Flask-Limiter), in
process with a bound on how many counters are kept, or shared by every worker through Redis.
No framework imports.

Fixed windows, not moving ones: a fixed-window counter is one integer per key in both storages
(one INCR+EXPIRE script per hit in Redis), while a moving window keeps up to ``limit``
timestamps per key, and ``limits``' in-memory moving window never drops a key's emptied list
(so its memory grows with every key ever seen). The price is a burst of up to twice the limit
around one key's window end; ``limits`` starts each key's window at its first hit, so there is
no clock edge shared by every client to aim at.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from typing import Protocol

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter

#: Counters one process keeps at most (a counter: its key and one integer, a few hundred bytes
#: in all). A blog sees far fewer distinct clients and addresses per window than this.
MAX_KEYS = 10_000


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int, window: int) -> bool:
        """Count one event for ``key``; False when ``limit`` per ``window`` seconds is passed."""
        ...

    def remaining(self, key: str, limit: int, window: int) -> int:
        """How many more events ``key`` may have in its current window (counts nothing)."""
        ...


@functools.cache
def _item(limit: int, window: int) -> RateLimitItem:
    return RateLimitItemPerSecond(limit, window)


class _Limits:
    """``hit``/``remaining`` on a ``limits`` storage through its fixed-window strategy."""

    def __init__(self, storage: Storage) -> None:
        #: The ``limits`` storage holding the counters (its public API is the way to inspect them).
        self.storage = storage
        self._strategy = FixedWindowRateLimiter(storage)

    def hit(self, key: str, limit: int, window: int) -> bool:
        return self._strategy.hit(_item(limit, window), key)

    def remaining(self, key: str, limit: int, window: int) -> int:
        return self._strategy.get_window_stats(_item(limit, window), key).remaining


class _Expirations(dict[str, float]):
    """``MemoryStorage.expirations`` that reads a missing key as expired long ago.

    limits 5.8's expiry sweep (a timer thread) lists the keys, then reads
    ``expirations[key]`` for each: a key another thread popped in between (an eviction here,
    or a hit finding its own counter expired) raises ``KeyError`` in the sweep thread, which
    stops sweeping until the next hit (and fails a test run that treats thread errors as
    errors). A missing key is simply one the sweep need not drop.
    """

    def __missing__(self, key: str) -> float:
        return 0.0


class MemoryRateLimiter(_Limits):
    """Per-process counters (one worker, or development), at most ``max_keys`` of them.

    ``limits``' ``MemoryStorage`` drops a counter when its window ends, but keeps every key
    seen within a window, so many clients (or one with many IPv6 addresses) could grow it
    without end. When ``max_keys`` counters are live, a new key evicts the one nearest the end
    of its window, rather than refusing new keys: refusing would let a flood lock every new
    visitor out, while an eviction only forgets one counter early, and each eviction costs
    the flooder a request (a client already refused adds no key of its own, as the views check
    the client's limit first). Every step is O(1): an ordered map per window length, in
    first-hit order, which for a fixed window is also expiry order.
    """

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        storage = MemoryStorage()
        storage.expirations = _Expirations()
        super().__init__(storage)
        self.max_keys = max_keys
        # One lock around every storage call as well: limits 5.8's MemoryStorage restarts its
        # expiry timer without one, and two threads doing it at once raise RuntimeError
        # (limits PR #352, not yet released).
        self._lock = threading.Lock()
        self._deadlines: dict[int, OrderedDict[str, float]] = {}  # window -> {key: expiry}

    def __len__(self) -> int:
        """How many counters are live (as tracked here; ``storage`` holds the same keys)."""
        with self._lock:
            return sum(map(len, self._deadlines.values()))

    def hit(self, key: str, limit: int, window: int) -> bool:
        item = _item(limit, window)
        name = item.key_for(key)
        with self._lock:
            now = self._forget_ended()
            live = self._deadlines.setdefault(window, OrderedDict())
            if name in live:
                return self._strategy.hit(item, key)
            if sum(map(len, self._deadlines.values())) >= self.max_keys:
                self._evict_nearest_end()
            allowed = self._strategy.hit(item, key)
            # The storage's own expiry for the key, so both forget it at the same moment.
            live[name] = max(now, self._strategy.get_window_stats(item, key).reset_time)
            return allowed

    def remaining(self, key: str, limit: int, window: int) -> int:
        with self._lock:
            return super().remaining(key, limit, window)

    def _forget_ended(self) -> float:
        """Drop the ended windows from the front of each map; the storage expires them itself."""
        now = time.time()
        for live in self._deadlines.values():
            while live and next(iter(live.values())) <= now:
                live.popitem(last=False)
        return now

    def _evict_nearest_end(self) -> None:
        fronts = [(next(iter(live.items())), live) for live in self._deadlines.values() if live]
        (name, _), live = min(fronts, key=lambda front: front[0][1])
        del live[name]
        self.storage.clear(name)


class RedisRateLimiter(_Limits):
    """Counters in Redis, so every worker shares them; Redis expires each with its window."""

    def __init__(self, url: str, prefix: str = "social_auth:rl") -> None:
        super().__init__(RedisStorage(url, key_prefix=prefix, socket_timeout=2))


def make_limiter(redis_url: str | None) -> RateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else MemoryRateLimiter()

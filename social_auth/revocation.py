"""Commenters cached between requests, revoked everywhere at once through Redis.

With ``SOCIAL_AUTH_REDIS_URL`` set, each worker keeps the commenters its requests loaded, each
tagged with the commenter's *generation*: a random token in Redis that every committed change
to the commenter or its identities replaces (the store's change listener; sign-out, block,
merge and erase all bump ``session_version`` through the store, so they replace it too). A
request reads the token with one ``GET`` and uses the cached commenter only when the tags
match; otherwise it loads the commenter from the database and tags it with the token it read
*before* loading. So:

- a change committed by any worker replaces the token before that worker's request returns,
  and every later request anywhere sees the new token and reloads: no time window;
- a load racing a change is tagged with the old token, so the next request reloads again;
- tokens are random and never reused, so a key that expires or a Redis that restarts empty
  only causes reloads, never a stale match;
- when Redis cannot be reached the request asks the database, and the worker drops its whole
  cache, so nothing cached before an outage is trusted after it.

The one gap: a write committed while Redis is down (or failing between the commit and the
token's replacement) raises to its caller, but other workers that served no request during the
outage may still hold the old commenter once Redis is back. Cached entries are therefore also
dropped after ``MAX_AGE`` seconds.

No framework imports: the session layer wires it (``session.py``), the store notifies it.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable, Collection
from typing import Any, Protocol

from .store import Commenter

#: Redis key prefix of the per-commenter generation tokens.
PREFIX = "social_auth:gen:"
#: Commenters kept per worker; past that the cache starts afresh (cheap, and bounded).
MAX_ENTRIES = 10_000
#: Seconds a cached commenter is trusted at most, whatever Redis says (see the module doc).
MAX_AGE = 300.0


class Generations(Protocol):
    """Where the per-commenter generation tokens live; shared by every worker."""

    def current(self, commenter_id: int) -> bytes | None:
        """The commenter's token (None if it has none); raises when the store is unreachable."""
        ...

    def bump(self, commenter_ids: Collection[int]) -> None:
        """Give each of these commenters a new token."""
        ...


class RedisGenerations:
    """Tokens in Redis: one ``GET`` per signed-in request, one pipelined ``SET`` per change."""

    def __init__(self, url: str, *, ttl: int, prefix: str = PREFIX) -> None:
        import redis

        self._redis: Any = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix
        # A token outlives every session cookie that could be checked against it; after that
        # a missing key is as good as any (cached entries then mismatch and reload).
        self._ttl = ttl
        self.errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._local = threading.local()

    def current(self, commenter_id: int) -> bytes | None:
        # A GET on this thread's own connection, the command packed by hand: redis-py's client
        # layer (pool checkout, retries, response callbacks) costs more than the round trip.
        connection = self._connection()
        key = f"{self._prefix}{commenter_id}".encode()
        try:
            connection.send_packed_command(
                [b"*2\r\n$3\r\nGET\r\n$%d\r\n%b\r\n" % (len(key), key)], check_health=False
            )
            value: bytes | None = connection.read_response()
        except BaseException:
            connection.disconnect()  # reconnects on the next call
            raise
        return value

    def _connection(self) -> Any:
        local = self._local.__dict__
        if local.get("pid") != os.getpid():  # a forked worker makes its own
            local.update(pid=os.getpid(), connection=self._redis.connection_pool.make_connection())
        return local["connection"]

    def bump(self, commenter_ids: Collection[int]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for cid in commenter_ids:
            pipe.set(f"{self._prefix}{cid}", secrets.token_bytes(12), ex=self._ttl)
        pipe.execute()


class CommenterCache:
    """Per-worker commenters, each valid while its generation token is unchanged."""

    def __init__(
        self,
        generations: Generations,
        *,
        errors: tuple[type[BaseException], ...] = (),
        max_entries: int = MAX_ENTRIES,
        max_age: float = MAX_AGE,
    ) -> None:
        self.generations = generations
        self._errors = errors
        self._max_entries = max_entries
        self._max_age = max_age
        # commenter id -> (token, loaded at, commenter); replaced whole, never mutated in place
        self._entries: dict[int, tuple[bytes | None, float, Commenter]] = {}
        self._lock = threading.Lock()

    def get(
        self, commenter_id: int, load: Callable[[int], Commenter | None]
    ) -> Commenter | None:
        """The commenter, from this worker's cache when its token still matches, else ``load``.

        ``load`` must return a fresh read of the database.
        """
        try:
            token = self.generations.current(commenter_id)
        except self._errors:
            self.clear()  # nothing cached before an outage is trusted after it
            return load(commenter_id)
        now = time.monotonic()
        entry = self._entries.get(commenter_id)
        if entry is not None and entry[0] == token and now - entry[1] < self._max_age:
            return entry[2]
        commenter = load(commenter_id)
        if commenter is not None:
            with self._lock:
                if len(self._entries) >= self._max_entries:
                    self._entries = {}
                self._entries[commenter_id] = (token, now, commenter)
        return commenter

    def changed(self, commenter_ids: frozenset[int]) -> None:
        """The store's change listener: new tokens for everyone, then forget them here."""
        try:
            self.generations.bump(commenter_ids)
        finally:
            with self._lock:
                for cid in commenter_ids:
                    self._entries.pop(cid, None)

    def clear(self) -> None:
        with self._lock:
            self._entries = {}

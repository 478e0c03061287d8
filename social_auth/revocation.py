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

The GET is usually sent the moment a request arrives (``session.AskEarly``) and its reply read
when the page first looks at the commenter, so the round trip overlaps the framework's own work:
the token is then as of the request's arrival, which is all the above needs. Replies are read in
the order their GETs were sent, and one is used only by the request that asked for it, only for
the commenter it asked about. The GETs go over each thread's own redis-py connection, through
its public ``send_packed_command``/``read_response``: no wire format of ours to keep.

The one gap: a write committed while Redis is down (or failing between the commit and the
token's replacement) raises to its caller, but other workers that served no request during the
outage may still hold the old commenter once Redis is back. Cached entries are therefore also
dropped after ``MAX_AGE`` seconds.

No framework imports: the session layer wires it (``session.py``), the store notifies it.
"""

from __future__ import annotations

import itertools
import os
import secrets
import threading
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, Protocol

from .store import Commenter

if TYPE_CHECKING:
    from redis.connection import AbstractConnection

#: Redis key prefix of the per-commenter generation tokens.
PREFIX = "social_auth:gen:"
#: Commenters kept per worker; past that the cache starts afresh (cheap, and bounded).
MAX_ENTRIES = 10_000
#: Seconds a cached commenter is trusted at most, whatever Redis says (see the module doc).
MAX_AGE = 300.0


class Generations(Protocol):
    """Where the per-commenter generation tokens live; shared by every worker."""

    def ask(self, commenter_id: int) -> int:
        """Send the request for the commenter's token now; returns a ticket for ``current``."""
        ...

    def current(self, commenter_id: int, ticket: int | None = None) -> bytes | None:
        """The commenter's token (None if it has none); raises when the store is unreachable.

        With the ``ticket`` of an ``ask`` for this commenter, the answer to that request (which
        must have been sent during the current page request); else one asked now.
        """
        ...

    def bump(self, commenter_ids: Collection[int]) -> None:
        """Give each of these commenters a new token."""
        ...


class GenerationsProtocolError(Exception):
    """Redis answered a GET with something other than a string or nil; the connection is
    dropped."""


class _ThreadConnection:
    """This thread's own redis-py connection: GETs sent when asked, their replies read in order.

    Through redis-py's public connection API (``pack_command``, ``send_packed_command``,
    ``read_response``), on a connection no pool hands out, so a GET may be *asked* early in a
    request and its reply read later (``RedisGenerations.ask``). Replies are read strictly in
    the order the GETs were sent, so an answer is never taken for another commenter's or
    another request's GET.
    """

    def __init__(self, connection: AbstractConnection, prefix: str) -> None:
        self.connection = connection
        self.prefix = prefix
        self.forks = _forks
        #: (ticket, commenter id) of the GETs sent whose replies are not read yet, oldest first.
        self.unread: list[tuple[int, int]] = []
        #: commenter id -> its GET as redis-py packed it
        self.packed: dict[int, Any] = {}

    def send(self, ticket: int, commenter_id: int) -> None:
        command = self.packed.get(commenter_id)
        if command is None:  # packed once per commenter: redis-py's packer is most of the cost
            if len(self.packed) >= MAX_ENTRIES:
                self.packed = {}
            command = self.connection.pack_command(  # type: ignore[no-untyped-call]
                "GET", f"{self.prefix}{commenter_id}"
            )
            self.packed[commenter_id] = command
        # No health check: its PING would be answered after our unread GETs, and read as one.
        self.connection.send_packed_command(command, check_health=False)  # type: ignore[no-untyped-call]
        self.unread.append((ticket, commenter_id))

    def reply(self, ticket: int) -> bytes | None:
        """The reply to GET ``ticket``; the replies of older GETs are read and dropped."""
        while True:
            oldest = self.unread.pop(0)[0]
            # Bytes whatever ``decode_responses`` the URL sets; raises ResponseError (WRONGTYPE).
            value = self.connection.read_response(disable_decoding=True)
            if oldest == ticket:
                if value is not None and not isinstance(value, bytes):
                    raise GenerationsProtocolError(repr(value)[:80])
                return value

    def close(self) -> None:
        self.connection.disconnect()  # type: ignore[no-untyped-call]


#: Forks of this process so far: a forked worker makes connections of its own.
_forks = 0


def _forked() -> None:
    global _forks
    _forks += 1


os.register_at_fork(after_in_child=_forked)


class RedisGenerations:
    """Tokens in Redis: one ``GET`` per signed-in request, one pipelined ``SET`` per change."""

    def __init__(self, url: str, *, ttl: int, prefix: str = PREFIX) -> None:
        import redis

        self._redis: redis.Redis = redis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2
        )
        self._prefix = prefix
        # A token outlives every session cookie that could be checked against it; after that
        # a missing key is as good as any (cached entries then mismatch and reload).
        self._ttl = ttl
        self.errors: tuple[type[BaseException], ...] = (
            redis.RedisError, OSError, GenerationsProtocolError
        )
        self._local = threading.local()
        self._tickets = itertools.count(1)

    def ask(self, commenter_id: int) -> int:
        """Send the GET of ``commenter_id``'s token now; ``current(..., ticket)`` reads it.

        Only for a request that has arrived: the reply is as fresh as the moment it is sent.
        """
        own = self._connection()
        ticket = next(self._tickets)
        try:
            if own.unread:  # asked by an earlier request that never read it: stale, drop it
                own.reply(own.unread[-1][0])
            own.send(ticket, commenter_id)
        except BaseException:
            self._drop(own)
            raise
        return ticket

    def current(self, commenter_id: int, ticket: int | None = None) -> bytes | None:
        own = self._connection()
        try:
            if ticket is None or (ticket, commenter_id) not in own.unread:
                ticket = next(self._tickets)
                own.send(ticket, commenter_id)
            return own.reply(ticket)
        except BaseException:
            self._drop(own)  # reconnects on the next call
            raise

    def _connection(self) -> _ThreadConnection:
        own: _ThreadConnection | None = getattr(self._local, "connection", None)
        if own is None or own.forks != _forks:
            # A connection of our own, outside the pool: replies stay unread across calls.
            pool = self._redis.connection_pool
            connection = pool.connection_class(**pool.connection_kwargs)
            connection.connect()  # AUTH, SELECT, HELLO, TLS: redis-py's handshake
            own = self._local.connection = _ThreadConnection(connection, self._prefix)
        return own

    def _drop(self, own: _ThreadConnection) -> None:
        self._local.connection = None
        own.close()

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

    def ask(self, commenter_id: int) -> int | None:
        """Ask for the commenter's token now, for a ``get`` later in the same request; the
        ticket to pass it, or None when Redis failed (``get`` then asks again)."""
        try:
            return self.generations.ask(commenter_id)
        except self._errors:
            self.clear()  # as in ``get``: nothing cached before an outage is trusted after it
            return None

    def get(
        self,
        commenter_id: int,
        load: Callable[[int], Commenter | None],
        ticket: int | None = None,
    ) -> Commenter | None:
        """The commenter, from this worker's cache when its token still matches, else ``load``.

        ``load`` must return a fresh read of the database; ``ticket`` is from an ``ask`` for
        this commenter in this request.
        """
        try:
            token = self.generations.current(commenter_id, ticket)
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

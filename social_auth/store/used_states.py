"""The sign-in flow's replay guard (each flow id works once, across workers) and the one
expiry rule it shares with the flow cookie."""

from __future__ import annotations

import threading
import time
from typing import Any, NamedTuple, Protocol, overload

from sqlalchemy import ColumnElement, Connection, Engine, bindparam, delete, insert
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..errors import StoreUnavailable
from .connections import ThreadConnections, sqlite_file
from .models import UsedFlowState

#: What a commenter reads when the database is unreachable during a sign-in.
STORE_DOWN = "We cannot reach our database just now; nothing was changed. Please try again."


# -- the one expiry rule ------------------------------------------------------------------------
# The flow cookie is accepted exactly while the replay guard still remembers its id: both ask
# ``is_expired`` about the same ``flow_expires_at`` at the same instant, so no moment exists
# (like +600.5 s, once) when a cookie still passes and its consumed id is already forgotten.


def flow_expires_at(signed_at: int, max_age: int) -> float:
    """When a flow signed at ``signed_at`` (itsdangerous' whole seconds) stops: the deadline
    the cookie check and the replay guard share."""
    return float(signed_at + max_age)


@overload
def is_expired(expires_at: float, now: float) -> bool: ...
@overload
def is_expired(expires_at: ColumnElement[float], now: Any) -> ColumnElement[bool]: ...
def is_expired(expires_at: Any, now: Any) -> Any:
    """A flow, and its consumed id, lives while ``now < expires_at``. Given a column it
    builds the SQL condition instead, so the database guard prunes by this very comparison."""
    return expires_at <= now


class UsedStates(Protocol):
    """Remembers consumed flow ids while they are not ``is_expired``, so a state works once
    across workers."""

    def consume(self, jti: str, expires_at: float, now: float | None = None) -> bool:
        """Record ``jti``; True the first time, False if it was already consumed. ``now`` is
        the instant the flow judged the cookie alive (``FlowSettings.clock``); the guard's
        own ``time.time()`` without it."""
        ...


class MemoryUsedStates:
    """A replay guard for one process (tests, a single worker)."""

    def __init__(self) -> None:
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()

    def consume(self, jti: str, expires_at: float, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        with self._lock:
            self._used = {k: v for k, v in self._used.items() if not is_expired(v, now)}
            if jti in self._used:
                return False
            self._used[jti] = expires_at
            return True


class SqlUsedStates:
    """A replay guard shared by every worker through the identity store's database (table
    ``social_auth_used_state``, migration 0002): the primary key makes the second insert of a
    flow id fail, whichever worker tries it.

    One insert per sign-in, autocommitted. On a SQLite file it goes to this thread's own
    connection (made by the engine, so with its pragmas, then kept out of the pool). In WAL
    mode that connection commits with ``synchronous=NORMAL``: safe against a crash of the
    process, and made durable against a power cut by the next full commit to the file, which
    for a sign-in that succeeds is its own ``sign_in``, before any session cookie exists (the
    fsync covers the whole WAL file). Every other connection keeps the engine's settings.
    Expired ids are deleted at most once every ``PRUNE_EVERY`` seconds per guard (an indexed
    range delete), not on every sign-in; one not deleted yet does not count as used.
    """

    PRUNE_EVERY = 60.0

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connections: ThreadConnections | None = None
        if sqlite_file(engine):
            self._connections = ThreadConnections(engine, setup=_relaxed_sync)
            dialect = engine.dialect
            self._insert = _DriverSql.of(_INSERT, dialect)
            self._prune = _DriverSql.of(_PRUNE, dialect)
            self._forget = _DriverSql.of(_FORGET, dialect)
        self._next_prune = 0.0

    def consume(self, jti: str, expires_at: float, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        prune = now >= self._next_prune
        if prune:  # two threads may both prune at the turn of a minute: harmless
            self._next_prune = now + self.PRUNE_EVERY
        try:
            if self._connections is not None:
                return self._consume_on_own_connection(jti, expires_at, now, prune)
            with self.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT")
                return _consume_on(conn, jti, expires_at, now, prune)
        except SQLAlchemyError as exc:  # the database went away: refuse, nothing half-done
            raise StoreUnavailable(STORE_DOWN) from exc

    def _consume_on_own_connection(
        self, jti: str, expires_at: float, now: float, prune: bool
    ) -> bool:
        assert self._connections is not None
        dbapi = self.engine.dialect.loaded_dbapi
        connection = self._connections.get()
        try:
            if prune:
                self._prune.run(connection, now=now)
            try:
                self._insert.run(connection, jti=jti, expires_at=expires_at)
                return True
            except dbapi.IntegrityError:
                # Taken. An expired entry not yet pruned does not count: forget it, try again.
                if not self._forget.run(connection, jti=jti, now=now).rowcount:
                    return False
                try:
                    self._insert.run(connection, jti=jti, expires_at=expires_at)
                except dbapi.IntegrityError:
                    return False
                return True
        except dbapi.Error as exc:
            self._connections.drop()  # a new one on the next call
            raise StoreUnavailable(STORE_DOWN) from exc


def _relaxed_sync(connection: Any) -> None:
    """The replay guard's own connection commits without its own fsync, in WAL mode only (with
    a rollback journal a power cut could corrupt the file); see ``SqlUsedStates``."""
    journal = connection.execute("PRAGMA journal_mode").fetchone()[0]
    if str(journal).lower() == "wal":
        connection.execute("PRAGMA synchronous=NORMAL")


_USED: Any = UsedFlowState.__table__
# Built once; on a SQLite file compiled once more to go straight to the driver.
_INSERT = insert(_USED).values(jti=bindparam("jti"), expires_at=bindparam("expires_at"))
_PRUNE = delete(_USED).where(is_expired(_USED.c.expires_at, bindparam("now")))
_FORGET = delete(_USED).where(
    _USED.c.jti == bindparam("jti"), is_expired(_USED.c.expires_at, bindparam("now"))
)


class _DriverSql(NamedTuple):
    sql: str
    names: tuple[str, ...]

    @classmethod
    def of(cls, statement: Any, dialect: Dialect) -> _DriverSql:
        compiled = statement.compile(dialect=dialect)
        return cls(str(compiled), tuple(compiled.positiontup or ()))

    def run(self, connection: Any, **params: Any) -> Any:
        return connection.execute(self.sql, tuple(params[n] for n in self.names))


def _consume_on(conn: Connection, jti: str, expires_at: float, now: float, prune: bool) -> bool:
    """``SqlUsedStates.consume`` on an autocommitting pooled connection."""
    if prune:
        conn.execute(_PRUNE, {"now": now})
    entry = {"jti": jti, "expires_at": expires_at}
    try:
        conn.execute(_INSERT, entry)
        return True
    except IntegrityError:
        if not conn.execute(_FORGET, {"jti": jti, "now": now}).rowcount:
            return False
        try:
            conn.execute(_INSERT, entry)
        except IntegrityError:
            return False
        return True


__all__ = [
    "STORE_DOWN",
    "MemoryUsedStates",
    "SqlUsedStates",
    "UsedStates",
    "flow_expires_at",
    "is_expired",
]

"""One DB-API connection per thread to a SQLite file, for the statements that skip the pool
(the sign-in write, the session-cookie read, the replay guard)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from sqlalchemy import Engine


def in_memory(engine: Engine) -> bool:
    """An in-memory SQLite database lives in one connection: no connection of its own for it."""
    database = engine.url.database or ""
    return database in ("", ":memory:") or "mode=memory" in str(engine.url)


def sqlite_file(engine: Engine) -> bool:
    """Whether ``engine`` is on a SQLite file, where ``ThreadConnections`` may be used."""
    return engine.dialect.name == "sqlite" and not in_memory(engine)


class ThreadConnections:
    """One DB-API connection per thread (and per process: a forked worker makes its own) to a
    SQLite file, in autocommit mode, for statements that go straight to the driver.

    Made by the engine, so with its pragmas (foreign keys, busy timeout, WAL), then detached
    from the pool, whose checkout and reset cost more than a short write. ``setup`` runs once
    on each new connection. After a driver error call ``drop``: the next ``get`` reconnects,
    as it does after ``engine.dispose()`` (which replaces the pool), like pooled connections.
    """

    def __init__(self, engine: Engine, setup: Callable[[Any], None] | None = None) -> None:
        self.engine = engine
        self._setup = setup
        self._local = threading.local()

    def get(self) -> Any:
        return self.thread()["connection"]

    def thread(self) -> dict[str, Any]:
        """This thread's entry: its ``"connection"``, and room for what a caller keeps about
        what it read on it (any other key), which a new connection starts without."""
        local: dict[str, Any] = self._local.__dict__
        if local.get("pid") != os.getpid() or local.get("pool") is not self.engine.pool:
            if local.get("pid") == os.getpid():  # made before a dispose(): close it here
                self.drop()
            pool = self.engine.pool
            fairy = self.engine.raw_connection()
            connection: Any = fairy.driver_connection
            fairy.detach()
            connection.isolation_level = None  # autocommit; transactions are explicit
            if self._setup is not None:
                self._setup(connection)
            local.clear()
            local.update(pid=os.getpid(), pool=pool, fairy=fairy, connection=connection)
        return local

    def drop(self) -> None:
        local: dict[str, Any] = self._local.__dict__
        connection = local.get("connection") if local.get("pid") == os.getpid() else None
        local.clear()
        if connection is not None:
            with suppress(Exception):  # already broken: the caller raises the error that matters
                connection.close()


__all__ = ["ThreadConnections", "in_memory", "sqlite_file"]

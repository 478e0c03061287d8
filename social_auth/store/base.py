"""The store's foundation: the engine and its SQLite pragmas, sessions, the schema's Alembic
config, and change tracking (which commenters a committed write changed, for the listeners)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.inspection import inspect as sa_inspect
from sqlalchemy.orm import Session, sessionmaker

from ..errors import NotFound
from .connections import ThreadConnections, sqlite_file
from .models import Commenter, Identity

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "social_auth_alembic_version"


def make_engine(url: str, **options: Any) -> Engine:
    """An engine with the settings the store relies on (foreign keys and WAL on SQLite)."""
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def alembic_config() -> Any:
    """The Alembic config of the package's migrations (``upgrade_schema``, the tests)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


class StoreBase:
    """What every part of ``IdentityStore`` stands on: the engine, its sessions, this thread's
    own SQLite connections, and the change listeners."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._change_listeners: list[Callable[[frozenset[int]], None]] = []
        # SQLite file: sign-ins write on this thread's own connection, and the session cookie
        # is read on another (its ``data_version`` only moves for other connections' commits).
        on_file = sqlite_file(engine)
        self._writers = ThreadConnections(engine) if on_file else None
        self._readers = ThreadConnections(engine) if on_file else None
        event.listen(self._sessions, "after_flush", _collect_changed_commenters)
        event.listen(self._sessions, "after_commit", self._after_commit)
        event.listen(self._sessions, "after_rollback", _forget_changed_commenters)

    # -- change notification ----------------------------------------------------------------

    def add_change_listener(self, listener: Callable[[frozenset[int]], None]) -> None:
        """Call ``listener(commenter_ids)`` after every committed write that changed those
        commenters or their identities: through the store's methods or ``store.session()``.

        The session layer's commenter cache hangs on this (``social_auth.revocation``). A
        listener that raises makes the write's caller see the error, although the write was
        committed. Code writing the tables by other means must call ``notify_changed``.
        """
        self._change_listeners.append(listener)

    def notify_changed(self, commenter_ids: Collection[int]) -> None:
        """Tell the listeners that these commenters (or their identities) changed."""
        ids = frozenset(commenter_ids)
        if ids:
            for listener in self._change_listeners:
                listener(ids)

    def _after_commit(self, session: Session) -> None:
        changed = session.info.pop(_CHANGED, None)
        if changed:
            self.notify_changed(changed)

    # -- schema and sessions ----------------------------------------------------------------

    def upgrade_schema(self, revision: str = "head") -> None:
        """Create or upgrade the tables with the package's Alembic migrations."""
        from alembic import command

        with self.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A SQLAlchemy session on the store's engine, for host code and admin views."""
        with self._sessions() as s:
            yield s

    # -- by row id --------------------------------------------------------------------------

    def get(self, commenter_id: int) -> Commenter | None:
        with self._sessions() as s:
            return s.get(Commenter, commenter_id)

    def require_by_id(self, commenter_id: int) -> Commenter:
        """Like ``get`` but raises ``NotFound`` when the commenter no longer exists: read
        afresh after a write, or by code that holds a commenter another request may remove."""
        commenter = self.get(commenter_id)
        if commenter is None:
            raise NotFound("That commenter no longer exists.")
        return commenter

    def _public_id_of(self, commenter_id: int) -> str:
        commenter = self.get(commenter_id)
        return commenter.public_id if commenter else "?"


# -- change tracking ---------------------------------------------------------------------------
# Commenters whose row or identities a transaction changed, collected at each flush and handed
# to the store's listeners once the transaction commits (dropped when it rolls back).

_CHANGED = "social_auth_changed_commenters"


def changed(s: Session, *commenter_ids: int | None) -> None:
    """Record changes a Core statement made in ``s``, which the flush events cannot see."""
    s.info.setdefault(_CHANGED, set()).update(c for c in commenter_ids if c is not None)


def _collect_changed_commenters(s: Session, _flush_context: Any) -> None:
    for obj in (*s.new, *s.dirty, *s.deleted):
        if isinstance(obj, Commenter):
            changed(s, obj.id)
        elif isinstance(obj, Identity):
            # An identity moved between commenters changes both.
            history = sa_inspect(obj).attrs.commenter_id.history
            changed(s, obj.commenter_id, *history.deleted)


def _forget_changed_commenters(s: Session) -> None:
    s.info.pop(_CHANGED, None)

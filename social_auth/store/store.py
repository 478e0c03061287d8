"""``IdentityStore``: every read and write of commenters, identities and the audit log."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeVar, overload

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    and_,
    create_engine,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.inspection import inspect as sa_inspect
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.session import make_transient_to_detached
from sqlalchemy.schema import Column, Table
from sqlalchemy.sql.expression import (
    BindParameter,
    bindparam,
    false,
    insert,
    literal_column,
    true,
    union_all,
)

from .. import signals
from ..emails import email_key
from ..errors import AccountConflict, CommenterBlocked, LastSignInMethod, NotFound, StoreConflict
from ..provider import Profile
from .models import AuditEvent, Base, Commenter, Identity, new_public_id, utcnow

_S = TypeVar("_S", bound=Select[Any])

#: What ``sign_in`` and ``link(..., unless_blocked=True)`` refuse a blocked commenter with.
BLOCKED_MESSAGE = "This account is blocked from commenting on this site."

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "social_auth_alembic_version"

#: Audit actions that change which identities a commenter owns; an undo of a merge is refused
#: once one of these happened to the target after the merge.
IDENTITY_ACTIONS = frozenset(
    {"link", "unlink", "merge", "unmerge", "identity_moved_in", "identity_moved_out", "erase"}
)


class SignIn(NamedTuple):
    """What ``IdentityStore.sign_in`` did: the commenter, the identity, and whether it was new."""

    commenter: Commenter
    identity: Identity
    created: bool


class Unmerged(NamedTuple):
    """What ``IdentityStore.undo_last_merge`` did: the restored source and the target."""

    source: Commenter
    target: Commenter


@dataclass(frozen=True)
class CommenterPage:
    """One page of a commenter listing, newest first."""

    items: list[Commenter]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@dataclass(frozen=True)
class CommenterDetails:
    """What an admin page or ``commenters show`` needs about one commenter."""

    commenter: Commenter
    #: The live commenter a tombstone was merged into (after following every merge), if any.
    merged_into: Commenter | None
    #: Tombstones merged into this commenter.
    merged_from: list[Commenter]
    audit_events: list[AuditEvent]
    #: Whether ``undo_last_merge`` would succeed now.
    can_undo_merge: bool


@dataclass(frozen=True)
class MergePreview:
    """What ``merge(source, target)`` would do, for a confirmation page; nothing changed yet."""

    source: Commenter
    target: Commenter
    #: The source's identities, which would move to the target.
    identities: list[Identity]
    #: Target fields that are blank and would be filled from the source.
    filled: list[str]
    #: Why the merge would be refused, or None when it may go ahead.
    problem: str | None


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
        return local["connection"]

    def drop(self) -> None:
        local: dict[str, Any] = self._local.__dict__
        connection = local.get("connection") if local.get("pid") == os.getpid() else None
        local.clear()
        if connection is not None:
            with suppress(Exception):  # already broken: the caller raises the error that matters
                connection.close()


class IdentityStore:
    """Commenters and their identities. Every method runs in its own transaction and returns
    detached objects whose identities are loaded, so callers may keep them after it returns."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._change_listeners: list[Callable[[frozenset[int]], None]] = []
        self._reader = threading.local()
        # SQLite file: sign-ins write on this thread's own connection (see ``_sign_in_own``).
        sqlite_file = engine.dialect.name == "sqlite" and not in_memory(engine)
        self._writers = ThreadConnections(engine) if sqlite_file else None
        event.listen(self._sessions, "after_flush", _collect_changed_commenters)
        event.listen(self._sessions, "after_commit", self._after_commit)
        event.listen(self._sessions, "after_rollback", _forget_changed_commenters)

    @classmethod
    def from_url(cls, url: str, **engine_options: Any) -> IdentityStore:
        return cls(make_engine(url, **engine_options))

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

    # -- schema ---------------------------------------------------------------------------

    def upgrade_schema(self, revision: str = "head") -> None:
        """Create or upgrade the tables with the package's Alembic migrations."""
        from alembic import command

        with self.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    # -- reads ----------------------------------------------------------------------------

    def get(self, commenter_id: int) -> Commenter | None:
        with self._sessions() as s:
            return s.get(Commenter, commenter_id)

    def session_commenter(self, commenter_id: int) -> Commenter | None:
        """The commenter with its identities in one query by primary key, for checking a
        session cookie on every page. Treat the result as read-only: on SQLite the same
        objects come back while the rows are unchanged (building them costs more than the
        query), and the session layer's cache shares them between requests."""
        statement = _session_commenter_statement()
        if self.engine.dialect.name == "sqlite" and not in_memory(self.engine):
            return self._session_commenter_sqlite(statement, commenter_id)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(statement, {"v_id": commenter_id})]
        return _commenter_from_joined(rows)

    def _session_commenter_sqlite(self, statement: Any, commenter_id: int) -> Commenter | None:
        # This thread's own sqlite3 connection, which only ever reads. ``PRAGMA data_version``
        # on it changes as soon as any other connection, of any thread or process, commits to
        # the database; while it has not, what this connection read last is still what is
        # stored, and comes back without a query. A commit between the pragma and the SELECT
        # is caught by the next call's pragma.
        dialect = self.engine.dialect
        prepared = _prepared(statement, dialect)
        assert prepared is not None
        reader = self._sqlite_reader()
        try:
            connection = reader["connection"]
            version = connection.execute("PRAGMA data_version").fetchone()[0]
            if version != reader["version"]:
                reader.update(version=version, commenters={})
            commenters: dict[int, Commenter] = reader["commenters"]
            known = commenters.get(commenter_id)
            if known is not None:
                return known
            raw = connection.execute(prepared.sql, [commenter_id]).fetchall()
        except dialect.loaded_dbapi.Error as exc:
            reader.clear()  # reconnect on the next read
            raise DBAPIError.instance(
                prepared.sql, [commenter_id], exc, dialect.loaded_dbapi.Error, dialect=dialect
            ) from exc
        keys, results = prepared.keys, prepared.results
        rows = [
            {k: (r(v) if r else v) for k, r, v in zip(keys, results, row, strict=True)}
            for row in raw
        ]
        commenter = _commenter_from_joined(rows)
        if commenter is not None:
            if len(commenters) >= SESSION_ROWS_KEPT:
                commenters.clear()
            commenters[commenter_id] = commenter
        return commenter

    def _sqlite_reader(self) -> dict[str, Any]:
        """This thread's own sqlite3 connection for ``session_commenter`` and what it read:
        made by the engine (so with its pragmas), then detached from the pool, whose checkout
        and reset cost more than the query. A forked worker makes its own."""
        local: dict[str, Any] = self._reader.__dict__
        if local.get("pid") != os.getpid():
            fairy = self.engine.raw_connection()
            connection = fairy.driver_connection
            fairy.detach()
            local.clear()
            local.update(pid=os.getpid(), fairy=fairy, connection=connection, version=None,
                         commenters={})
        return local

    def get_by_public_id(self, public_id: str) -> Commenter | None:
        with self._sessions() as s:
            return s.scalar(select(Commenter).where(Commenter.public_id == public_id))

    def require(self, public_id: str) -> Commenter:
        """Like ``get_by_public_id`` but raises ``NotFound`` with a message naming the id."""
        commenter = self.get_by_public_id(public_id)
        if commenter is None:
            raise NotFound(f"No commenter with id {public_id!r}.")
        return commenter

    def find_identity(self, provider: str, subject: str) -> Identity | None:
        with self._sessions() as s:
            return s.scalar(_identity_query(provider, subject))

    def get_identity(self, identity_id: int) -> Identity | None:
        with self._sessions() as s:
            return s.get(Identity, identity_id)

    def find_verified_by_email(self, email: str) -> Commenter | None:
        """The live commenter whose verified email matches ``email`` for linking, if exactly one."""
        key = email_key(email)
        if key is None:
            return None
        with self._sessions() as s:
            found = s.scalars(
                select(Commenter)
                .where(
                    Commenter.email_key == key,
                    Commenter.email_verified_at.is_not(None),
                    Commenter.merged_into_id.is_(None),
                    Commenter.erased_at.is_(None),
                )
                .limit(2)
            ).all()
        return found[0] if len(found) == 1 else None

    def search(self, query: str, limit: int = 50) -> list[Commenter]:
        """Commenters whose name, email, public id, or an identity's subject or username match."""
        with self._sessions() as s:
            stmt = _search_filter(select(Commenter), query)
            return list(s.scalars(stmt.order_by(Commenter.id.desc()).limit(limit)))

    def list_commenters(
        self, query: str = "", *, page: int = 1, per_page: int = 50
    ) -> CommenterPage:
        """One page of ``search(query)`` results (every commenter for an empty query)."""
        page, per_page = max(1, page), max(1, min(per_page, 500))
        with self._sessions() as s:
            total = s.scalar(_search_filter(select(func.count(Commenter.id)), query)) or 0
            stmt = (
                _search_filter(select(Commenter), query)
                .order_by(Commenter.id.desc())
                .offset((page - 1) * per_page)
                .limit(per_page)
            )
            return CommenterPage(list(s.scalars(stmt)), total, page, per_page)

    def live_commenter(self, commenter_id: int) -> Commenter | None:
        """The commenter, or the one it was merged into (followed to the end); None if erased.

        Host data keyed by a merged commenter's public id finds its current owner this way.
        """
        seen: set[int] = set()
        current = self.get(commenter_id)
        while current is not None and current.merged_into_id is not None:
            if current.id in seen:  # a cycle is a corrupt store; refuse rather than loop
                raise StoreConflict(f"Merge chain of commenter {current.public_id} loops.")
            seen.add(current.id)
            current = self.get(current.merged_into_id)
        if current is None or current.is_erased:
            return None
        return current

    def unverified_guests(self, email_keys: Collection[str]) -> list[Commenter]:
        """Live guests (no identity, unverified email) whose email key is one of ``email_keys``."""
        if not email_keys:
            return []
        with self._sessions() as s:
            stmt = (
                select(Commenter)
                .where(
                    Commenter.email_key.in_(list(email_keys)),
                    Commenter.email_verified_at.is_(None),
                    Commenter.merged_into_id.is_(None),
                    Commenter.erased_at.is_(None),
                    ~Commenter.identities.any(),
                )
                .order_by(Commenter.id)
            )
            return list(s.scalars(stmt))

    def details(self, commenter: Commenter) -> CommenterDetails:
        """The commenter with its merges and audit log, for admin pages and the CLI."""
        row = self._reload(commenter.id)
        with self._sessions() as s:
            merged_from = list(
                s.scalars(
                    select(Commenter)
                    .where(Commenter.merged_into_id == row.id)
                    .order_by(Commenter.id)
                )
            )
            try:
                _undoable_merge(s, row)
                can_undo = True
            except StoreConflict:
                can_undo = False
        merged_into = self.live_commenter(row.id) if row.merged_into_id is not None else None
        return CommenterDetails(row, merged_into, merged_from, self.audit_log(row), can_undo)

    def audit_log(self, commenter: Commenter, limit: int = 200) -> list[AuditEvent]:
        with self._sessions() as s:
            stmt = (
                select(AuditEvent)
                .where(AuditEvent.commenter_id == commenter.id)
                .order_by(AuditEvent.id.desc())
                .limit(limit)
            )
            return list(s.scalars(stmt))

    # -- sign-in and identities ------------------------------------------------------------

    def sign_in(self, profile: Profile) -> SignIn:
        """The commenter owning ``profile``'s identity, creating both if it is new.

        Safe under concurrency: when two first sign-ins race, the loser's insert fails on the
        unique (provider, subject) key, its whole transaction (commenter included) rolls back,
        and it reads the winner's row. It never attaches the identity to another commenter.

        Raises ``CommenterBlocked`` when the identity's owner is blocked, having written
        nothing: the decision is taken on the row the sign-in reads anyway (SQLite: inside its
        transaction, which then rolls back; PostgreSQL: inside its one statement, whose
        updates skip a blocked owner). The one exception is a block committed on PostgreSQL
        while that statement runs: its refresh of the identity and ``last_seen_at`` stays
        written, and the sign-in is refused all the same.
        """
        return self._signed_in(self._sign_in_attempts(profile))

    def sign_in_existing(self, profile: Profile) -> SignIn | None:
        """``sign_in`` for an identity already stored, refreshed (or refused, for a blocked
        owner) in the same way; None, creating nothing, when it is not known.

        For callers that must decide something else before a first sign-in creates anything
        (``linking`` links by email first), without reading the identity twice.
        """
        if self.engine.dialect.name == "postgresql":
            done = self._sign_in_one(profile, create=False)
        elif self._writers is not None:
            done = self._sign_in_own(profile, create=False)
        else:
            done = self._touch_identity(profile)
        return self._signed_in(done) if done is not None else None

    def _signed_in(self, done: SignIn) -> SignIn:
        if not done.created:  # a refreshed identity: cached copies are stale
            self.notify_changed((done.commenter.id,))
        if done.commenter.is_blocked:  # PostgreSQL: the block landed during the statement
            raise CommenterBlocked(BLOCKED_MESSAGE)
        return done

    def _sign_in_attempts(self, profile: Profile) -> SignIn:
        dialect = self.engine.dialect
        for _attempt in range(3):
            try:
                if dialect.name == "postgresql":
                    return self._sign_in_one(profile)
                if self._writers is not None:
                    return self._sign_in_own(profile)
                if dialect.update_returning and dialect.insert_returning:
                    with self.engine.begin() as conn:
                        # SQLite: the UPDATE takes the write lock, so nobody can insert the
                        # identity between it and our INSERT.
                        known = _touch_on(conn, profile)
                        return known if known is not None else _create_on(conn, profile)
                known = self._touch_identity(profile)
                if known is not None:
                    return known
                return self._create_from_profile(profile)
            except (IntegrityError, _Retry):
                continue  # another transaction created (or removed) it first: read theirs
        raise StoreConflict(f"Could not record the {profile.provider} sign-in; try again.")

    @overload
    def _sign_in_one(self, profile: Profile, *, create: Literal[True] = ...) -> SignIn: ...
    @overload
    def _sign_in_one(self, profile: Profile, *, create: bool) -> SignIn | None: ...

    def _sign_in_one(self, profile: Profile, *, create: bool = True) -> SignIn | None:
        """PostgreSQL: refresh the identity or else create it, in one autocommitted statement.

        One round trip and no BEGIN/COMMIT. A racing first sign-in of the same identity makes
        the whole statement fail on the unique key (the commenter insert with it). Without
        ``create``, None when the identity is not there.
        """
        statements = _hot_statements(True)
        params = _create_params(profile, statements)
        statement = statements.sign_in_one if create else statements.touch_one
        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            rows = conn.execute(statement, params).all()
            # Nothing came back: the owner is blocked (the update skipped it), the identity is
            # unknown (without ``create``), or it went (unlinked, erased) between the
            # statement's snapshot and its update. Nothing was written in any case; only this
            # rare answer costs a second look.
            if not rows and conn.execute(statements.owner_blocked, params).first():
                raise CommenterBlocked(BLOCKED_MESSAGE)
        if not rows:
            if not create:
                return None
            raise _Retry  # the next attempt creates it afresh
        return _sign_in_from_rows(rows, created=bool(rows[0]._mapping["created"]))

    @overload
    def _sign_in_own(self, profile: Profile, *, create: Literal[True] = ...) -> SignIn: ...
    @overload
    def _sign_in_own(self, profile: Profile, *, create: bool) -> SignIn | None: ...

    def _sign_in_own(self, profile: Profile, *, create: bool = True) -> SignIn | None:
        """SQLite file: refresh the identity or else create it, in one transaction on this
        thread's own connection (durability as the engine's: only the pool is skipped).

        ``BEGIN IMMEDIATE`` takes the write lock first (waiting up to the busy timeout), so
        nobody can insert the identity between our UPDATE and our INSERT; anything raised
        (a blocked owner, a unique key) rolls the whole transaction back.
        """
        assert self._writers is not None
        own = _OwnConnection(self._writers.get(), self.engine.dialect)
        _driver(own, "BEGIN IMMEDIATE", self._writers)
        try:
            done = _touch_on(own, profile)
            if done is None and create:
                done = _create_on(own, profile)
        except BaseException:
            self._roll_back(own)
            raise
        try:
            _driver(own, "COMMIT", self._writers)
        except DBAPIError:
            self._roll_back(own)
            raise
        return done

    def _roll_back(self, own: _OwnConnection) -> None:
        """Roll back after an error; a connection that cannot is dropped, and the error that
        got us here is the one raised."""
        assert self._writers is not None
        try:
            own.dbapi.execute("ROLLBACK")
        except Exception:
            self._writers.drop()

    def _touch_identity(self, profile: Profile) -> SignIn | None:
        """Refresh a known identity and its commenter's ``last_seen_at``; None if unknown."""
        if not self.engine.dialect.update_returning:
            return self._touch_identity_orm(profile)
        with self.engine.begin() as conn:
            return _touch_on(conn, profile)

    def _create_from_profile(self, profile: Profile) -> SignIn:
        """Insert the commenter and its identity; IntegrityError if the identity appeared."""
        if not self.engine.dialect.insert_returning:
            return self._create_from_profile_orm(profile)
        with self.engine.begin() as conn:
            return _create_on(conn, profile)

    def _touch_identity_orm(self, profile: Profile) -> SignIn | None:
        """For databases without UPDATE … RETURNING."""
        now = utcnow()
        with self._sessions() as s, s.begin():
            identity = s.scalar(_identity_query(profile.provider, profile.subject))
            if identity is None:
                return None
            commenter = s.get_one(Commenter, identity.commenter_id)
            if commenter.is_blocked_at(now):
                raise CommenterBlocked(BLOCKED_MESSAGE)  # before any change: nothing flushed
            _refresh_identity(identity, profile, now)
            commenter.last_seen_at = now
        return SignIn(commenter, identity, False)

    def _create_from_profile_orm(self, profile: Profile) -> SignIn:
        """For databases without INSERT … RETURNING."""
        now = utcnow()
        with self._sessions() as s, s.begin():
            commenter = Commenter(
                display_name=profile.display_name or profile.username or "",
                email=profile.email,
                email_key=email_key(profile.email),
                email_verified_at=now if profile.email_verified else None,
                avatar_url=profile.avatar_url,
                website=profile.profile_url,
                last_seen_at=now,
                identities=[],
            )
            identity = _new_identity(profile, now)
            commenter.identities.append(identity)
            s.add(commenter)
            s.flush()
        return SignIn(commenter, identity, True)

    def create_guest(
        self,
        display_name: str,
        email: str | None,
        website: str | None = None,
        avatar_url: str | None = None,
    ) -> Commenter:
        """A commenter with no identity; its email is unverified until proven."""
        with self._sessions() as s, s.begin():
            commenter = Commenter(
                display_name=display_name,
                email=email,
                email_key=email_key(email),
                website=website,
                avatar_url=avatar_url,
                last_seen_at=utcnow(),
                identities=[],
            )
            s.add(commenter)
        return commenter

    def update_guest(
        self,
        commenter: Commenter,
        display_name: str,
        email: str | None,
        website: str | None,
        avatar_url: str | None,
    ) -> Commenter:
        """Change a guest's details; a changed email loses its verification."""
        with self._sessions() as s, s.begin():
            row = _lock(s, commenter.id)
            if email_key(email) != row.email_key:
                row.email_verified_at = None
            row.display_name = display_name
            row.email = email
            row.email_key = email_key(email)
            row.website = website
            row.avatar_url = avatar_url
        return self._reload(commenter.id)

    def mark_email_verified(self, commenter: Commenter, email: str) -> Commenter:
        """Record that the commenter proved ``email``; it becomes their email."""
        with self._sessions() as s, s.begin():
            row = _lock(s, commenter.id)
            row.email = email
            row.email_key = email_key(email)
            row.email_verified_at = utcnow()
        return self._reload(commenter.id)

    def link(
        self,
        commenter: Commenter,
        profile: Profile,
        *,
        actor: str = "commenter",
        unless_blocked: bool = False,
    ) -> Identity:
        """Attach ``profile``'s identity to ``commenter``.

        Linking an identity the commenter already has only refreshes it; one that belongs to
        someone else raises ``AccountConflict`` and changes nothing. With ``unless_blocked``
        (a sign-in linking on its own) a blocked commenter raises ``CommenterBlocked`` and
        changes nothing either; its row is checked under the lock the link takes anyway.
        """
        now = utcnow()
        try:
            with self._sessions() as s, s.begin():
                # The identity is locked before the commenter, as sign_in does: the opposite
                # order deadlocks against a concurrent sign-in of the same identity.
                existing = s.scalar(
                    _identity_query(profile.provider, profile.subject).with_for_update()
                )
                if existing is not None:
                    if existing.commenter_id != commenter.id:
                        other = s.get_one(Commenter, existing.commenter_id)
                        raise AccountConflict(profile.provider, profile.subject, other.public_id)
                    if unless_blocked:
                        _refuse_blocked(s.get_one(Commenter, commenter.id), now)
                    _refresh_identity(existing, profile, now)
                    return existing
                owner = _lock(s, commenter.id)
                _refuse_tombstone(owner)
                if unless_blocked:
                    _refuse_blocked(owner, now)
                # Someone may have created it while we waited for the commenter's lock. It is
                # read, not refreshed: locking it now would reverse the lock order again.
                created = s.scalar(_identity_query(profile.provider, profile.subject))
                if created is not None:
                    if created.commenter_id != owner.id:
                        other = s.get_one(Commenter, created.commenter_id)
                        raise AccountConflict(profile.provider, profile.subject, other.public_id)
                    return created
                identity = _new_identity(profile, now)
                identity.commenter_id = owner.id
                s.add(identity)
                s.flush()
                _audit(s, actor, "link", owner.id, provider=profile.provider, identity=identity.id)
            signals.identity_linked.send(self, commenter=owner, identity=identity)
            return identity
        except IntegrityError as exc:
            found = self.find_identity(profile.provider, profile.subject)
            if found is not None and found.commenter_id == commenter.id:
                return found
            owner_id = self._public_id_of(found.commenter_id) if found else "?"
            raise AccountConflict(profile.provider, profile.subject, owner_id) from exc

    def unlink(self, identity: Identity, *, actor: str = "commenter") -> None:
        """Remove ``identity``; refuses when it is the commenter's last way to sign in."""
        with self._sessions() as s, s.begin():
            row = _lock_identity(s, identity.id)
            if row is None or row.commenter_id != identity.commenter_id:
                raise NotFound("That connected account no longer exists.")
            owner = _lock(s, row.commenter_id)
            if _sign_in_methods(owner) <= 1:
                raise LastSignInMethod(
                    "This is the commenter's only way to sign in; connect another account first."
                )
            s.delete(row)
            _audit(s, actor, "unlink", owner.id, provider=row.provider, identity=row.id)
        signals.identity_unlinked.send(self, commenter=owner, identity=row)

    def move_identity(self, identity: Identity, target: Commenter, *, actor: str) -> Identity:
        """Give an existing identity to another commenter (an admin's "link").

        Refuses to take a live commenter's last way to sign in; a tombstone's identity (left
        behind by hand or an old version) may always move. Moving it to its owner is a no-op.
        """
        with self._sessions() as s, s.begin():
            row = _lock_identity(s, identity.id)
            if row is None:
                raise NotFound("That connected account no longer exists.")
            locked = {cid: _lock(s, cid) for cid in sorted({row.commenter_id, target.id})}
            owner, dst = locked[row.commenter_id], locked[target.id]
            if owner.id == dst.id:
                return row
            _refuse_tombstone(dst)
            live_owner = owner.merged_into_id is None and owner.erased_at is None
            if live_owner and _sign_in_methods(owner) <= 1:
                raise LastSignInMethod(
                    f"This is commenter {owner.public_id}'s only way to sign in; "
                    "merge the commenters instead."
                )
            row.commenter_id = dst.id
            details = {
                "provider": row.provider,
                "identity": row.id,
                "from": owner.public_id,
                "to": dst.public_id,
            }
            _audit(s, actor, "identity_moved_out", owner.id, **details)
            _audit(s, actor, "identity_moved_in", dst.id, **details)
        signals.identity_unlinked.send(self, commenter=owner, identity=row)
        signals.identity_linked.send(self, commenter=dst, identity=row)
        return row

    def release_identity(self, identity: Identity, *, actor: str) -> None:
        """Delete an identity whatever its owner keeps, for one stranded on an erased commenter.

        Unlike ``unlink`` this does not protect the last sign-in method: only call it when
        the owner cannot sign in anyway.
        """
        with self._sessions() as s, s.begin():
            row = s.get(Identity, identity.id)
            if row is None:
                return
            s.delete(row)
            _audit(s, actor, "unlink", row.commenter_id, provider=row.provider, identity=row.id)

    # -- admin actions -------------------------------------------------------------------

    def merge(self, source: Commenter, target: Commenter, *, actor: str = "system") -> Commenter:
        """Move everything of ``source`` into ``target`` in one transaction.

        ``source`` stays as a tombstone pointing at ``target`` so host data keyed by its public
        id can follow, and its sessions are revoked.
        """
        if source.id == target.id:
            raise StoreConflict("A commenter cannot be merged into itself.")
        with self._sessions() as s, s.begin():
            _lock_identities(s, Identity.commenter_id == source.id)
            # Lock in id order so two opposite merges cannot deadlock.
            first, second = sorted((source.id, target.id))
            rows = {first: _lock(s, first), second: _lock(s, second)}
            src, dst = rows[source.id], rows[target.id]
            for row in (src, dst):
                if row.merged_into_id is not None or row.erased_at is not None:
                    raise StoreConflict(f"Commenter {row.public_id} was merged or erased already.")
            moved = [i.id for i in src.identities]
            s.execute(
                update(Identity).where(Identity.commenter_id == src.id).values(commenter_id=dst.id)
            )
            _changed(s, src.id, dst.id)
            # Older tombstones of the source now point at the target; remembered for an undo.
            repointed = list(
                s.scalars(select(Commenter.id).where(Commenter.merged_into_id == src.id))
            )
            s.execute(
                update(Commenter)
                .where(Commenter.merged_into_id == src.id)
                .values(merged_into_id=dst.id)
            )
            filled = _fill_blanks(dst, src)
            src.merged_into_id = dst.id
            src.session_version += 1
            details = {
                "source": src.public_id,
                "target": dst.public_id,
                "identities": moved,
                "repointed": repointed,
                "filled": filled,
            }
            _audit(s, actor, "merge", dst.id, **details)
            _audit(s, actor, "merged_into", src.id, **details)
        merged = self._reload(target.id)
        signals.commenters_merged.send(self, source=self._reload(source.id), target=merged)
        return merged

    def merge_preview(self, source: Commenter, target: Commenter) -> MergePreview:
        """What merging ``source`` into ``target`` would move, read without changing anything."""
        src, dst = self._reload(source.id), self._reload(target.id)
        problem = None
        if src.id == dst.id:
            problem = "A commenter cannot be merged into itself."
        else:
            for row in (src, dst):
                if row.merged_into_id is not None or row.erased_at is not None:
                    problem = f"Commenter {row.public_id} was merged or erased already."
        return MergePreview(src, dst, list(src.identities), _blanks_to_fill(dst, src), problem)

    def undo_last_merge(self, commenter: Commenter, *, actor: str = "system") -> Unmerged:
        """Split off the commenter that was last merged into ``commenter``.

        Allowed only while the audit log shows no identity change to ``commenter`` since that
        merge, so exactly the identities that came with the source go back. The source's
        tombstone is cleared and the target's sessions end: someone may be signed in with an
        identity that now belongs to the source again.
        """
        with self._sessions() as s, s.begin():
            event = _undoable_merge(s, self._reload(commenter.id))
            src_id = s.scalar(
                select(Commenter.id).where(Commenter.public_id == event.details["source"])
            )
            if src_id is None:
                raise StoreConflict("The merged commenter no longer exists.")
            _lock_identities(s, Identity.id.in_(event.details.get("identities", [])))
            first, second = sorted((src_id, commenter.id))
            rows = {first: _lock(s, first), second: _lock(s, second)}
            src, dst = rows[src_id], rows[commenter.id]
            # Checked again under the locks: a link or another undo may have slipped in.
            if _undoable_merge(s, dst).id != event.id:
                raise StoreConflict("The commenter changed meanwhile; try again.")
            if src.merged_into_id != dst.id or src.erased_at is not None:
                raise StoreConflict(f"Commenter {src.public_id} is no longer merged into this one.")
            moved: list[int] = event.details.get("identities", [])
            owned = set(s.scalars(select(Identity.id).where(Identity.commenter_id == dst.id)))
            if not set(moved) <= owned:
                raise StoreConflict("Identities changed since the merge; it cannot be undone.")
            if moved:
                s.execute(
                    update(Identity).where(Identity.id.in_(moved)).values(commenter_id=src.id)
                )
            _changed(s, src.id, dst.id)
            repointed: list[int] = event.details.get("repointed", [])
            if repointed:
                s.execute(
                    update(Commenter)
                    .where(Commenter.id.in_(repointed), Commenter.merged_into_id == dst.id)
                    .values(merged_into_id=src.id)
                )
            cleared = _clear_filled(dst, src, event.details.get("filled", []))
            src.merged_into_id = None
            dst.session_version += 1
            details = {
                "merge_event": event.id,
                "source": src.public_id,
                "target": dst.public_id,
                "identities": moved,
                "cleared": cleared,
            }
            _audit(s, actor, "unmerge", dst.id, **details)
            _audit(s, actor, "unmerged_from", src.id, **details)
        result = Unmerged(self._reload(src.id), self._reload(dst.id))
        signals.commenters_unmerged.send(self, source=result.source, target=result.target)
        return result

    def block(
        self, commenter: Commenter, until: datetime | None = None, *, actor: str = "system"
    ) -> Commenter:
        """Block every identity of the commenter and end all their sessions."""
        with self._sessions() as s, s.begin():
            row = _lock(s, commenter.id)
            row.blocked_at = utcnow()
            row.blocked_until = until
            row.session_version += 1
            _audit(s, actor, "block", row.id, until=until.isoformat() if until else None)
        blocked = self._reload(commenter.id)
        signals.commenter_blocked.send(self, commenter=blocked, until=until)
        return blocked

    def unblock(self, commenter: Commenter, *, actor: str = "system") -> Commenter:
        with self._sessions() as s, s.begin():
            row = _lock(s, commenter.id)
            row.blocked_at = None
            row.blocked_until = None
            _audit(s, actor, "unblock", row.id)
        return self._reload(commenter.id)

    def bump_session_version(self, commenter: Commenter) -> int:
        """End every session of the commenter; returns the new version."""
        with self._sessions() as s, s.begin():
            version: int | None = s.scalar(
                update(Commenter)
                .where(Commenter.id == commenter.id)
                .values(session_version=Commenter.session_version + 1)
                .returning(Commenter.session_version)
            )
        if version is None:
            raise NotFound(f"No commenter with id {commenter.public_id!r}.")
        self.notify_changed((commenter.id,))
        return version

    def export(self, commenter: Commenter) -> dict[str, Any]:
        """Everything held about the commenter, as JSON-ready data."""
        row = self._reload(commenter.id)
        return {
            "commenter": {
                "id": row.public_id,
                "display_name": row.display_name,
                "email": row.email,
                "email_verified_at": _iso(row.email_verified_at),
                "website": row.website,
                "avatar_url": row.avatar_url,
                "created_at": _iso(row.created_at),
                "last_seen_at": _iso(row.last_seen_at),
                "blocked_at": _iso(row.blocked_at),
                "blocked_until": _iso(row.blocked_until),
            },
            "identities": [
                {
                    "provider": i.provider,
                    "subject": i.subject,
                    "email": i.email,
                    "email_verified": i.email_verified,
                    "display_name": i.display_name,
                    "username": i.username,
                    "profile_url": i.profile_url,
                    "avatar_url": i.avatar_url,
                    "created_at": _iso(i.created_at),
                    "last_sign_in_at": _iso(i.last_sign_in_at),
                }
                for i in row.identities
            ],
            "audit_events": [
                {
                    "action": e.action,
                    "actor": e.actor,
                    "details": e.details,
                    "time": _iso(e.created_at),
                }
                for e in self.audit_log(row)
            ],
        }

    def erase(self, commenter: Commenter, *, actor: str = "system") -> Commenter:
        """Remove personal data and identities, keeping a tombstone for the host's comments."""
        with self._sessions() as s, s.begin():
            _lock_identities(s, Identity.commenter_id == commenter.id)
            row = _lock(s, commenter.id)
            removed = len(row.identities)
            for identity in list(row.identities):
                s.delete(identity)
            row.display_name = ""
            row.email = None
            row.email_key = None
            row.email_verified_at = None
            row.website = None
            row.avatar_url = None
            row.erased_at = utcnow()
            row.session_version += 1
            _audit(s, actor, "erase", row.id, identities_removed=removed)
        erased = self._reload(commenter.id)
        signals.commenter_erased.send(self, commenter=erased)
        return erased

    # -- helpers --------------------------------------------------------------------------

    def _reload(self, commenter_id: int) -> Commenter:
        commenter = self.get(commenter_id)
        if commenter is None:
            raise NotFound("That commenter no longer exists.")
        return commenter

    def _public_id_of(self, commenter_id: int) -> str:
        commenter = self.get(commenter_id)
        return commenter.public_id if commenter else "?"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A SQLAlchemy session on the store's engine, for host code and admin views."""
        with self._sessions() as s:
            yield s


def alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _identity_query(provider: str, subject: str) -> Select[Identity]:
    return select(Identity).where(Identity.provider == provider, Identity.subject == subject)


# -- change tracking ---------------------------------------------------------------------------
# Commenters whose row or identities a transaction changed, collected at each flush and handed
# to the store's listeners once the transaction commits (dropped when it rolls back).

_CHANGED = "social_auth_changed_commenters"
#: ``session_commenter`` on SQLite keeps at most this many commenters per thread.
SESSION_ROWS_KEPT = 10_000


def _changed(s: Session, *commenter_ids: int | None) -> None:
    """Record changes a Core statement made in ``s``, which the flush events cannot see."""
    s.info.setdefault(_CHANGED, set()).update(c for c in commenter_ids if c is not None)


def _collect_changed_commenters(s: Session, _flush_context: Any) -> None:
    for obj in (*s.new, *s.dirty, *s.deleted):
        if isinstance(obj, Commenter):
            _changed(s, obj.id)
        elif isinstance(obj, Identity):
            # An identity moved between commenters changes both.
            history = sa_inspect(obj).attrs.commenter_id.history
            _changed(s, obj.commenter_id, *history.deleted)


def _forget_changed_commenters(s: Session) -> None:
    s.info.pop(_CHANGED, None)


# -- the session cookie's read ----------------------------------------------------------------


def in_memory(engine: Engine) -> bool:
    """An in-memory SQLite database lives in one connection: no reader of its own for it."""
    database = engine.url.database or ""
    return database in ("", ":memory:") or "mode=memory" in str(engine.url)


@cache
def _session_commenter_statement() -> Any:
    c, i = _COMMENTER, _IDENTITY
    return (
        select(*_labelled(c, "c_"), *_labelled(i, "i_"))
        .select_from(c.outerjoin(i, i.c.commenter_id == c.c.id))
        .where(c.c.id == _param("v_id", c.c.id))
        .order_by(i.c.id)
    )


def _commenter_from_joined(rows: Sequence[Mapping[str, Any]]) -> Commenter | None:
    if not rows:
        return None
    first = rows[0]
    commenter = _detached(Commenter, {col.name: first["c_" + col.name] for col in _COMMENTER.c})
    identities = [
        _detached(Identity, {col.name: row["i_" + col.name] for col in _IDENTITY.c})
        for row in rows
        if row["i_id"] is not None
    ]
    set_committed_value(commenter, "identities", identities)
    for identity in identities:
        set_committed_value(identity, "commenter", commenter)
    return commenter


# -- the sign-in hot path ---------------------------------------------------------------------
# Core statements built once per dialect (so SQLAlchemy's compiled cache always hits) and rows
# turned into detached ORM objects without a Session: a sign-in is the only write a busy blog
# does in bursts, and the ORM unit of work costs several times the SQL it sends.

_COMMENTER: Table = Commenter.__table__  # type: ignore[assignment]
_IDENTITY: Table = Identity.__table__  # type: ignore[assignment]
#: Identity columns a sign-in refreshes from the profile, and their bound parameter names.
_REFRESHED = {
    "email": "v_email",
    "email_verified": "v_email_verified",
    "display_name": "v_display_name",
    "username": "v_username",
    "profile_url": "v_profile_url",
    "avatar_url": "v_avatar_url",
    "last_sign_in_at": "v_now",
}


class _HotStatements(NamedTuple):
    touch_identity: Any
    touch_commenter: Any
    identities_of: Any
    create_commenter: Any
    create_identity: Any
    sign_in_one: Any  # PostgreSQL only: refresh, or else create, in one statement
    touch_one: Any  # PostgreSQL only: ``sign_in_one`` without the create
    owner_blocked: Any  # PostgreSQL only: whether the identity's owner is blocked
    defaults: tuple[tuple[str, Any], ...]  # bound names and defaults of unset columns


@cache
def _hot_statements(postgresql: bool) -> _HotStatements:
    return _build_hot_statements(postgresql)


def _touch_on(conn: Connection | _OwnConnection, profile: Profile) -> SignIn | None:
    """Refresh a known identity and its owner in ``conn``'s transaction; None if unknown.

    Raises ``CommenterBlocked`` for a blocked owner: the caller's transaction then rolls back
    both updates, so a refused sign-in writes nothing.
    """
    statements = _hot_statements(False)
    now = utcnow()
    found = _run(conn, statements.touch_identity, _refresh_params(profile, now))
    if not found:
        return None
    identity_row = found[0]
    owner = {"v_commenter_id": identity_row["commenter_id"], "v_now": now}
    commenter_row = _run(conn, statements.touch_commenter, owner)[0]
    if _blocked_row(commenter_row, now):
        raise CommenterBlocked(BLOCKED_MESSAGE)
    identity_rows = _run(conn, statements.identities_of, owner)
    return _assemble(commenter_row, identity_rows, identity_row["id"], created=False)


def _blocked_row(row: Mapping[str, Any], now: datetime) -> bool:
    """``Commenter.is_blocked_at`` for a commenter row read by the hot path."""
    until = row["blocked_until"]
    return row["blocked_at"] is not None and (until is None or until > now)


class _Retry(Exception):
    """The sign-in statement found the identity gone under it; try again."""


def _create_on(conn: Connection | _OwnConnection, profile: Profile) -> SignIn:
    statements = _hot_statements(False)
    params = _create_params(profile, statements)
    commenter_row = _run(conn, statements.create_commenter, params)[0]
    params["v_commenter_id"] = commenter_row["id"]
    identity_row = _run(conn, statements.create_identity, params)[0]
    return _assemble(commenter_row, [identity_row], identity_row["id"], created=True)


class _Prepared(NamedTuple):
    """A statement compiled once for one dialect, with its type conversions looked up."""

    sql: str
    names: tuple[str, ...]
    binds: tuple[Any, ...]
    keys: tuple[str, ...]
    results: tuple[Any, ...]


@cache
def _prepared(statement: Any, dialect: Dialect) -> _Prepared | None:
    compiled = statement.compile(dialect=dialect)
    if not compiled.positional or dialect.name != "sqlite":
        return None
    names = tuple(compiled.positiontup)
    columns = list(statement.exported_columns)
    return _Prepared(
        sql=str(compiled),
        names=names,
        binds=tuple(
            compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names
        ),
        keys=tuple(c.name for c in columns),
        results=tuple(c.type.dialect_impl(dialect).result_processor(dialect, None)
                      for c in columns),
    )


class _OwnConnection(NamedTuple):
    """A ``ThreadConnections`` connection and the engine's dialect, for ``_run``."""

    dbapi: Any
    dialect: Dialect


def _driver(own: _OwnConnection, sql: str, connections: ThreadConnections) -> None:
    """Run a transaction statement on ``own``, errors wrapped as SQLAlchemy's (and the
    connection dropped: the next call gets a fresh one)."""
    error = own.dialect.loaded_dbapi.Error
    try:
        own.dbapi.execute(sql)
    except error as exc:
        connections.drop()
        raise DBAPIError.instance(sql, [], exc, error, dialect=own.dialect) from exc


def _run(
    conn: Connection | _OwnConnection, statement: Any, params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Rows of ``statement`` as dicts, converted by the columns' types.

    On SQLite, where the driver is in-process and SQLAlchemy's per-execution bookkeeping costs
    more than the query, the compiled SQL goes straight to the driver's cursor (inside the
    caller's transaction; errors are wrapped as SQLAlchemy's, as ``execute`` would).
    """
    prepared = _prepared(statement, conn.dialect)
    if prepared is None:
        assert isinstance(conn, Connection)  # an own connection is SQLite's
        return [dict(row._mapping) for row in conn.execute(statement, params)]
    rows = _fetch_raw(conn, prepared, params)
    keys, results = prepared.keys, prepared.results
    return [
        {k: (r(v) if r else v) for k, r, v in zip(keys, results, row, strict=True)}
        for row in rows
    ]


def _fetch_raw(
    conn: Connection | _OwnConnection, prepared: _Prepared, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """SQLite: the driver's rows of a prepared statement, values not yet converted."""
    args = [p(params[n]) if p else params[n] for n, p in zip(prepared.names, prepared.binds,
                                                             strict=True)]
    if isinstance(conn, _OwnConnection):
        dbapi_connection = conn.dbapi
    else:
        dbapi_connection = conn.connection.driver_connection
    assert dbapi_connection is not None
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(prepared.sql, args)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
        finally:
            cursor.close()
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(
            prepared.sql, args, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
        ) from exc
    return rows


def _create_params(profile: Profile, statements: _HotStatements) -> dict[str, Any]:
    now = utcnow()
    params = _default_params(statements.defaults)
    params.update(_refresh_params(profile, now))
    params.update(
        v_public_id=new_public_id(),
        v_commenter_name=profile.display_name or profile.username or "",
        v_email_key=email_key(profile.email),
        v_email_verified_at=now if profile.email_verified else None,
        v_website=profile.profile_url,
    )
    return params


def _param(name: str, column: Column[Any]) -> BindParameter[Any]:
    return bindparam(name, type_=column.type)


def _build_hot_statements(postgresql: bool) -> _HotStatements:
    c, i = _COMMENTER, _IDENTITY
    touch_identity = (
        update(i)
        .where(i.c.provider == _param("v_provider", i.c.provider),
               i.c.subject == _param("v_subject", i.c.subject))
        .values({col: _param(name, i.c[col]) for col, name in _REFRESHED.items()})
        .returning(*i.c)
    )
    touch_commenter = (
        update(c)
        .where(c.c.id == _param("v_commenter_id", c.c.id))
        .values(last_seen_at=_param("v_now", c.c.last_seen_at))
        .returning(*c.c)
    )
    identities_of = (
        select(*i.c).where(i.c.commenter_id == _param("v_commenter_id", i.c.commenter_id))
        .order_by(i.c.id)
    )
    commenter_values = {
        "public_id": _param("v_public_id", c.c.public_id),
        "display_name": _param("v_commenter_name", c.c.display_name),
        "email": _param("v_email", c.c.email),
        "email_key": _param("v_email_key", c.c.email_key),
        "email_verified_at": _param("v_email_verified_at", c.c.email_verified_at),
        "avatar_url": _param("v_avatar_url", c.c.avatar_url),
        "website": _param("v_website", c.c.website),
        "created_at": _param("v_now", c.c.created_at),
        "last_seen_at": _param("v_now", c.c.last_seen_at),
    }
    identity_values: dict[str, Any] = {
        "provider": _param("v_provider", i.c.provider),
        "subject": _param("v_subject", i.c.subject),
        "created_at": _param("v_now", i.c.created_at),
    }
    identity_values.update({col: _param(name, i.c[col]) for col, name in _REFRESHED.items()})
    # A nested INSERT gets no Python-side column defaults, so every defaulted column not set
    # above (including ones added later) is bound explicitly; see ``_default_params``.
    c_defaults = _defaulted(c, "dc_", commenter_values)
    i_defaults = _defaulted(i, "di_", {**identity_values, "commenter_id": None})
    commenter_values.update({col.name: _param(name, col) for name, col in c_defaults})
    identity_values.update({col.name: _param(name, col) for name, col in i_defaults})
    defaults = tuple((name, col.default) for name, col in (*c_defaults, *i_defaults))
    create_commenter = insert(c).values(commenter_values).returning(*c.c)
    create_identity = (
        insert(i)
        .values(commenter_id=_param("v_commenter_id", i.c.commenter_id), **identity_values)
        .returning(*i.c)
    )
    sign_in_one = touch_one = owner_blocked = None
    if postgresql:
        is_key = (i.c.provider == _param("v_provider", i.c.provider),
                  i.c.subject == _param("v_subject", i.c.subject))
        # A blocked owner (as of the statement's snapshot) gets no update, and so no row back:
        # ``owner_blocked`` then tells that answer from an unknown identity.
        blocked = select(c.c.id).where(c.c.id == i.c.commenter_id, _blocked_clause(c)).exists()
        touched = touch_identity.where(~blocked).cte("touched")
        seen = (
            update(c).where(c.c.id == touched.c.commenter_id)
            .values(last_seen_at=_param("v_now", c.c.last_seen_at))
            .returning(*c.c).cte("seen")
        )
        others = select(*i.c).where(
            i.c.commenter_id == touched.c.commenter_id, i.c.id != touched.c.id
        )
        owned = union_all(select(*touched.c), others).subquery("owned")
        found = select(*_labelled(seen, "c_"), *_labelled(owned, "i_"),
                       (owned.c.id == touched.c.id).label("touched"), false().label("created"))
        found = found.select_from(seen.join(owned, true()).join(touched, true()))
        # The inserts run only when the identity does not exist (in the same snapshot as the
        # update; one inserted since makes the insert fail on the unique key: retried).
        made_new = (
            insert(c).from_select(
                list(commenter_values),
                select(*commenter_values.values()).where(~select(i.c.id).where(*is_key).exists()),
            ).returning(*c.c).cte("made_new")
        )
        attached_new = (
            insert(i).from_select(
                ["commenter_id", *identity_values],
                select(made_new.c.id, *identity_values.values()),
            ).returning(*i.c).cte("attached_new")
        )
        created = select(*_labelled(made_new, "c_"), *_labelled(attached_new, "i_"),
                         true().label("touched"), true().label("created"))
        created = created.select_from(made_new.join(attached_new, true()))
        sign_in_one = union_all(found, created).order_by(literal_column("i_id"))
        touch_one = found.order_by(literal_column("i_id"))
        owner_blocked = select(i.c.id).where(*is_key, blocked)
    return _HotStatements(touch_identity, touch_commenter, identities_of, create_commenter,
                          create_identity, sign_in_one, touch_one, owner_blocked, defaults)


def _blocked_clause(c: Table) -> Any:
    """``Commenter.is_blocked_at(v_now)`` in SQL."""
    until = c.c.blocked_until
    return and_(
        c.c.blocked_at.is_not(None),
        or_(until.is_(None), until > _param("v_now", c.c.last_seen_at)),
    )


def _defaulted(
    table: Table, prefix: str, given: Mapping[str, Any]
) -> list[tuple[str, Column[Any]]]:
    """Columns with a Python-side default that the statement does not set, and bind names."""
    return [
        (prefix + col.name, col)
        for col in table.c
        if col.name not in given and col.default is not None
    ]


def _default_params(defaults: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """Values of the Python-side column defaults, computed as Core would for a plain INSERT."""
    return {name: d.arg if d.is_scalar else d.arg(None) for name, d in defaults}


def _labelled(selectable: Any, prefix: str) -> list[Any]:
    return [col.label(prefix + col.name) for col in selectable.c]


def _refresh_params(profile: Profile, now: datetime) -> dict[str, Any]:
    return {
        "v_provider": profile.provider,
        "v_subject": profile.subject,
        "v_email": profile.email,
        "v_email_verified": profile.email_verified,
        "v_display_name": profile.display_name,
        "v_username": profile.username,
        "v_profile_url": profile.profile_url,
        "v_avatar_url": profile.avatar_url,
        "v_now": now,
    }


def _sign_in_from_rows(rows: Sequence[Row[Any]], *, created: bool) -> SignIn:
    """Split the prefixed columns of PostgreSQL's one-statement answers into the two objects."""
    first = rows[0]._mapping
    commenter_values = {col.name: first["c_" + col.name] for col in _COMMENTER.c}
    identity_values = []
    touched_id = 0
    for row in rows:
        m = row._mapping
        values = {col.name: m["i_" + col.name] for col in _IDENTITY.c}
        if m["touched"]:
            touched_id = values["id"]
        identity_values.append(values)
    return _assemble(commenter_values, identity_values, touched_id, created=created)


def _assemble(
    commenter_values: Mapping[Any, Any],
    identity_values: Sequence[Mapping[Any, Any]],
    identity_id: int,
    *,
    created: bool,
) -> SignIn:
    """Detached ORM objects, as a Session would have left them, built without one."""
    identities = [_detached(Identity, values) for values in identity_values]
    commenter = _detached(Commenter, commenter_values)
    set_committed_value(commenter, "identities", identities)
    for identity in identities:
        set_committed_value(identity, "commenter", commenter)
    identity = next(x for x in identities if x.id == identity_id)
    return SignIn(commenter, identity, created)


_Model = TypeVar("_Model", Commenter, Identity)


def _detached(cls: type[_Model], values: Mapping[Any, Any]) -> _Model:
    obj: _Model = _manager(cls).new_instance()
    # What a query's loader does: column values straight into the instance dict.
    obj.__dict__.update({key: values[key] for key in _column_keys(cls)})
    make_transient_to_detached(obj)
    return obj


@cache
def _manager(cls: type[Base]) -> Any:
    return sa_inspect(cls).class_manager


@cache
def _column_keys(cls: type[Base]) -> tuple[str, ...]:
    mapper = sa_inspect(cls)
    return tuple(prop.key for prop in mapper.column_attrs)


def _search_filter(stmt: _S, query: str) -> _S:
    query = query.strip()
    if not query:
        return stmt
    pattern = "%" + _escape_like(query.lower()) + "%"
    by_identity = select(Identity.commenter_id).where(
        or_(
            Identity.subject == query,
            func.lower(Identity.username).like(pattern, escape="\\"),
            func.lower(Identity.email).like(pattern, escape="\\"),
        )
    )
    return stmt.where(
        or_(
            Commenter.public_id == query,
            func.lower(Commenter.display_name).like(pattern, escape="\\"),
            func.lower(Commenter.email).like(pattern, escape="\\"),
            Commenter.id.in_(by_identity),
        )
    )


def _undoable_merge(s: Session, target: Commenter) -> AuditEvent:
    """The target's last merge not yet undone, if no identity change happened since."""
    if target.merged_into_id is not None or target.erased_at is not None:
        raise StoreConflict(f"Commenter {target.public_id} was merged or erased.")
    newest_first = (
        select(AuditEvent)
        .where(AuditEvent.commenter_id == target.id)
        .order_by(AuditEvent.id.desc())
    )
    events = s.scalars(newest_first)
    undone: set[int] = set()
    for entry in events:
        if entry.action == "unmerge":
            undone.add(int(entry.details["merge_event"]))
        elif entry.action == "merge" and entry.id in undone:
            continue  # a merge already undone: its identities are back where they were
        elif entry.action == "merge":
            return entry
        elif entry.action in IDENTITY_ACTIONS:
            raise StoreConflict(
                "Identities changed since the last merge; it can no longer be undone."
            )
    raise StoreConflict(f"Commenter {target.public_id} has no merge to undo.")


def _refuse_blocked(row: Commenter, now: datetime) -> None:
    if row.is_blocked_at(now):
        raise CommenterBlocked(BLOCKED_MESSAGE)


def _refuse_tombstone(row: Commenter) -> None:
    if row.merged_into_id is not None or row.erased_at is not None:
        raise StoreConflict(f"Commenter {row.public_id} was merged or erased.")


def _lock_identity(s: Session, identity_id: int) -> Identity | None:
    return s.scalar(select(Identity).where(Identity.id == identity_id).with_for_update())


def _lock_identities(s: Session, *criteria: Any) -> None:
    """Row-lock identities before their commenters.

    ``sign_in`` updates an identity and then its commenter; every write that touches both
    takes its locks in that same order, so it cannot deadlock against a concurrent sign-in.
    """
    s.execute(select(Identity.id).where(*criteria).with_for_update())


def _lock(s: Session, commenter_id: int) -> Commenter:
    row = s.scalar(
        select(Commenter)
        .where(Commenter.id == commenter_id)
        .options(selectinload(Commenter.identities))
        .with_for_update()
    )
    if row is None:
        raise NotFound("That commenter no longer exists.")
    return row


def _new_identity(profile: Profile, now: datetime) -> Identity:
    identity = Identity(provider=profile.provider, subject=profile.subject, created_at=now)
    _refresh_identity(identity, profile, now)
    return identity


def _refresh_identity(identity: Identity, profile: Profile, now: datetime) -> None:
    identity.email = profile.email
    identity.email_verified = profile.email_verified
    identity.display_name = profile.display_name
    identity.username = profile.username
    identity.profile_url = profile.profile_url
    identity.avatar_url = profile.avatar_url
    identity.last_sign_in_at = now


def _sign_in_methods(commenter: Commenter) -> int:
    """Identities, plus a verified email (a magic link signs the commenter in)."""
    return len(commenter.identities) + (1 if commenter.email_verified_at is not None else 0)


def _blanks_to_fill(target: Commenter, source: Commenter) -> list[str]:
    """The fields ``_fill_blanks`` would copy, without copying them."""
    names = [
        name
        for name in ("display_name", "website", "avatar_url")
        if not getattr(target, name) and getattr(source, name)
    ]
    if target.email is None and source.email is not None:
        names.append("email")
    return names


def _fill_blanks(target: Commenter, source: Commenter) -> list[str]:
    """Copy fields the target lacks from the source; a verified email only replaces none."""
    filled = []
    for name in ("display_name", "website", "avatar_url"):
        if not getattr(target, name) and getattr(source, name):
            setattr(target, name, getattr(source, name))
            filled.append(name)
    if target.email is None and source.email is not None:
        target.email = source.email
        target.email_key = source.email_key
        target.email_verified_at = source.email_verified_at
        filled.append("email")
    return filled


def _clear_filled(target: Commenter, source: Commenter, filled: list[str]) -> list[str]:
    """Undo ``_fill_blanks`` for fields that still hold the source's value."""
    cleared = []
    for name in filled:
        if name == "email":
            if target.email_key == source.email_key:
                target.email = target.email_key = target.email_verified_at = None
                cleared.append(name)
        elif getattr(target, name) == getattr(source, name):
            setattr(target, name, "" if name == "display_name" else None)
            cleared.append(name)
    return cleared


def _audit(s: Session, actor: str, action: str, commenter_id: int, **details: Any) -> None:
    s.add(AuditEvent(actor=actor, action=action, commenter_id=commenter_id, details=details))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


__all__ = [
    "Base",
    "CommenterDetails",
    "CommenterPage",
    "IdentityStore",
    "MergePreview",
    "SignIn",
    "Unmerged",
    "make_engine",
]

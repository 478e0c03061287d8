"""The store's reads: the session cookie's commenter on every page, lookups, search and
listings, and the details an admin page shows."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import DBAPIError

from ..emails import email_key
from ..errors import NotFound, StoreConflict
from .base import StoreBase
from .hotpath import commenter_from_joined, prepared
from .merging import undoable_merge
from .models import AuditEvent, Commenter, Identity
from .results import CommenterDetails, CommenterPage
from .rows import identity_query
from .statements import session_commenter

_S = TypeVar("_S", bound=Select[Any])

#: ``session_commenter`` on SQLite keeps at most this many commenters per thread.
SESSION_ROWS_KEPT = 10_000


class ReadsMixin(StoreBase):
    """Reads of commenters, identities and the audit log; nothing here writes."""

    def session_commenter(self, commenter_id: int) -> Commenter | None:
        """The commenter with its identities in one query by primary key, for checking a
        session cookie on every page. Treat the result as read-only: on SQLite the same
        objects come back while the rows are unchanged (building them costs more than the
        query), and the session layer's cache shares them between requests."""
        statement = session_commenter()
        if self._readers is not None:
            return self._session_commenter_sqlite(statement, commenter_id)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(statement, {"v_id": commenter_id})]
        return commenter_from_joined(rows)

    def _session_commenter_sqlite(self, statement: Any, commenter_id: int) -> Commenter | None:
        # This thread's own sqlite3 connection, which only ever reads. ``PRAGMA data_version``
        # on it changes as soon as any other connection, of any thread or process, commits to
        # the database; while it has not, what this connection read last is still what is
        # stored, and comes back without a query. A commit between the pragma and the SELECT
        # is caught by the next call's pragma.
        assert self._readers is not None
        dialect = self.engine.dialect
        ready = prepared(statement, dialect)
        assert ready is not None
        reader = self._readers.thread()
        try:
            connection = reader["connection"]
            version = connection.execute("PRAGMA data_version").fetchone()[0]
            if version != reader.get("version"):
                reader.update(version=version, commenters={})
            commenters: dict[int, Commenter] = reader["commenters"]
            known = commenters.get(commenter_id)
            if known is not None:
                return known
            raw = connection.execute(ready.sql, [commenter_id]).fetchall()
        except dialect.loaded_dbapi.Error as exc:
            self._readers.drop()  # reconnect on the next read
            raise DBAPIError.instance(
                ready.sql, [commenter_id], exc, dialect.loaded_dbapi.Error, dialect=dialect
            ) from exc
        commenter = commenter_from_joined(ready.rows(raw))
        if commenter is not None:
            if len(commenters) >= SESSION_ROWS_KEPT:
                commenters.clear()
            commenters[commenter_id] = commenter
        return commenter

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
            return s.scalar(identity_query(provider, subject))

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
        row = self.require_by_id(commenter.id)
        with self._sessions() as s:
            merged_from = list(
                s.scalars(
                    select(Commenter)
                    .where(Commenter.merged_into_id == row.id)
                    .order_by(Commenter.id)
                )
            )
            try:
                undoable_merge(s, row)
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


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

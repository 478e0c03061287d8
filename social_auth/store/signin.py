"""``sign_in``: one strategy per database, each refreshing a known identity or else creating
the commenter and identity, safe under concurrency, refusing a blocked owner unwritten."""

from __future__ import annotations

from typing import Literal, overload

from sqlalchemy.exc import DBAPIError, IntegrityError

from ..emails import email_key
from ..errors import BLOCKED_MESSAGE, CommenterBlocked, StoreConflict
from ..profile import Profile
from .base import StoreBase
from .hotpath import (
    OwnConnection,
    Retry,
    create_on,
    create_params,
    run_transaction_statement,
    sign_in_from_rows,
    touch_on,
)
from .models import Commenter, utcnow
from .results import SignIn
from .rows import identity_query, new_identity, refresh_identity
from .statements import hot_statements


class SignInMixin(StoreBase):
    """``sign_in`` and ``sign_in_existing``, and the strategy each database takes."""

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
            done = self._sign_in_postgresql(profile, create=False)
        elif self._writers is not None:
            done = self._sign_in_sqlite_file(profile, create=False)
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
                    return self._sign_in_postgresql(profile)
                if self._writers is not None:
                    return self._sign_in_sqlite_file(profile)
                if dialect.update_returning and dialect.insert_returning:
                    with self.engine.begin() as conn:
                        # SQLite: the UPDATE takes the write lock, so nobody can insert the
                        # identity between it and our INSERT.
                        known = touch_on(conn, profile)
                        return known if known is not None else create_on(conn, profile)
                known = self._touch_identity(profile)
                if known is not None:
                    return known
                return self._create_from_profile(profile)
            except (IntegrityError, Retry):
                continue  # another transaction created (or removed) it first: read theirs
        raise StoreConflict(f"Could not record the {profile.provider} sign-in; try again.")

    @overload
    def _sign_in_postgresql(
        self, profile: Profile, *, create: Literal[True] = ...
    ) -> SignIn: ...
    @overload
    def _sign_in_postgresql(self, profile: Profile, *, create: bool) -> SignIn | None: ...

    def _sign_in_postgresql(self, profile: Profile, *, create: bool = True) -> SignIn | None:
        """PostgreSQL: refresh the identity or else create it, in one autocommitted statement.

        One round trip and no BEGIN/COMMIT. A racing first sign-in of the same identity makes
        the whole statement fail on the unique key (the commenter insert with it). Without
        ``create``, None when the identity is not there.
        """
        statements = hot_statements(True)
        params = create_params(profile, statements)
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
            raise Retry  # the next attempt creates it afresh
        return sign_in_from_rows(rows, created=bool(rows[0]._mapping["created"]))

    @overload
    def _sign_in_sqlite_file(
        self, profile: Profile, *, create: Literal[True] = ...
    ) -> SignIn: ...
    @overload
    def _sign_in_sqlite_file(self, profile: Profile, *, create: bool) -> SignIn | None: ...

    def _sign_in_sqlite_file(self, profile: Profile, *, create: bool = True) -> SignIn | None:
        """SQLite file: refresh the identity or else create it, in one transaction on this
        thread's own connection (durability as the engine's: only the pool is skipped).

        ``BEGIN IMMEDIATE`` takes the write lock first (waiting up to the busy timeout), so
        nobody can insert the identity between our UPDATE and our INSERT; anything raised
        (a blocked owner, a unique key) rolls the whole transaction back.
        """
        assert self._writers is not None
        own = OwnConnection(self._writers.get(), self.engine.dialect)
        run_transaction_statement(own, "BEGIN IMMEDIATE", self._writers)
        try:
            done = touch_on(own, profile)
            if done is None and create:
                done = create_on(own, profile)
        except BaseException:
            self._roll_back(own)
            raise
        try:
            run_transaction_statement(own, "COMMIT", self._writers)
        except DBAPIError:
            self._roll_back(own)
            raise
        return done

    def _roll_back(self, own: OwnConnection) -> None:
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
            return touch_on(conn, profile)

    def _create_from_profile(self, profile: Profile) -> SignIn:
        """Insert the commenter and its identity; IntegrityError if the identity appeared."""
        if not self.engine.dialect.insert_returning:
            return self._create_from_profile_orm(profile)
        with self.engine.begin() as conn:
            return create_on(conn, profile)

    def _touch_identity_orm(self, profile: Profile) -> SignIn | None:
        """For databases without UPDATE … RETURNING."""
        now = utcnow()
        with self._sessions() as s, s.begin():
            identity = s.scalar(identity_query(profile.provider, profile.subject))
            if identity is None:
                return None
            commenter = s.get_one(Commenter, identity.commenter_id)
            if commenter.is_blocked_at(now):
                raise CommenterBlocked(BLOCKED_MESSAGE)  # before any change: nothing flushed
            refresh_identity(identity, profile, now)
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
                website=profile.profile_url,
                last_seen_at=now,
                identities=[],
            )
            identity = new_identity(profile, now)
            commenter.identities.append(identity)
            s.add(commenter)
            s.flush()
        return SignIn(commenter, identity, True)

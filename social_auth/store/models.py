"""The tables of the identity store, as typed SQLAlchemy 2 models."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Lengths of the columns that keep what a provider or a guest sends come from the field rules
# (one home: ``profile``); changing one there changes a column here, which the migration test
# notices. Email columns stay wider (320) than ``EMAIL_MAX`` (254).
from ..profile import DISPLAY_NAME_MAX, SUBJECT_MAX, URL_MAX, USERNAME_MAX, WEBSITE_MAX

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the identity store")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_public_id() -> str:
    """Opaque, unguessable id shown to the world instead of the row id."""
    while True:
        candidate = secrets.token_urlsafe(12)
        # One id in 64 would start with "-" and read as an option to ``flask social-auth``.
        if not candidate.startswith("-"):
            return candidate


IdType = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Commenter(Base):
    """A person who comments; owns zero or more identities."""

    __tablename__ = "social_auth_commenter"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    display_name: Mapped[str] = mapped_column(String(DISPLAY_NAME_MAX), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    #: ``email`` in the form compared for linking decisions (see ``normalise_email``).
    email_key: Mapped[str | None] = mapped_column(String(320), index=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    website: Mapped[str | None] = mapped_column(String(WEBSITE_MAX))
    avatar_url: Mapped[str | None] = mapped_column(String(URL_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    #: Indexed: every commenter delete checks this foreign key, and undo looks merges up by it.
    merged_into_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("social_auth_commenter.id", ondelete="SET NULL"), index=True
    )
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: How many passkeys the commenter has (``store.passkeys`` keeps it with the rows, under
    #: the commenter's lock): read with every commenter, so the hot path needs no join.
    passkey_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    identities: Mapped[list[Identity]] = relationship(
        back_populates="commenter", lazy="selectin", order_by="Identity.id"
    )

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_guest(self) -> bool:
        return not self.identities

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def ways_to_sign_in(self) -> int:
        """How many ways this commenter can sign in: each identity, each passkey, and a
        verified email (a mailed link signs them in). The one count behind "never remove the
        last way"."""
        verified = 1 if self.email_verified_at is not None else 0
        return len(self.identities) + verified + (self.passkey_count or 0)

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    def is_blocked_at(self, now: datetime) -> bool:
        if self.blocked_at is None:
            return False
        return self.blocked_until is None or self.blocked_until > now

    @property
    def is_blocked(self) -> bool:
        return self.is_blocked_at(utcnow())

    def public_json(self) -> dict[str, Any]:
        """The commenter as ``GET /auth/me`` shows it to themselves."""
        return {
            "id": self.public_id,
            "display_name": self.display_name,
            "email": self.email,
            "email_verified": self.email_verified,
            "website": self.website,
            "avatar_url": self.avatar_url,
            "guest": self.is_guest,
            "blocked": self.is_blocked,
        }

    def __repr__(self) -> str:
        return f"<Commenter {self.public_id} {self.display_name!r}>"


class Identity(Base):
    """One (provider, subject) a provider vouched for, owned by one commenter."""

    __tablename__ = "social_auth_identity"
    __table_args__ = (UniqueConstraint("provider", "subject", name="uq_social_auth_identity_key"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    commenter_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("social_auth_commenter.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(64))
    #: Compared exactly as issued; a collation-independent binary comparison on every backend.
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    email: Mapped[str | None] = mapped_column(String(320))
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    display_name: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX))
    username: Mapped[str | None] = mapped_column(String(USERNAME_MAX))
    profile_url: Mapped[str | None] = mapped_column(String(URL_MAX))
    avatar_url: Mapped[str | None] = mapped_column(String(URL_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    commenter: Mapped[Commenter] = relationship(back_populates="identities", lazy="raise")

    def public_json(self) -> dict[str, Any]:
        """The identity as ``GET /auth/me`` lists it."""
        return {
            "provider": self.provider,
            "subject": self.subject,
            "display_name": self.display_name,
            "username": self.username,
            "email": self.email,
            "email_verified": self.email_verified,
        }

    def __repr__(self) -> str:
        return f"<Identity {self.provider}:{self.subject}>"


class AuditEvent(Base):
    """A record of an admin action, merge, block or erasure."""

    __tablename__ = "social_auth_audit_event"
    __table_args__ = (Index("ix_social_auth_audit_event_commenter", "commenter_id", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    commenter_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("social_auth_commenter.id", ondelete="SET NULL")
    )
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UsedFlowState(Base):
    """A consumed sign-in flow id, kept until its flow would have expired anyway, so a state
    works once even when several workers share this database (``flow.SqlUsedStates``)."""

    __tablename__ = "social_auth_used_state"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class EmailLink(Base):
    """A mailed confirmation or sign-in link until it is used, replaced or expired
    (``store.email_links``). One per address: a newer link for it replaces the row. Found by
    the SHA-256 of its token; the token itself is never stored."""

    __tablename__ = "social_auth_email_link"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: Unique: the schema itself keeps one live link per address, whichever worker wrote it.
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    #: Who asked (a confirmation link), or whom it signs in to (a sign-in link).
    commenter_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("social_auth_commenter.id", ondelete="CASCADE"), index=True
    )
    session_version: Mapped[int] = mapped_column(Integer)
    #: SHA-256 of the asking browser's binding cookie; None for a sign-in link, which the
    #: mailbox owner may open in any browser.
    browser_hash: Mapped[str | None] = mapped_column(String(64))
    #: The provider the asking browser was signed in with (None: a guest or by email).
    signed_in_with: Mapped[str | None] = mapped_column(String(64))
    next_url: Mapped[str | None] = mapped_column(String(2048))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

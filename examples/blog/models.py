"""The blog's own tables: comments, keyed by the commenter's public id from Flask-Social-Auth,
and the site owner's session key."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

PENDING, APPROVED, SPAM = "pending", "approved", "spam"


class Base(DeclarativeBase):
    pass


class Comment(Base):
    __tablename__ = "blog_comment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_slug: Mapped[str] = mapped_column(String(200), index=True)
    #: ``current_commenter.public_id``: stable, opaque, shown by ``/auth/me``.
    commenter_id: Mapped[str] = mapped_column(String(32), index=True)
    #: The public id the comment was written as. ``commenter_id`` follows merges (and undone
    #: merges) of that commenter; this stays, so an undo knows which comments go back.
    original_commenter_id: Mapped[str | None] = mapped_column(String(32))
    #: Empty once the commenter erased their data: the page says "deleted commenter".
    author_name: Mapped[str] = mapped_column(String(200))
    author_website: Mapped[str | None] = mapped_column(String(500))
    avatar_url: Mapped[str | None] = mapped_column(String(1000))
    #: The provider's title ("GitHub"), or None for a guest.
    provider: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=lambda: datetime.now(UTC)
    )
    #: Why the moderator held it (``Verdict.why``), and the commenter's trust tier.
    moderation_reason: Mapped[str | None] = mapped_column(String(500))
    trust: Mapped[str | None] = mapped_column(String(32))
    #: ``Verdict.facts`` as JSON: what approve / spam report back to Akismet.
    moderation_facts: Mapped[str | None] = mapped_column(Text)


class OwnerSession(Base):
    """The site owner's current session key, one row. An owner login puts a value made from
    it into the Flask session, and every owner request checks that value; logging out replaces
    the key, so each copy of an owner cookie (another browser's, a stolen one) stops being the
    owner's at once, in every worker. The idea of the commenter's ``session_version``; random
    rather than a count, so a blog database made anew never brings an old cookie back."""

    __tablename__ = "blog_owner_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1: the one owner
    key: Mapped[str] = mapped_column(String(64))
    #: When the key was made or last replaced (the owner's last logout).
    changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=lambda: datetime.now(UTC)
    )

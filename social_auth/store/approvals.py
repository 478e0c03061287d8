"""Which commenters the site approved a comment of (table ``social_auth_approval``): what
makes a guest a regular whose comments no longer wait (``moderation.tiers``).

A row per commenter, written when the host reports an approval (``moderation.report_ham``);
a commenter merged into another brings its approvals along (the check follows
``merged_into_id`` one step, as merges point each source at its target).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, bindparam, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, Commenter, IdType, UTCDateTime, utcnow
from .store import IdentityStore


class CommentApproval(Base):
    """How many of a commenter's comments the site approved, and when last."""

    __tablename__ = "social_auth_approval"

    commenter_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("social_auth_commenter.id", ondelete="CASCADE"), primary_key=True
    )
    approved: Mapped[int] = mapped_column(Integer, default=1)
    last_approved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Approvals:
    """Record and ask approvals in ``store``'s database."""

    def __init__(self, store: IdentityStore) -> None:
        self.engine = store.engine

    def record(self, commenter_id: int) -> None:
        """One more approved comment for the commenter."""
        now = utcnow()
        table = CommentApproval
        bump = (
            update(table)
            .where(table.commenter_id == commenter_id)
            .values(approved=table.approved + 1, last_approved_at=now)
        )
        for _ in range(2):  # the insert races another worker's: then the update wins
            with self.engine.begin() as conn:
                if conn.execute(bump).rowcount:
                    return
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(table).values(
                                commenter_id=commenter_id, approved=1, last_approved_at=now
                            )
                        )
                    return
                except IntegrityError:
                    continue

    def approved_before(self, commenter_id: int) -> bool:
        """Whether the site approved a comment of the commenter, or of one merged into it."""
        with self.engine.connect() as conn:
            return bool(conn.scalar(_APPROVED_BEFORE, {"commenter_id": commenter_id}))


#: Built once, so each ask costs the query and not SQLAlchemy building it (~0.3 ms).
_APPROVED_BEFORE = select(
    exists().where(
        or_(
            CommentApproval.commenter_id == bindparam("commenter_id"),
            CommentApproval.commenter_id.in_(
                select(Commenter.id).where(Commenter.merged_into_id == bindparam("commenter_id"))
            ),
        )
    )
)

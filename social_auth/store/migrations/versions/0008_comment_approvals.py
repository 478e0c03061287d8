"""which commenters the site approved a comment of (the moderation's trust tier)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import social_auth.store.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLE = "social_auth_approval"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column(
            "commenter_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("approved", sa.Integer(), nullable=False),
        sa.Column(
            "last_approved_at", social_auth.store.models.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["commenter_id"],
            ["social_auth_commenter.id"],
            name=op.f("fk_social_auth_approval_commenter_id_social_auth_commenter"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("commenter_id", name=op.f("pk_social_auth_approval")),
    )


def downgrade() -> None:
    op.drop_table(TABLE)

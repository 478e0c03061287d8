"""mailed links, one per address, kept by the hash of their token

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import social_auth.store.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLE = "social_auth_email_link"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email_key", sa.String(length=320), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column(
            "commenter_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=True),
        sa.Column("signed_in_with", sa.String(length=64), nullable=True),
        sa.Column("next_url", sa.String(length=2048), nullable=True),
        sa.Column(
            "expires_at", social_auth.store.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["commenter_id"],
            ["social_auth_commenter.id"],
            name=op.f("fk_social_auth_email_link_commenter_id_social_auth_commenter"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_social_auth_email_link")),
        sa.UniqueConstraint("email_key", name=op.f("uq_social_auth_email_link_email_key")),
    )
    op.create_index(
        op.f("ix_social_auth_email_link_commenter_id"), TABLE, ["commenter_id"], unique=False
    )
    op.create_index(
        op.f("ix_social_auth_email_link_expires_at"), TABLE, ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_social_auth_email_link_expires_at"), table_name=TABLE)
    op.drop_index(op.f("ix_social_auth_email_link_commenter_id"), table_name=TABLE)
    op.drop_table(TABLE)

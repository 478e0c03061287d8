"""stored avatars (pictures and where each commenter's came from) and provider health

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import social_auth.store.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when() -> social_auth.store.models.UTCDateTime:
    return social_auth.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "social_auth_avatar",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("mime", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("key", "size", name=op.f("pk_social_auth_avatar")),
    )
    op.create_table(
        "social_auth_avatar_source",
        sa.Column("commenter_id", ID, nullable=False),
        sa.Column("source_url", sa.String(length=1000), nullable=True),
        sa.Column("fetched_at", _when(), nullable=True),
        sa.Column("failed_at", _when(), nullable=True),
        sa.Column("failure", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["commenter_id"], ["social_auth_commenter.id"],
            name=op.f("fk_social_auth_avatar_source_commenter_id_social_auth_commenter"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("commenter_id", name=op.f("pk_social_auth_avatar_source")),
    )
    op.create_table(
        "social_auth_health_count",
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("provider", "bucket", "metric",
                                name=op.f("pk_social_auth_health_count")),
    )
    op.create_table(
        "social_auth_health_status",
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_error_at", _when(), nullable=True),
        sa.Column("last_ok_at", _when(), nullable=True),
        sa.Column("failing_since", _when(), nullable=True),
        sa.PrimaryKeyConstraint("provider", name=op.f("pk_social_auth_health_status")),
    )


def downgrade() -> None:
    for table in ("social_auth_health_status", "social_auth_health_count",
                  "social_auth_avatar_source", "social_auth_avatar"):
        op.drop_table(table)

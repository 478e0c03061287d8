"""index commenters by the commenter they were merged into

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_social_auth_commenter_merged_into_id"),
        "social_auth_commenter",
        ["merged_into_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_social_auth_commenter_merged_into_id"), table_name="social_auth_commenter")

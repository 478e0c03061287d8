"""consumed sign-in flow ids (replay guard shared by workers)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "social_auth_used_state",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_social_auth_used_state")),
    )
    op.create_index(
        op.f("ix_social_auth_used_state_expires_at"),
        "social_auth_used_state",
        ["expires_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_social_auth_used_state_expires_at"), table_name="social_auth_used_state")
    op.drop_table("social_auth_used_state")

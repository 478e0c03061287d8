"""our client registrations at Mastodon servers, one per server (handle sign-in)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import social_auth.store.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLE = "social_auth_mastodon_app"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("server", sa.String(length=255), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("client_secret", sa.String(length=255), nullable=False),
        sa.Column("scopes", sa.String(length=255), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2048), nullable=False),
        sa.Column(
            "created_at", social_auth.store.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", social_auth.store.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("server", name=op.f("pk_social_auth_mastodon_app")),
    )


def downgrade() -> None:
    op.drop_table(TABLE)

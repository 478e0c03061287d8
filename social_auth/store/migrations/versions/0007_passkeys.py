"""passkeys: WebAuthn credentials of commenters, and each commenter's count of them

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import social_auth.store.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE = "social_auth_passkey"
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("credential_id", sa.String(length=1366), nullable=False),
        sa.Column("commenter_id", ID, nullable=False),
        sa.Column("user_handle", sa.String(length=128), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("transports", sa.JSON(), nullable=False),
        sa.Column("aaguid", sa.String(length=36), nullable=False),
        sa.Column("backed_up", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", social_auth.store.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_used_at", social_auth.store.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["commenter_id"],
            ["social_auth_commenter.id"],
            name=op.f("fk_social_auth_passkey_commenter_id_social_auth_commenter"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_auth_passkey")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_social_auth_passkey_credential_id")),
    )
    op.create_index(
        op.f("ix_social_auth_passkey_commenter_id"), TABLE, ["commenter_id"], unique=False
    )
    with op.batch_alter_table("social_auth_commenter") as batch:
        batch.add_column(
            sa.Column("passkey_count", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("social_auth_commenter") as batch:
        batch.drop_column("passkey_count")
    op.drop_index(op.f("ix_social_auth_passkey_commenter_id"), table_name=TABLE)
    op.drop_table(TABLE)

"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import social_auth.store.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "social_auth_commenter",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_key", sa.String(length=320), nullable=True),
        sa.Column(
            "email_verified_at", social_auth.store.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("avatar_url", sa.String(length=1000), nullable=True),
        sa.Column(
            "created_at", social_auth.store.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_seen_at", social_auth.store.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("blocked_at", social_auth.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "blocked_until", social_auth.store.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column(
            "merged_into_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("erased_at", social_auth.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["social_auth_commenter.id"],
            name=op.f("fk_social_auth_commenter_merged_into_id_social_auth_commenter"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_auth_commenter")),
        sa.UniqueConstraint("public_id", name=op.f("uq_social_auth_commenter_public_id")),
    )
    with op.batch_alter_table("social_auth_commenter", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_social_auth_commenter_email_key"), ["email_key"], unique=False
        )

    op.create_table(
        "social_auth_audit_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column(
            "commenter_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", social_auth.store.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["commenter_id"],
            ["social_auth_commenter.id"],
            name=op.f("fk_social_auth_audit_event_commenter_id_social_auth_commenter"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_auth_audit_event")),
    )
    with op.batch_alter_table("social_auth_audit_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_social_auth_audit_event_commenter", ["commenter_id", "id"], unique=False
        )

    op.create_table(
        "social_auth_identity",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "commenter_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_verified", sa.Boolean(), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("username", sa.String(length=200), nullable=True),
        sa.Column("profile_url", sa.String(length=1000), nullable=True),
        sa.Column("avatar_url", sa.String(length=1000), nullable=True),
        sa.Column(
            "created_at", social_auth.store.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_sign_in_at", social_auth.store.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["commenter_id"],
            ["social_auth_commenter.id"],
            name=op.f("fk_social_auth_identity_commenter_id_social_auth_commenter"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_auth_identity")),
        sa.UniqueConstraint("provider", "subject", name="uq_social_auth_identity_key"),
    )
    with op.batch_alter_table("social_auth_identity", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_social_auth_identity_commenter_id"), ["commenter_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("social_auth_identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_social_auth_identity_commenter_id"))

    op.drop_table("social_auth_identity")
    with op.batch_alter_table("social_auth_audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_social_auth_audit_event_commenter")

    op.drop_table("social_auth_audit_event")
    with op.batch_alter_table("social_auth_commenter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_social_auth_commenter_email_key"))

    op.drop_table("social_auth_commenter")

"""Alembic environment: runs on the connection the store hands over, never on a URL of its own."""

from __future__ import annotations

from alembic import context

from social_auth.store.base import VERSION_TABLE
from social_auth.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations with `flask social-auth db upgrade` or IdentityStore.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

"""The shipped migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from social_auth.store import Base, IdentityStore
from social_auth.store.base import VERSION_TABLE


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_migrated_schema_matches_the_models(request: pytest.FixtureRequest, backend: str):
    store: IdentityStore = request.getfixturevalue(f"{backend}_store")
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent_and_uses_its_own_version_table(tmp_path):
    store = IdentityStore.from_url(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    store.upgrade_schema()
    store.upgrade_schema()
    tables = set(inspect(store.engine).get_table_names())
    assert VERSION_TABLE in tables and "alembic_version" not in tables
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    store.engine.dispose()

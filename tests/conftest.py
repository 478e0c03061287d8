"""Shared fixtures: the identity store on SQLite and on PostgreSQL, each run in its own schema;
the apps, flow settings and local GitHub several test homes use; one Chromium."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, text

from social_auth.flow import FlowSettings, MemoryUsedStates
from social_auth.store import Base, IdentityStore
from tests.apps import make_blog, make_full_blog
from tests.webapp import make_app

if TYPE_CHECKING:
    from tests.issuers import CountingIssuer
    from tests.providers.servers import FakeProvider

POSTGRES_URL = os.environ.get(
    "SOCIAL_AUTH_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def missing_part(reason: str) -> None:
    """Skip for a developer without the part; fail under CI, where every part must be there."""
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and a required part is missing: {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def postgres_schema(prefix: str) -> Iterator[tuple[str, Engine]]:
    """A new empty schema on the test PostgreSQL and an engine outside it (for checks), both
    gone afterwards; ``missing_part`` when the server cannot be reached."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # any failure to reach the server means "no PostgreSQL here"
        admin.dispose()
        missing_part(f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc.__class__.__name__}")
    try:
        yield schema, admin
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _postgres_store() -> Iterator[IdentityStore]:
    with postgres_schema("sa_test") as (schema, _admin):
        store = IdentityStore.from_url(
            POSTGRES_URL,
            connect_args={"options": f"-csearch_path={schema}"},
            pool_size=20,
            max_overflow=10,
        )
        try:
            store.upgrade_schema()
            yield store
        finally:
            store.engine.dispose()


def _sqlite_store(path: Path) -> Iterator[IdentityStore]:
    store = IdentityStore.from_url(f"sqlite:///{path / 'store.sqlite3'}")
    store.upgrade_schema()
    yield store
    store.engine.dispose()


@pytest.fixture(scope="session")
def postgres_store() -> Iterator[IdentityStore]:
    yield from _postgres_store()


@pytest.fixture(scope="session")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityStore]:
    yield from _sqlite_store(tmp_path_factory.mktemp("sqlite"))


def empty_tables(store: IdentityStore) -> None:
    with store.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def db(sqlite_store: IdentityStore) -> Iterator[IdentityStore]:
    """The SQLite identity store, empty before and after each test."""
    empty_tables(sqlite_store)
    yield sqlite_store
    empty_tables(sqlite_store)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[IdentityStore]:
    """A migrated, empty identity store on each backend."""
    chosen: IdentityStore = request.getfixturevalue(f"{request.param}_store")
    empty_tables(chosen)
    yield chosen
    empty_tables(chosen)


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    """The minimal host app of ``tests/webapp.py``."""
    return make_app(tmp_path)


@pytest.fixture
def blog(tmp_path: Path) -> Flask:
    return make_blog(tmp_path)


@pytest.fixture
def full_blog(tmp_path: Path) -> Flask:
    return make_full_blog(tmp_path)


FLOW_SECRET = "test-secret-key"


@pytest.fixture
def settings() -> FlowSettings:
    """Flow settings with a replay guard in memory."""
    return FlowSettings(secret_key=FLOW_SECRET, used_states=MemoryUsedStates())


@pytest.fixture
def github() -> Iterator[FakeProvider]:
    """A local GitHub."""
    from tests.providers.conftest import make_fake  # here: no import cycle

    with make_fake("github").running() as fake:
        yield fake


@pytest.fixture
def issuer() -> Iterator[CountingIssuer]:
    """A local OpenID issuer that counts which of its endpoints were called (to prove a
    refused token went no further)."""
    from tests.issuers import CountingIssuer, google_like_claims  # here: no import cycle

    fake = CountingIssuer(
        id_token_claims=google_like_claims(),
        userinfo={"sub": "110169484474386276334", "name": "From Userinfo"},
    )
    with fake.running():
        yield fake


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for every browser test of the session (Playwright's sync API allows one
    instance per thread): tests/browser and tests/security both drive it."""
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # here: no import cycle

    if not os.access(CHROMIUM, os.X_OK):
        missing_part(f"Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()

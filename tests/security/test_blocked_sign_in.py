"""A blocked commenter signing in, on SQLite and PostgreSQL: refused with a 403, given no session,
linked to nothing, and nothing written to the commenter, identity or audit tables (the flow
state is consumed, as for every callback). The decision is taken inside the sign-in's own write
(``IdentityStore.sign_in``), by linking before a link by email, and before an identity stranded
on a tombstone moves to a blocked live commenter."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text, update

from social_auth import Capabilities, CommenterBlocked, Profile, get_state
from social_auth.linking import LinkingPolicy, resolve
from social_auth.store import AuditEvent, Commenter, Identity, IdentityStore
from social_auth.store.models import utcnow
from social_auth.testing import make_commenter
from tests.conftest import POSTGRES_URL, postgres_schema
from tests.providers.conftest import make_fake, make_provider
from tests.providers.servers import consent
from tests.providers.signin_app import (
    BASE,
    callback,
    client_for,
    counts,
    page_draft,
    sets_session,
    signin_app,
    start,
)

CAPABILITIES = {"google": Capabilities(returns_email=True, email_verified="claim")}
LINKING = LinkingPolicy(link_by_verified_email=True, capabilities=CAPABILITIES)
DEFAULT = LinkingPolicy(link_by_verified_email=False, capabilities=CAPABILITIES)
EMAIL = "blocked@example.com"
REFUSED = "This account is blocked from commenting on this site."


def google(subject: str = "g-blocked", **fields: Any) -> Profile:
    values: dict[str, Any] = {"display_name": "Blocked Person", "email": EMAIL}
    values.update(fields)
    return Profile("google", subject, **values)


def snapshot(store: IdentityStore) -> tuple[list[Any], list[Any], int]:
    """Every commenter and identity row, column by column, and the number of audit events."""
    with store.session() as s:
        commenters = [tuple(r) for r in s.execute(select(*_columns(Commenter)).order_by("id"))]
        identities = [tuple(r) for r in s.execute(select(*_columns(Identity)).order_by("id"))]
        events = len(list(s.scalars(select(AuditEvent.id))))
    return commenters, identities, events


def _columns(model: Any) -> list[Any]:
    return list(model.__table__.c)


def blocked_commenter(store: IdentityStore, **profile: Any) -> Commenter:
    commenter = store.sign_in(google(**profile)).commenter
    return store.block(commenter, actor="test")


# -- the store and linking, on both backends ---------------------------------------------------


def test_a_blocked_owners_sign_in_is_refused_with_nothing_written(store: IdentityStore):
    blocked_commenter(store)
    before = snapshot(store)
    # A new name and avatar from the provider would be stored by an ordinary sign-in.
    changed = google(display_name="New Name", avatar_url="https://avatars.example/new.png")
    with pytest.raises(CommenterBlocked, match="blocked"):
        store.sign_in(changed)
    with pytest.raises(CommenterBlocked):
        resolve(changed, None, store, DEFAULT)
    assert snapshot(store) == before


def test_a_lapsed_block_no_longer_refuses_and_the_sign_in_is_recorded(store: IdentityStore):
    commenter = store.sign_in(google()).commenter
    store.block(commenter, until=utcnow() - timedelta(seconds=1), actor="test")
    again = store.sign_in(google(display_name="New Name"))
    assert again.commenter.id == commenter.id and not again.commenter.is_blocked
    assert again.identity.display_name == "New Name"


def test_a_block_until_later_refuses(store: IdentityStore):
    commenter = store.sign_in(google()).commenter
    store.block(commenter, until=utcnow() + timedelta(hours=1), actor="test")
    before = snapshot(store)
    with pytest.raises(CommenterBlocked):
        store.sign_in(google())
    assert snapshot(store) == before


def test_other_commenters_still_sign_in_next_to_a_blocked_one(store: IdentityStore):
    blocked_commenter(store)
    other = store.sign_in(google("g-other", email="other@example.com"))
    assert other.created and not other.commenter.is_blocked
    again = store.sign_in(google("g-other", email="other@example.com"))
    assert not again.created and again.commenter.id == other.commenter.id


def test_a_link_by_email_to_a_blocked_commenter_links_nothing(store: IdentityStore):
    target = blocked_commenter(store, email_verified=True)
    assert target.email_verified
    before = snapshot(store)
    newcomer = Profile("google", "g-newcomer", "Newcomer", EMAIL, True)
    with pytest.raises(CommenterBlocked, match="blocked"):
        resolve(newcomer, None, store, LINKING)
    assert snapshot(store) == before
    assert store.find_identity("google", "g-newcomer") is None


def test_the_store_refuses_a_link_to_a_blocked_commenter_under_its_lock(store: IdentityStore):
    # What a block landing between linking's look-up and its link meets.
    target = blocked_commenter(store, email_verified=True)
    before = snapshot(store)
    with pytest.raises(CommenterBlocked):
        store.link(target, google("g-newcomer"), actor="test", unless_blocked=True)
    assert snapshot(store) == before
    # Without ``unless_blocked`` (an admin's decision) it still links.
    store.link(target, google("g-newcomer"), actor="admin:test")
    assert store.find_identity("google", "g-newcomer") is not None


def test_an_identity_stranded_on_a_tombstone_does_not_move_to_a_blocked_commenter(
    store: IdentityStore,
):
    source = store.sign_in(google("g-source", email="source@example.com")).commenter
    target = store.sign_in(google("g-target", email="target@example.com")).commenter
    store.merge(source, target, actor="test")
    # A row left behind on the tombstone (by hand, or by an older version).
    identity = store.find_identity("google", "g-source")
    assert identity is not None
    with store.session() as s, s.begin():
        s.execute(update(Identity).where(Identity.id == identity.id)
                  .values(commenter_id=source.id))
    live = store.get(target.id)
    assert live is not None
    store.block(live, actor="test")
    with pytest.raises(CommenterBlocked):
        resolve(google("g-source", email="source@example.com"), None, store, DEFAULT)
    moved = store.find_identity("google", "g-source")
    assert moved is not None and moved.commenter_id == source.id


def test_connecting_an_account_to_a_commenter_blocked_meanwhile_links_nothing(
    store: IdentityStore,
):
    # The session was checked at the start of the request; the block landed after it.
    current = store.sign_in(google()).commenter
    store.block(current, actor="test")
    before = snapshot(store)
    with pytest.raises(CommenterBlocked):
        resolve(Profile("github", "gh-1", "Octo"), current, store, DEFAULT)
    assert snapshot(store) == before


@pytest.mark.postgres
def test_postgres_a_block_committed_during_the_sign_in_statement_still_refuses(
    postgres_store: IdentityStore,
):
    """The documented exception: the statement's snapshot saw no block, so its refresh of the
    identity and ``last_seen_at`` is written; the sign-in is refused all the same."""
    store = postgres_store
    commenter = store.sign_in(google(subject=f"g-{uuid.uuid4().hex[:8]}")).commenter
    subject = commenter.identities[0].subject
    outcome: list[Any] = []
    with store.engine.connect() as blocker:
        blocker_pid = blocker.execute(text("SELECT pg_backend_pid()")).scalar()
        blocker.execute(
            update(Commenter).where(Commenter.id == commenter.id)
            .values(blocked_at=utcnow(), session_version=Commenter.session_version + 1)
        )  # holds the row lock until the commit below

        def sign_in() -> None:
            try:
                outcome.append(store.sign_in(google(subject=subject)))
            except Exception as exc:  # the test inspects whatever happened
                outcome.append(exc)

        thread = threading.Thread(target=sign_in)
        thread.start()
        _wait_until_blocked_by(store, blocker_pid)
        blocker.commit()
        thread.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], CommenterBlocked), outcome


def _wait_until_blocked_by(store: IdentityStore, pid: Any) -> None:
    deadline = time.monotonic() + 10
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE CAST(:pid AS integer) = ANY(pg_blocking_pids(pid))"
    )
    with store.engine.connect() as conn:
        while time.monotonic() < deadline:
            if conn.execute(query, {"pid": pid}).scalar():
                return
            conn.rollback()
            time.sleep(0.02)
    pytest.fail("the sign-in never waited for the blocker's row lock")


# -- the routes, on both backends -------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The app's store settings: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield {"SOCIAL_AUTH_DATABASE_URI": f"sqlite:///{tmp_path / 'auth.sqlite3'}"}
        return
    with postgres_schema("sa_block") as (schema, _admin):
        yield {
            "SOCIAL_AUTH_DATABASE_URI": POSTGRES_URL,
            "SOCIAL_AUTH_DATABASE_ENGINE_OPTIONS": {
                "connect_args": {"options": f"-csearch_path={schema}"}
            },
        }


def _app(
    tmp_path: Path, fake: Any, adapter: str, database: dict[str, Any], **config: Any
) -> Flask:
    settings = make_provider(adapter, fake).settings
    return signin_app(tmp_path, {adapter: settings}, **database, **config)


@pytest.mark.parametrize("popup", [False, True], ids=["page", "popup"])
def test_route_a_blocked_commenter_is_refused_and_nothing_is_written(
    tmp_path: Path, database: dict[str, Any], popup: bool
):
    with make_fake("github").running() as fake:
        app = _app(tmp_path, fake, "github", database)
        try:
            store = get_state(app).store
            blocked = make_commenter(app, provider="github", subject="583231")  # the payload's
            store.block(blocked, actor="test")
            before = snapshot(store)
            client = client_for(app)
            started = start(client, "github", popup=popup)
            answer = callback(client, "github", consent(started.headers["Location"]))
            body = answer.get_data(as_text=True)
            assert answer.status_code == 403 and REFUSED in body
            assert not sets_session(answer)
            assert snapshot(store) == before
            me = client.get("/auth/me", base_url=BASE).json
            assert me is not None and me["authenticated"] is False
            if popup:
                assert '"status": "error"' in body
            else:
                assert page_draft(client) == "My half-written comment"
        finally:
            get_state(app).store.engine.dispose()


def test_route_a_sign_in_that_would_link_by_email_to_a_blocked_commenter_writes_nothing(
    tmp_path: Path, database: dict[str, Any]
):
    with make_fake("google").running() as fake:
        app = _app(tmp_path, fake, "google", database, SOCIAL_AUTH_LINK_BY_VERIFIED_EMAIL=True)
        try:
            store = get_state(app).store
            email = fake.id_token_claims["email"]  # type: ignore[index]
            blocked = make_commenter(
                app, provider="google", subject="someone-else", email=email, email_verified=True
            )
            store.block(blocked, actor="test")
            before = snapshot(store)
            client = client_for(app)
            started = start(client, "google")
            answer = callback(client, "google", consent(started.headers["Location"]))
            assert answer.status_code == 403 and REFUSED in answer.get_data(as_text=True)
            assert not sets_session(answer)
            assert snapshot(store) == before and counts(app) == (1, 1)
        finally:
            get_state(app).store.engine.dispose()

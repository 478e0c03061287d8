"""What ``sign_in`` hands back is what a Session would have: detached, complete, consistent."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event, inspect

from social_auth import Profile
from social_auth.store import IdentityStore
from social_auth.store.connections import ThreadConnections


def google(subject: str = "1", **changes: object) -> Profile:
    fields: dict[str, object] = {
        "display_name": "Jane Doe",
        "email": "jane@example.com",
        "email_verified": True,
        "avatar_url": "https://lh3.example/a.png",
    }
    fields.update(changes)
    return Profile("google", subject, **fields)  # type: ignore[arg-type]


def test_a_new_sign_in_returns_detached_complete_objects(store: IdentityStore):
    commenter, identity, created = store.sign_in(google())
    assert created is True
    assert inspect(commenter).detached and inspect(identity).detached
    assert not inspect(commenter).expired_attributes
    assert commenter.public_id and commenter.session_version == 1
    assert commenter.created_at is not None and commenter.created_at.tzinfo is not None
    assert commenter.identities == [identity]
    assert identity.commenter_id == commenter.id and identity.created_at is not None
    assert store.get(commenter.id).public_id == commenter.public_id  # type: ignore[union-attr]


def test_a_returning_sign_in_loads_every_identity_and_picks_the_one_used(store: IdentityStore):
    jane = store.sign_in(google()).commenter
    store.link(jane, Profile("github", "583231", "octocat"))
    again = store.sign_in(google(display_name="Jane Q."))
    assert again.created is False
    assert inspect(again.commenter).detached
    assert [(i.provider, i.subject) for i in again.commenter.identities] == [
        ("google", "1"),
        ("github", "583231"),
    ]
    assert again.identity is again.commenter.identities[0]
    assert again.identity.display_name == "Jane Q."
    assert again.commenter.last_seen_at is not None
    assert again.commenter.last_seen_at >= jane.last_seen_at  # type: ignore[operator]


def test_returned_objects_can_be_merged_into_a_session_without_reinserting(
    store: IdentityStore,
):
    commenter, _, _ = store.sign_in(google())
    with store.session() as s:
        merged = s.merge(commenter, load=False)
        assert merged.id == commenter.id
        assert not s.new


# -- SQLite: the thread's own connections ------------------------------------------------------


def test_sqlite_own_connections_follow_the_engines_settings_and_its_dispose(tmp_path):
    store = IdentityStore.from_url(f"sqlite:///{tmp_path / 'own.sqlite3'}")
    store.upgrade_schema()
    try:
        connections = ThreadConnections(store.engine)
        first = connections.get()
        assert connections.get() is first
        # The engine's pragmas; and no durability setting of its own.
        assert first.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert first.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert first.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL, SQLite's default
        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(connections.get).result() is not first  # one per thread

        @event.listens_for(store.engine, "connect")
        def on_connect(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA cache_size=-4321")

        store.engine.dispose()  # as after a fork, or to apply new connect-time settings
        second = connections.get()
        assert second is not first
        assert second.execute("PRAGMA cache_size").fetchone()[0] == -4321
        with pytest.raises(Exception, match="closed"):
            first.execute("SELECT 1")
        # Sign-ins go through them, in a transaction of their own.
        signed = store.sign_in(google())
        assert store.sign_in(google()).commenter.id == signed.commenter.id
    finally:
        store.engine.dispose()

"""Revocation across workers: two app instances sharing PostgreSQL and Redis, each caching the
commenters its requests loaded; what one does is seen by the other on its very next request."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from social_auth import Profile, get_state
from social_auth.revocation import CommenterCache
from social_auth.session import SESSION_COOKIE
from social_auth.store import Commenter, IdentityStore
from social_auth.testing import csrf_headers, make_commenter, session_cookie
from tests.conftest import POSTGRES_URL, missing_part, postgres_schema
from tests.webapp import make_app

REDIS_URL = os.environ.get("SOCIAL_AUTH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Config for apps sharing one PostgreSQL schema and Redis, as gunicorn workers would."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        missing_part(f"Redis at {REDIS_URL} is unreachable: {exc.__class__.__name__}")
    with postgres_schema("sa_rev") as (schema, _admin):
        config = {
            "SOCIAL_AUTH_DATABASE_URI": POSTGRES_URL,
            "SOCIAL_AUTH_DATABASE_ENGINE_OPTIONS": {
                "connect_args": {"options": f"-csearch_path={schema}"}
            },
            "SOCIAL_AUTH_REDIS_URL": REDIS_URL,
        }
        apps: list[Flask] = []
        try:
            yield {"config": config, "apps": apps}
        finally:
            for app in apps:
                get_state(app).store.engine.dispose()


def worker(shared: dict[str, Any], tmp_path: Path, name: str) -> Flask:
    folder = tmp_path / name
    folder.mkdir()
    app = make_app(folder, **shared["config"])
    shared["apps"].append(app)
    return app


def whoami(client: FlaskClient) -> str:
    return client.get("/whoami").get_data(as_text=True)


@pytest.fixture
def two(shared: dict[str, Any], tmp_path: Path) -> tuple[Flask, Flask]:
    return worker(shared, tmp_path, "one"), worker(shared, tmp_path, "two")


def signed_in(app: Flask, commenter: Commenter) -> FlaskClient:
    client = app.test_client()
    name, value = session_cookie(app, commenter, provider="fakebook")
    client.set_cookie(name, value)
    return client


def cached_in(app: Flask, commenter: Commenter) -> FlaskClient:
    """A client of ``app`` signed in as ``commenter``, whose worker now caches it."""
    client = signed_in(app, commenter)
    assert whoami(client) == commenter.public_id
    assert whoami(client) == commenter.public_id  # the second one served from the cache
    return client


@pytest.mark.postgres
def test_a_sign_out_in_one_worker_is_anonymous_in_the_other_on_its_next_request(two):
    one, other = two
    commenter = make_commenter(one, provider="fakebook")
    stolen_copy = cached_in(other, commenter)
    client = signed_in(one, commenter)
    assert client.post("/auth/logout", headers=csrf_headers(client)).status_code == 302
    assert whoami(stolen_copy) == "anonymous"


@pytest.mark.postgres
@pytest.mark.parametrize("action", ["block", "erase", "merge", "bump_session_version"])
def test_a_block_erase_or_merge_in_one_worker_is_anonymous_in_the_other(two, action):
    one, other = two
    commenter = make_commenter(one, provider="fakebook")
    client = cached_in(other, commenter)
    store = get_state(one).store
    if action == "merge":
        store.merge(commenter, make_commenter(one, provider="fakebook"))
    elif action == "block":
        store.block(commenter, datetime.now(UTC) + timedelta(days=1))
    else:
        getattr(store, action)(commenter)
    assert whoami(client) == "anonymous"


@pytest.mark.postgres
def test_a_new_identity_and_a_new_name_show_in_the_other_worker_at_once(two):
    one, other = two
    commenter = make_commenter(one, provider="fakebook", display_name="Before")
    client = cached_in(other, commenter)
    store = get_state(one).store
    store.link(commenter, Profile(provider="letterbox", subject="s-1", display_name="L"))
    with store.session() as s, s.begin():  # host code writing through the store's session
        row = s.get_one(Commenter, commenter.id)
        row.display_name = "After"
    me = client.get("/auth/me").json
    assert me is not None
    assert me["commenter"]["display_name"] == "After"
    assert {i["provider"] for i in me["identities"]} == {"fakebook", "letterbox"}


@pytest.mark.postgres
def test_a_cli_style_process_revokes_through_its_own_app(two, shared, tmp_path):
    one, other = two
    commenter = make_commenter(one, provider="fakebook")
    client = cached_in(other, commenter)
    third = worker(shared, tmp_path, "cli")  # `flask social-auth block` builds an app too
    get_state(third).store.block(commenter)
    assert whoami(client) == "anonymous"
    assert whoami(cached_in(one, make_commenter(one, provider="fakebook"))) != "anonymous"


@pytest.mark.postgres
def test_a_cookie_older_than_a_sign_in_elsewhere_still_works_but_not_one_signed_out(two):
    """Signing in anywhere does not revoke other sessions; signing out does, everywhere."""
    one, other = two
    commenter = make_commenter(one, provider="fakebook")
    first = cached_in(other, commenter)
    get_state(one).store.sign_in(
        Profile(provider="fakebook", subject=commenter.identities[0].subject, display_name="N")
    )
    assert whoami(first) == commenter.public_id
    get_state(one).store.bump_session_version(commenter)
    assert whoami(first) == "anonymous"
    assert first.get_cookie(SESSION_COOKIE) is None


# -- the GET sent as a request arrives (``session.AskEarly``) --------------------------------


def with_probe(app: Flask) -> Flask:
    """Adds ``/probe``: whether this request's generation GET was sent before the view ran,
    then who the commenter is."""
    from flask import request

    from social_auth.session import ENVIRON_ASKED, current_commenter

    @app.get("/probe")
    def probe() -> str:
        asked = request.environ.get(ENVIRON_ASKED)
        who = current_commenter.public_id if current_commenter else "anonymous"
        return f"early:{asked[0]} {who}" if asked else f"late {who}"

    return app


@pytest.mark.postgres
def test_pages_that_look_at_the_commenter_ask_redis_as_the_request_arrives(two):
    one, other = two
    with_probe(other)
    commenter = make_commenter(one, provider="fakebook")
    client = signed_in(other, commenter)
    assert client.get("/probe").get_data(as_text=True) == f"late {commenter.public_id}"
    early = f"early:{commenter.id}"
    assert client.get("/probe").get_data(as_text=True) == f"{early} {commenter.public_id}"
    get_state(one).store.bump_session_version(commenter)  # signed out by the other worker
    assert client.get("/probe").get_data(as_text=True) == f"{early} anonymous"


@pytest.mark.postgres
def test_a_page_that_does_not_look_at_the_commenter_costs_redis_nothing(two):
    from social_auth.session import ENVIRON_ASKED

    one, other = two
    asked: list[bool] = []

    @other.get("/plain")
    def plain() -> str:
        from flask import request

        asked.append(ENVIRON_ASKED in request.environ)
        return "plain"

    client = cached_in(other, make_commenter(one, provider="fakebook"))
    for _ in range(3):
        client.get("/plain")
    assert asked == [False, False, False]


@pytest.mark.postgres
def test_an_early_get_for_a_decoy_cookie_is_not_taken_for_the_real_one(two):
    one, other = two
    with_probe(other)
    decoy, victim = (make_commenter(one, provider="fakebook") for _ in range(2))
    decoy_value = session_cookie(other, decoy, provider="fakebook")[1]
    cached_in(other, decoy)
    assert whoami(cached_in(other, victim)) == victim.public_id
    # The early GET finds the first "social_auth_session=" in the header: the decoy's.
    victim_value = session_cookie(other, victim, provider="fakebook")[1]
    header = f"x{SESSION_COOKIE}={decoy_value}; {SESSION_COOKIE}={victim_value}"
    browser = other.test_client(use_cookies=False)
    probe = browser.get("/probe", headers={"Cookie": header}).get_data(as_text=True)
    assert probe == f"late {victim.public_id}"  # the first look at /probe: not asked early
    probe = browser.get("/probe", headers={"Cookie": header}).get_data(as_text=True)
    assert probe == f"early:{decoy.id} {victim.public_id}"
    get_state(one).store.bump_session_version(victim)
    probe = browser.get("/probe", headers={"Cookie": header}).get_data(as_text=True)
    assert probe == f"early:{decoy.id} anonymous"


# -- the cache itself, without Redis --------------------------------------------------------


class FlakyGenerations:
    def __init__(self) -> None:
        self.tokens: dict[int, bytes] = {}
        self.down = False

    def ask(self, commenter_id: int) -> int:
        if self.down:
            raise ConnectionError("redis is down")
        return 0

    def current(self, commenter_id: int, ticket: int | None = None) -> bytes | None:
        if self.down:
            raise ConnectionError("redis is down")
        return self.tokens.get(commenter_id)

    def bump(self, commenter_ids: Any) -> None:
        if self.down:
            raise ConnectionError("redis is down")
        for cid in commenter_ids:
            self.tokens[cid] = uuid.uuid4().bytes


def loader(versions: dict[int, int]) -> Any:
    def load(cid: int) -> Any:
        versions[cid] = versions.get(cid, 0) + 1
        return Commenter(id=cid, session_version=versions[cid])

    return load


def test_the_cache_reloads_after_a_bump_and_only_then():
    generations = FlakyGenerations()
    cache = CommenterCache(generations, errors=(ConnectionError,))
    loads: dict[int, int] = {}
    assert cache.get(1, loader(loads)).session_version == 1  # type: ignore[union-attr]
    assert cache.get(1, loader(loads)).session_version == 1  # type: ignore[union-attr]
    generations.bump([1])  # another worker's change
    assert cache.get(1, loader(loads)).session_version == 2  # type: ignore[union-attr]
    assert loads == {1: 2}


def test_with_redis_down_the_database_decides_and_nothing_cached_before_is_trusted_after():
    generations = FlakyGenerations()
    cache = CommenterCache(generations, errors=(ConnectionError,))
    loads: dict[int, int] = {}
    cache.get(1, loader(loads))
    generations.down = True
    assert cache.get(1, loader(loads)).session_version == 2  # type: ignore[union-attr]
    with pytest.raises(ConnectionError):
        cache.changed(frozenset({1}))  # a write while Redis is down fails loudly
    generations.down = False
    assert cache.get(1, loader(loads)).session_version == 3  # type: ignore[union-attr]


def test_a_cached_commenter_is_dropped_after_max_age():
    generations = FlakyGenerations()
    cache = CommenterCache(generations, max_age=0.0)
    loads: dict[int, int] = {}
    cache.get(1, loader(loads))
    cache.get(1, loader(loads))
    assert loads == {1: 2}


# -- the store tells its listeners about every committed change ------------------------------


def profile(subject: str, provider: str = "fakebook") -> Profile:
    return Profile(provider=provider, subject=subject, display_name=subject)


def test_every_write_of_the_store_notifies_the_commenters_it_changed(store: IdentityStore):
    heard: list[frozenset[int]] = []
    store.add_change_listener(heard.append)
    ann = store.sign_in(profile("ann")).commenter
    bob = store.sign_in(profile("bob")).commenter
    heard.clear()

    def after(call: Any) -> set[int]:
        heard.clear()
        call()
        return set().union(*heard)

    assert after(lambda: store.sign_in(profile("ann"))) == {ann.id}
    linked: list[Any] = []
    assert after(lambda: linked.append(store.link(ann, profile("a2", "letterbox")))) == {ann.id}
    assert after(lambda: store.move_identity(linked[0], bob, actor="admin")) == {ann.id, bob.id}
    moved = store.get_identity(linked[0].id)
    assert after(lambda: store.unlink(moved)) == {bob.id}  # type: ignore[arg-type]
    assert after(lambda: store.mark_email_verified(ann, "ann@example.com")) == {ann.id}
    assert after(lambda: store.block(ann)) == {ann.id}
    assert after(lambda: store.unblock(ann)) == {ann.id}
    assert after(lambda: store.bump_session_version(ann)) == {ann.id}
    assert after(lambda: store.merge(ann, bob)) == {ann.id, bob.id}
    assert after(lambda: store.undo_last_merge(bob)) == {ann.id, bob.id}
    assert after(lambda: store.erase(ann)) == {ann.id}
    guest = store.create_guest("Gus", "gus@example.com")
    assert after(lambda: store.update_guest(guest, "Gus", None, None, None)) == {guest.id}


def test_a_rolled_back_write_notifies_nobody(store: IdentityStore):
    heard: list[frozenset[int]] = []
    ann = store.sign_in(profile("ann")).commenter
    store.add_change_listener(heard.append)
    with pytest.raises(RuntimeError), store.session() as s, s.begin():
        s.get_one(Commenter, ann.id).display_name = "Changed"
        s.flush()
        raise RuntimeError("abandon")
    assert heard == []

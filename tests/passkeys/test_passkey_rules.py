"""The passkey rules without a browser: CSRF on every route, clear 4xx answers for bad input,
no passkeys on an IP address, the sign-count rule, and passkeys as a way to sign in that moves
on merge (and back on undo), goes on erase and is revoked on block."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from benchmarks.bench_passkeys import SoftAuthenticator
from social_auth import get_state
from social_auth.errors import LastSignInMethod
from social_auth.passkeys import check_sign_count, relying_party
from social_auth.store import Commenter, IdentityStore, Passkey
from social_auth.testing import csrf_headers, make_commenter, sign_in_client
from tests.webapp import make_app

JSON_ONLY = {"Accept": "application/json"}
ROUTES = [
    "/auth/passkeys/register/options",
    "/auth/passkeys/register",
    "/auth/passkeys/login/options",
    "/auth/passkeys/login",
    "/auth/passkeys/1/rename",
    "/auth/passkeys/1/remove",
]


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path)


def give_passkey(store: IdentityStore, commenter: Commenter, name: str = "Laptop") -> Passkey:
    row = Passkey(
        credential_id=secrets.token_urlsafe(16),
        user_handle=secrets.token_urlsafe(32),
        public_key=b"not-used-here",
        sign_count=0,
        name=name,
        transports=["internal"],
        aaguid="",
        backed_up=False,
    )
    return store.add_passkey(commenter, row, version=commenter.session_version)


@pytest.mark.parametrize("route", ROUTES)
def test_every_passkey_route_refuses_a_post_without_its_csrf_token(app: Flask, route: str):
    client = app.test_client()
    sign_in_client(client, display_name="Ann", provider="fakebook")
    answer = client.post(route, json={}, headers={"Accept": "application/json"})
    assert answer.status_code == 403
    assert answer.json is not None and answer.json["error"] == "csrf_failed"
    assert "social_auth_passkey" not in answer.headers.get("Set-Cookie", "")


@pytest.mark.parametrize(
    "body",
    [None, {}, {"credential": "x"}, {"credential": {"id": "!!"}},
     {"credential": {"id": "abc", "response": {}}}, {"credential": {"id": "a" * 5000}}],
)
def test_a_login_without_a_challenge_or_with_junk_is_a_clear_400(app: Flask, body: object):
    client = app.test_client()
    headers = {**csrf_headers(client), "Accept": "application/json"}
    answer = client.post("/auth/passkeys/login", json=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json is not None and answer.json["error"] == "passkey_failed"
    client.post("/auth/passkeys/login/options", headers=headers)
    answer = client.post("/auth/passkeys/login", json=body, headers=headers)
    # With a challenge: refused, or (a well-formed id) not known here; never a 500.
    assert answer.json is not None
    assert (answer.status_code, answer.json["error"]) in (
        (400, "passkey_failed"), (404, "unknown_credential")
    )


def test_login_options_ask_for_a_discoverable_credential_with_user_verification(app: Flask):
    client = app.test_client()
    answer = client.post("/auth/passkeys/login/options", headers=csrf_headers(client))
    assert answer.status_code == 200 and answer.json is not None
    options = answer.json["publicKey"]
    assert options["rpId"] == "localhost"
    assert options["userVerification"] == "required"
    assert options.get("allowCredentials", []) == []
    assert "social_auth_passkey=" in answer.headers["Set-Cookie"]
    assert "HttpOnly" in answer.headers["Set-Cookie"]


def test_register_options_need_a_signed_in_commenter_and_exclude_its_passkeys(app: Flask):
    client = app.test_client()
    headers = csrf_headers(client)
    assert client.post("/auth/passkeys/register/options", headers=headers).status_code == 401
    commenter = sign_in_client(client, display_name="Ann", provider="fakebook")
    existing = give_passkey(get_state(app).store, commenter)
    answer = client.post("/auth/passkeys/register/options", headers=csrf_headers(client))
    assert answer.json is not None
    options = answer.json["publicKey"]
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert [c["id"] for c in options["excludeCredentials"]] == [existing.credential_id]
    assert options["user"]["id"] == existing.user_handle  # one handle per commenter


def test_a_site_on_an_ip_address_offers_no_passkeys(tmp_path: Path):
    app = make_app(tmp_path, SOCIAL_AUTH_SITE_URL="http://127.0.0.1:5000")
    client = app.test_client()
    headers = {**csrf_headers(client), "Accept": "application/json"}
    answer = client.post("/auth/passkeys/login/options", headers=headers)
    assert answer.status_code == 404
    assert answer.json is not None and answer.json["error"] == "passkeys_unavailable"
    assert "data-sa-passkeys" not in client.get("/page").get_data(as_text=True)
    assert relying_party("http://127.0.0.1:5000") is None
    assert relying_party("https://[::1]:8443") is None


def test_the_relying_party_is_the_site_address():
    rp = relying_party("https://blog.example:8443/journal")
    assert rp is not None and (rp.id, rp.origin) == ("blog.example", "https://blog.example:8443")


def test_the_sign_count_must_go_up_unless_the_authenticator_keeps_none():
    assert check_sign_count(0, 0)
    assert check_sign_count(4, 5)
    assert not check_sign_count(5, 5)
    assert not check_sign_count(5, 2)
    assert not check_sign_count(5, 0)


def test_a_passkey_is_a_way_to_sign_in_and_the_last_one_stays(app: Flask):
    store = get_state(app).store
    commenter = make_commenter(app, display_name="Ann", provider="fakebook")
    passkey = give_passkey(store, commenter)
    owner = store.require_by_id(commenter.id)
    assert owner.ways_to_sign_in == 2
    store.unlink(owner.identities[0], actor="test")  # the passkey is still there
    with pytest.raises(LastSignInMethod):
        store.remove_passkey(owner, passkey.id, actor="test")
    assert store.require_by_id(commenter.id).passkey_count == 1


def test_passkeys_move_on_merge_and_back_on_undo(app: Flask):
    store = get_state(app).store
    source = make_commenter(app, display_name="Old", provider="fakebook", subject="s1")
    target = make_commenter(app, display_name="New", provider="letterbox", subject="s2")
    moved = give_passkey(store, source)
    store.merge(source, target, actor="test")
    assert [p.id for p in store.passkeys_of(target)] == [moved.id]
    assert store.require_by_id(target.id).passkey_count == 1
    assert store.require_by_id(source.id).passkey_count == 0
    store.undo_last_merge(store.require_by_id(target.id), actor="test")
    assert [p.id for p in store.passkeys_of(source)] == [moved.id]
    assert store.require_by_id(target.id).passkey_count == 0


def test_passkeys_go_on_erase_and_are_revoked_on_block(app: Flask):
    store = get_state(app).store
    erased = make_commenter(app, display_name="Eve", provider="fakebook", subject="e")
    give_passkey(store, erased)
    store.erase(erased, actor="test")
    assert store.passkeys_of(erased) == []
    blocked = make_commenter(app, display_name="Bob", provider="fakebook", subject="b")
    give_passkey(store, blocked)
    store.block(blocked, actor="test")
    assert store.passkeys_of(blocked) == []
    assert store.require_by_id(blocked.id).passkey_count == 0
    assert store.audit_log(blocked)[0].details["passkeys_revoked"] == 1


def test_an_export_lists_passkeys_without_their_keys(app: Flask):
    store = get_state(app).store
    commenter = make_commenter(app, display_name="Ann", provider="fakebook")
    give_passkey(store, commenter, name="Phone")
    data = store.export(commenter)
    assert [p["name"] for p in data["passkeys"]] == ["Phone"]
    assert "public_key" not in data["passkeys"][0]


def test_the_admin_commenter_page_lists_passkeys(tmp_path: Path):
    from tests.apps import admin_app

    app = admin_app(tmp_path)
    admin = app.test_client()
    admin.set_cookie("test_admin", "yes")
    commenter = make_commenter(app, display_name="Ann", provider="fakebook")
    give_passkey(get_state(app).store, commenter, name="Work laptop")
    body = admin.get(f"/auth/admin/commenters/{commenter.public_id}").get_data(as_text=True)
    assert "Passkeys (1)" in body and "Work laptop" in body


# -- with a software authenticator (the benchmark's), no browser ------------------------------


def soft_site(app: Flask) -> tuple[FlaskClient, SoftAuthenticator, Commenter]:
    device = SoftAuthenticator()
    commenter = make_commenter(app, display_name="Soft", provider="fakebook")
    get_state(app).store.add_passkey(commenter, Passkey(
        credential_id=device.credential_id, user_handle=device.user_handle,
        public_key=device.cose_public_key(), sign_count=0, name="soft", transports=[],
        aaguid="", backed_up=False), version=commenter.session_version)
    return app.test_client(), device, commenter


def soft_login(client: FlaskClient, device: SoftAuthenticator, **response: str) -> Any:
    headers = {**csrf_headers(client), "Accept": "application/json"}
    options = client.post("/auth/passkeys/login/options", headers=headers).json
    assert options is not None
    credential = device.assertion(options["publicKey"]["challenge"])
    credential["response"].update(response)
    return client.post("/auth/passkeys/login", json={"credential": credential}, headers=headers)


def test_a_software_authenticator_signs_in_and_the_count_is_kept(app: Flask):
    client, device, commenter = soft_site(app)
    answer = soft_login(client, device)
    assert answer.status_code == 200 and answer.json is not None
    assert answer.json["commenter"]["id"] == commenter.public_id
    assert get_state(app).store.passkeys_of(commenter)[0].sign_count == 1


def test_an_assertion_naming_another_user_handle_is_refused(app: Flask):
    client, device, _ = soft_site(app)
    answer = soft_login(client, device, userHandle=secrets.token_urlsafe(32))
    assert answer.status_code == 400
    assert client.get("/whoami").get_data(as_text=True) == "anonymous"


def test_a_challenge_from_another_browser_is_refused(app: Flask):
    client, device, _ = soft_site(app)
    headers = {**csrf_headers(client), "Accept": "application/json"}
    options = client.post("/auth/passkeys/login/options", headers=headers).json
    assert options is not None
    other = app.test_client()  # has no challenge cookie of its own
    answer = other.post("/auth/passkeys/login", headers={**csrf_headers(other), **JSON_ONLY},
                        json={"credential": device.assertion(options["publicKey"]["challenge"])})
    assert answer.status_code == 400 and answer.json is not None
    assert "used already or has expired" in answer.json["message"]


def test_a_registration_challenge_works_only_for_the_sign_in_that_asked(app: Flask):
    client = app.test_client()
    sign_in_client(client, display_name="First", provider="fakebook", subject="a")
    client.post("/auth/passkeys/register/options", headers=csrf_headers(client))
    sign_in_client(client, display_name="Second", provider="fakebook", subject="b")
    answer = client.post("/auth/passkeys/register", json={"credential": {"id": "abc"}},
                         headers={**csrf_headers(client), **JSON_ONLY})
    assert answer.status_code == 400 and answer.json is not None
    assert "another sign-in" in answer.json["message"]


def test_an_owner_renames_a_passkey_and_nobody_else_can(app: Flask):
    store = get_state(app).store
    client = app.test_client()
    owner = sign_in_client(client, display_name="Ann", provider="fakebook", subject="o")
    passkey = give_passkey(store, owner)
    headers = {**csrf_headers(client), **JSON_ONLY}
    answer = client.post(f"/auth/passkeys/{passkey.id}/rename", json={"name": " Phone\n2 "},
                         headers=headers)
    assert answer.status_code == 200 and answer.json is not None
    assert [p["name"] for p in answer.json["passkeys"]] == ["Phone 2"]
    other = app.test_client()
    sign_in_client(other, display_name="Mal", provider="fakebook", subject="m")
    for action in ("rename", "remove"):
        refused = other.post(f"/auth/passkeys/{passkey.id}/{action}", json={"name": "x"},
                             headers={**csrf_headers(other), **JSON_ONLY})
        assert refused.status_code == 404
    assert [p.name for p in store.passkeys_of(owner)] == ["Phone 2"]
    form = client.post(f"/auth/passkeys/{passkey.id}/remove",
                       data={"csrf_token": headers["X-CSRF-Token"]})
    assert form.status_code == 302 and form.headers["Location"].endswith("/auth/connections")
    assert store.passkeys_of(owner) == []

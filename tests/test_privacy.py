"""A commenter's own data: the privacy notice, self-service export and erasure."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
from flask import Flask
from flask.testing import FlaskClient

from social_auth import (
    Capabilities,
    Commenter,
    Profile,
    Provider,
    SocialAuth,
    commenter_erased,
    get_state,
)
from social_auth.session import SESSION_COOKIE
from social_auth.testing import csrf_headers, make_commenter, sign_in_client
from tests.webapp import make_app


def host_data(commenter: Commenter) -> dict[str, Any]:
    return {"comments": [{"body": "Nice post", "by": commenter.public_id}]}


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path, SOCIAL_AUTH_EXPORT_HOOK=host_data)


def whoami(client: FlaskClient) -> str:
    return client.get("/whoami").get_data(as_text=True)


def text(client: FlaskClient, url: str) -> str:
    return html.unescape(client.get(url).get_data(as_text=True))


# -- the notice ------------------------------------------------------------------------------


def test_the_login_block_links_to_the_privacy_notice(app: Flask):
    body = app.test_client().get("/page").get_data(as_text=True)
    assert '<a href="/auth/privacy" target="_blank" rel="noopener">' in body
    assert "How your comment data is processed" in body


def test_the_notice_lists_what_each_sign_in_method_stores(app: Flask):
    page = text(app.test_client(), "/auth/privacy")
    assert "How your comment data is processed" in page
    assert "Commenting as a guest" in page and "Gravatar" in page and "website" in page
    for title in ("Fakebook", "Letterbox"):
        assert f"Signing in with {title}" in page
        assert f"We do not keep {title}'s access tokens" in " ".join(page.split())
    assert "Fakebook does not share your email address." in page
    assert "Sign in (or comment as a guest) in this browser" in page


class Mailbook(Provider):
    """A provider that shares a verified email (an ID token claim)."""

    name = "mailbook"
    title = "Mailbook"
    required_settings: ClassVar[tuple[str, ...]] = ()
    capabilities = Capabilities(returns_email=True, email_verified="claim")


class Unverified(Provider):
    """A provider that shares an email but never says whether it is verified."""

    name = "unverified"
    title = "Unverified"
    required_settings: ClassVar[tuple[str, ...]] = ()
    capabilities = Capabilities(returns_email=True, email_verified="never")


def test_the_notice_says_which_providers_share_and_verify_email(tmp_path: Path):
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="privacy-tests-secret-key",
        SOCIAL_AUTH_DATABASE_URI=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        SOCIAL_AUTH_PROVIDERS={"mailbook": {}, "unverified": {}},
        SOCIAL_AUTH_SITE_URL="http://localhost",
    )
    SocialAuth(app, providers=[Mailbook, Unverified])
    page = " ".join(text(app.test_client(), "/auth/privacy").split())
    assert "Also your email address and whether Mailbook verified it." in page
    assert "Also your email address, recorded as unverified (Unverified does not say" in page


def test_the_notice_leaves_out_guests_when_guest_commenting_is_off(tmp_path: Path):
    page = text(make_app(tmp_path, SOCIAL_AUTH_GUEST=False).test_client(), "/auth/privacy")
    assert "Commenting as a guest" not in page and "Signing in with Fakebook" in page


def test_a_signed_in_commenter_gets_export_and_erase_buttons(app: Flask):
    client = app.test_client()
    sign_in_client(client, display_name="Jane")
    page = text(client, "/auth/privacy")
    assert "You are signed in as <strong>Jane</strong>" in page
    assert 'action="/auth/me/export"' in page and 'href="/auth/me/erase"' in page


# -- export ----------------------------------------------------------------------------------


def test_an_export_is_a_json_download_of_everything_held(app: Flask):
    client = app.test_client()
    jane = make_commenter(
        app, display_name="Jane", provider="fakebook", subject="fb-1",
        email="jane@example.com", email_verified=True,
    )
    store = get_state(app).store
    store.link(jane, Profile(provider="letterbox", subject="lb-1", display_name="J",
                             username="jane_l"))
    sign_in_client(client, jane)
    response = client.post("/auth/me/export", headers=csrf_headers(client))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="comment-data-{jane.public_id}.json"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.get_data(as_text=True))
    assert set(data) == {"commenter", "identities", "passkeys", "audit_events", "host"}
    assert data["commenter"]["id"] == jane.public_id
    assert data["commenter"]["email"] == "jane@example.com"
    assert data["commenter"]["email_verified_at"] is not None
    assert [(i["provider"], i["subject"]) for i in data["identities"]] == [
        ("fakebook", "fb-1"), ("letterbox", "lb-1"),
    ]
    assert data["identities"][1]["username"] == "jane_l"
    assert [e["action"] for e in data["audit_events"]] == ["link"]
    assert data["host"] == host_data(jane)
    assert "token" not in json.dumps(data["identities"])  # no provider tokens are kept


def test_an_export_needs_the_csrf_token(app: Flask):
    client = app.test_client()
    sign_in_client(client)
    response = client.post("/auth/me/export")
    assert response.status_code == 403
    assert "application/json" not in response.content_type


def test_an_export_without_a_session_is_a_clear_401(app: Flask):
    client = app.test_client()
    response = client.post("/auth/me/export", headers=csrf_headers(client))
    assert response.status_code == 401
    assert "You are not signed in" in html.unescape(response.get_data(as_text=True))


def test_a_guest_can_export_too(app: Flask):
    client = app.test_client()
    guest = {"name": "Ann", "email": "ann@example.com"}
    client.post("/auth/guest", data=guest, headers=csrf_headers(client))
    # A sign-in rotates the CSRF secret, so the next post needs a new token.
    data = client.post("/auth/me/export", headers=csrf_headers(client)).json
    assert data is not None
    assert data["commenter"]["display_name"] == "Ann" and data["identities"] == []


# -- erase -----------------------------------------------------------------------------------


def test_the_erase_page_asks_first_and_changes_nothing(app: Flask):
    client = app.test_client()
    jane = sign_in_client(client, display_name="Jane")
    page = text(client, "/auth/me/erase?next=/posts/1")
    assert "Erase your personal data?" in page and "cannot be undone" in page
    assert 'action="/auth/me/erase?next=/posts/1"' in page
    assert not get_state(app).store.require(jane.public_id).is_erased


def test_the_erase_page_without_a_session_is_a_clear_401(app: Flask):
    response = app.test_client().get("/auth/me/erase")
    assert response.status_code == 401


def test_an_erase_without_the_csrf_token_is_refused_and_changes_nothing(app: Flask):
    client = app.test_client()
    jane = sign_in_client(client, display_name="Jane")
    assert client.post("/auth/me/erase").status_code == 403
    assert not get_state(app).store.require(jane.public_id).is_erased
    assert whoami(client) == jane.public_id


def test_an_erase_removes_personal_data_and_every_session(app: Flask):
    store = get_state(app).store
    jane = make_commenter(app, display_name="Jane", email="jane@example.com", subject="fb-9")
    client, other_browser = app.test_client(), app.test_client()
    sign_in_client(client, jane)
    sign_in_client(other_browser, jane)
    old_cookie = client.get_cookie(SESSION_COOKIE)
    assert old_cookie is not None
    received: list[Commenter] = []

    def on_erased(sender: object, commenter: Commenter, **_: Any) -> None:
        received.append(commenter)

    with commenter_erased.connected_to(on_erased, sender=store):
        response = client.post("/auth/me/erase?next=/page", headers=csrf_headers(client))
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    assert "Your personal data was erased" in page and 'href="/page"' in page
    assert client.get_cookie(SESSION_COOKIE) is None  # this browser's copy is cleared

    erased = store.require(jane.public_id)  # the tombstone keeps the public id
    assert erased.is_erased
    assert (erased.display_name, erased.email, erased.website, erased.avatar_url) == (
        "", None, None, None
    )
    assert erased.identities == [] and store.find_identity("test", "fb-9") is None
    assert [c.public_id for c in received] == [jane.public_id]
    assert store.audit_log(erased)[0].actor == "commenter"

    # A copy of the cookie from before the erase, in this browser or another, is anonymous.
    assert whoami(other_browser) == "anonymous"
    client.set_cookie(SESSION_COOKIE, old_cookie.value)
    assert whoami(client) == "anonymous"


def test_an_erase_answers_json_to_scripts(app: Flask):
    client = app.test_client()
    sign_in_client(client)
    headers = csrf_headers(client) | {"Accept": "application/json"}
    body = client.post("/auth/me/erase", headers=headers).json
    assert body is not None and body["erased"] is True


def test_the_cli_export_has_the_hosts_part_too(app: Flask):
    jane = make_commenter(app, display_name="Jane")
    result = app.test_cli_runner().invoke(args=["social-auth", "export", jane.public_id])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["host"] == host_data(jane)

"""Cross-site request forgery: every state-changing POST needs a token bound to the browser;
GET changes nothing. Every POST route of the library and of the host blog (found by walking the
app's URL map, so a route added later is covered without touching this file) refuses a request
without this browser's token and changes nothing; no GET changes anything."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from social_auth import get_state
from social_auth.store.email_links import EmailLinks
from social_auth.testing import csrf_headers, make_commenter, sign_in_client
from tests.apps import build, routes, snapshot


def commenter_count(app: Flask) -> int:
    return len(get_state(app).store.search(""))


GUEST = {"name": "Ann", "email": "ann@example.com"}


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_a_guest_post_without_a_token_is_refused_and_creates_nobody(app: Flask, accept: str):
    client = app.test_client()
    client.get("/auth/me")  # has a CSRF cookie, but sends no token
    response = client.post("/auth/guest", data=GUEST, headers={"Accept": accept})
    assert response.status_code == 403
    assert commenter_count(app) == 0
    text = response.get_data(as_text=True)
    assert "security token" in text
    assert "Traceback" not in text


def test_logout_without_a_token_leaves_the_session_alone(app: Flask):
    client = app.test_client()
    commenter = sign_in_client(client)
    response = client.post("/auth/logout")
    assert response.status_code == 403
    assert client.get("/whoami").get_data(as_text=True) == commenter.public_id


def test_a_token_from_another_browser_is_refused(app: Flask):
    attacker = app.test_client()
    token = attacker.get("/auth/me").json["csrf_token"]  # type: ignore[index]
    victim = app.test_client()
    commenter = sign_in_client(victim)
    victim.get("/auth/me")
    response = victim.post("/auth/logout", data={"csrf_token": token})
    assert response.status_code == 403
    assert victim.get("/whoami").get_data(as_text=True) == commenter.public_id


def test_the_token_works_as_a_form_field_or_a_header(app: Flask):
    client = app.test_client()
    token = client.get("/auth/me").json["csrf_token"]  # type: ignore[index]
    assert client.post("/auth/guest", data={**GUEST, "csrf_token": token}).status_code == 302
    headers = csrf_headers(client)
    assert client.post("/auth/logout", headers=headers).status_code == 302
    assert client.get("/whoami").get_data(as_text=True) == "anonymous"


def test_a_second_csrf_token_field_from_the_host_form_does_not_break_ours(app: Flask):
    client = app.test_client()
    token = client.get("/auth/me").json["csrf_token"]  # type: ignore[index]
    data = {**GUEST, "csrf_token": ["flask-wtf-token", token]}
    assert client.post("/auth/guest", data=data).status_code == 302


def test_get_never_signs_out(app: Flask):
    client = app.test_client()
    commenter = sign_in_client(client)
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/whoami").get_data(as_text=True) == commenter.public_id


def test_sign_in_rotates_the_csrf_token(app: Flask):
    client = app.test_client()
    old = client.get("/auth/me").json["csrf_token"]  # type: ignore[index]
    client.post("/auth/guest", data={**GUEST, "csrf_token": old})
    new = client.get("/auth/me").json["csrf_token"]  # type: ignore[index]
    assert new != old
    assert client.post("/auth/logout", data={"csrf_token": old}).status_code == 403


# -- every route of the blog, walked from the URL map ----------------------------------------

#: POST routes that may not demand our token, and why. Anything else must.
EXEMPT = {
    # A provider's form_post answer comes from its own page: the state, bound to this browser's
    # flow cookie and single-use, is what protects it (tests/flow/test_flow_attacks.py).
    "social_auth.callback": "state-bound",
    # The handle sign-ins' callbacks (issue 14): the same state-bound check as the one above.
    "social_auth.callback_bluesky": "state-bound",
    "social_auth.callback_mastodon": "state-bound",
    "social_auth.callback_indieauth": "state-bound",
    # The dev provider's token endpoint is called server to server by the OAuth client: the
    # code (signed, bound to the redirect URI) and the PKCE verifier protect it.
    "social_auth_dev.token": "server-to-server",
    # One Tap's redirect mode is posted by Google's page: GIS's g_csrf_token double-submit
    # cookie protects it, never skipped (tests/fedcm/test_id_token_handlers.py).
    "social_auth.one_tap_sign_in": "g_csrf_token",
}


def argument_values(app: Flask, client: FlaskClient) -> dict[str, Any]:
    commenter = make_commenter(
        app, provider="fakebook", email="a@example.com", email_verified=True
    )
    # A live mailed link: opening its page (GET) must not use it up or verify anything.
    token = EmailLinks(get_state(app).store).issue(
        email="a@example.com", commenter=commenter, browser_hash=None
    )
    return {
        "provider": "fakebook",
        "token": token,
        "slug": "sourdough-starter-in-a-week",
        "identity_id": commenter.identities[0].id,
        "commenter_id": commenter.public_id,
        "public_id": commenter.public_id,
        "filename": "social_auth/social_auth.js",
    }


FORM = {
    "name": "Mallory",
    "email": "mallory@example.com",
    "website": "evil.example",
    "comment": "forged",
    # What the attacker wants in the victim's comment box (a JS-off sign-in form carries it).
    "draft": "Visit evil.example for free money",
    "social_auth_draft_field": "comment",
    "next": "/",
    "confirm": "yes",
    "commenter": "x",
}


@pytest.mark.parametrize("forgery", ["no-token", "other-browsers-token", "cross-site-form"])
def test_every_post_route_refuses_a_forged_request_and_changes_nothing(
    full_blog: Flask, forgery: str
):
    blog = full_blog
    client = blog.test_client()
    victim = sign_in_client(client, provider="fakebook", display_name="Victim")
    csrf_headers(client)  # the victim's browser has its CSRF cookie
    values = argument_values(blog, client)
    other = blog.test_client()
    foreign = csrf_headers(other)
    checked = []
    for endpoint, _ in routes(blog, "POST"):
        if endpoint in EXEMPT:
            continue
        url = build(blog, endpoint, values)
        before = snapshot(blog)
        headers = {"Accept": "application/json"}
        if forgery == "other-browsers-token":
            headers.update(foreign)
        if forgery == "cross-site-form":
            headers = {"Origin": "https://evil.example", "Referer": "https://evil.example/x"}
        response = client.post(url, data=FORM, headers=headers)
        assert response.status_code == 403, (endpoint, response.status_code)
        # Not even a cookie: a forged form must not plant a draft, a flow or a notice.
        assert "Set-Cookie" not in response.headers, (endpoint, response.headers)
        assert snapshot(blog) == before, endpoint
        assert client.get("/auth/me").json["commenter"]["id"] == victim.public_id, endpoint  # type: ignore[index]
        checked.append(endpoint)
    assert {"social_auth.logout", "social_auth.guest", "add_comment"} <= set(checked)


def test_a_json_body_without_the_header_token_is_refused(app: Flask):
    client = app.test_client()
    sign_in_client(client)
    csrf_headers(client)
    for content_type in ("application/json", "text/plain"):
        response = client.post(
            "/auth/logout", data='{"csrf_token": "x"}', content_type=content_type
        )
        assert response.status_code == 403


def test_no_get_route_changes_anything(full_blog: Flask):
    blog = full_blog
    client = blog.test_client()
    victim = sign_in_client(client, provider="fakebook", display_name="Victim")
    values = argument_values(blog, client)
    visited = []
    for endpoint, _ in routes(blog, "GET"):
        url = build(blog, endpoint, values)
        before = snapshot(blog)
        response = client.get(url)
        assert response.status_code < 500, (endpoint, response.status_code)
        assert snapshot(blog) == before, endpoint
        me = client.get("/auth/me").json
        assert me["commenter"]["id"] == victim.public_id, endpoint  # type: ignore[index]
        visited.append(endpoint)
    assert {"social_auth.me", "social_auth.verify_email", "index", "post"} <= set(visited)


def test_get_never_signs_out_or_consumes_a_magic_link(blog: Flask):
    client = blog.test_client()
    commenter = sign_in_client(client)
    for path in ("/auth/logout", "/auth/me/erase", "/auth/me/export"):
        client.get(path)
    assert client.get("/auth/me").json["commenter"]["id"] == commenter.public_id  # type: ignore[index]

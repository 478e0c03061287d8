"""Cross-site request forgery: every POST route of the library and of the host blog (found by
walking the app's URL map, so a route added later is covered without touching this file)
refuses a request without this browser's token and changes nothing; no GET changes anything."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from social_auth import get_state
from social_auth.store import Base
from social_auth.store.email_links import EmailLinks
from social_auth.testing import csrf_headers, make_commenter, sign_in_client

#: POST routes that may not demand our token, and why. Anything else must.
EXEMPT = {
    # A provider's form_post answer comes from its own page: the state, bound to this browser's
    # flow cookie and single-use, is what protects it (tests/security/test_flow.py).
    "social_auth.callback": "state-bound",
    # The dev provider's token endpoint is called server to server by the OAuth client: the
    # code (signed, bound to the redirect URI) and the PKCE verifier protect it.
    "social_auth_dev.token": "server-to-server",
}


def snapshot(app: Flask) -> list[Any]:
    """Every row of the identity store and of the blog's database."""
    rows: list[Any] = []
    with get_state(app).store.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows.append((table.name, sorted(map(repr, conn.execute(table.select()).all()))))
    sessions = app.extensions.get("blog_sessions")
    if sessions is not None:
        with sessions() as s:
            rows.append(("comments", repr(s.execute(text("SELECT * FROM blog_comment")).all())))
    return rows


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


def routes(app: Flask, method: str) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if method in (rule.methods or ()) and not rule.endpoint.endswith("static"):
            found.append((rule.endpoint, rule.rule))
    return sorted(found)


#: Arguments some routes take in the query rather than the path.
QUERY = {"social_auth.verify_email": ("token",)}


def build(app: Flask, endpoint: str, values: dict[str, Any]) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    args = {name: values.get(name, "1") for name in rule.arguments}
    args.update({name: values[name] for name in QUERY.get(endpoint, ())})
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **args)


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

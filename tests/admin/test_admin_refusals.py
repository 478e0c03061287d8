"""The admin pages (``/auth/admin/…``) and the blog's own moderation: refused to anonymous
visitors, commenters and guests, to forms from other sites and to requests without the token;
what they show is escaped. Routes are walked from the URL map, so new ones are covered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from social_auth import get_state
from social_auth.testing import csrf_headers, make_commenter, sign_in_client
from tests.apps import XSS_NAME, build, hostile_commenter, make_blog, routes, snapshot

PASSWORD = "correct horse battery staple"


@pytest.fixture
def blog(tmp_path: Path) -> Flask:
    return make_blog(tmp_path, BLOG_ADMIN_PASSWORD=PASSWORD)


def admin_login(client: FlaskClient) -> None:
    response = client.post(
        "/admin/login", data={"password": PASSWORD, "next": "/admin"}, headers=csrf_headers(client)
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:300]


def admin_routes(app: Flask) -> list[tuple[str, str, str]]:
    found = []
    for method in ("GET", "POST"):
        for endpoint, rule in routes(app, method):
            if rule.startswith(("/auth/admin", "/admin")) and rule not in (
                "/admin/login",
                "/admin/logout",  # ends an admin session: nothing to refuse to others
            ):
                found.append((method, endpoint, rule))
    return found


def values(app: Flask) -> dict[str, Any]:
    victim = make_commenter(app, provider="fakebook", display_name="Victim")
    return {
        "public_id": victim.public_id,
        "identity_id": victim.identities[0].id,
        "comment_id": 1,
    }


@pytest.mark.parametrize("who", ["anonymous", "commenter", "guest"])
def test_admin_routes_refuse_everyone_but_the_admin_and_change_nothing(blog: Flask, who: str):
    client = blog.test_client()
    if who == "commenter":
        sign_in_client(client, provider="fakebook")
    elif who == "guest":
        client.post(
            "/auth/guest",
            data={"name": "G", "email": "g@example.com"},
            headers=csrf_headers(client),
        )
    headers = csrf_headers(client)  # a valid token: the refusal must not be only the CSRF one
    args = values(blog)
    checked = []
    for method, endpoint, _ in admin_routes(blog):
        url = build(blog, endpoint, args)
        before = snapshot(blog)
        response = client.open(
            url,
            method=method,
            headers=headers,
            data={"source": args["public_id"], "target": args["public_id"]},
        )
        assert response.status_code in (302, 303, 401, 403), (method, url, response.status_code)
        if response.status_code in (302, 303):  # the blog's own pages send you to log in
            assert "/admin/login" in response.headers["Location"], (method, url)
        assert snapshot(blog) == before, (method, url)
        assert "Victim" not in response.get_data(as_text=True), (method, url)
        checked.append(endpoint)
    assert any(e.startswith("social_auth_admin.") for e in checked)


@pytest.mark.parametrize(
    "forgery",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        "no-token",
    ],
    ids=["sec-fetch-cross-site", "sec-fetch-same-site", "origin-evil", "origin-null", "no-token"],
)
def test_admin_forms_from_another_site_or_without_the_token_are_refused(blog: Flask, forgery):
    admin = blog.test_client()
    admin_login(admin)
    victim = make_commenter(blog, provider="fakebook", display_name="Victim")
    headers = {} if forgery == "no-token" else {**csrf_headers(admin), **forgery}
    before = snapshot(blog)
    response = admin.post(f"/auth/admin/commenters/{victim.public_id}/block", headers=headers)
    assert response.status_code == 403
    assert snapshot(blog) == before
    assert not get_state(blog).store.get(victim.id).is_blocked  # type: ignore[union-attr]


def test_the_admins_own_form_works_and_ends_the_blocked_commenters_sessions(blog: Flask):
    admin = blog.test_client()
    admin_login(admin)
    commenter_browser = blog.test_client()
    victim = sign_in_client(commenter_browser, provider="fakebook")
    response = admin.post(
        f"/auth/admin/commenters/{victim.public_id}/block",
        headers={**csrf_headers(admin), "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code in (302, 303)
    assert get_state(blog).store.get(victim.id).is_blocked  # type: ignore[union-attr]
    assert commenter_browser.get("/auth/me").json["authenticated"] is False  # type: ignore[index]


def test_admin_login_needs_the_token_and_is_rate_limited(blog: Flask):
    client = blog.test_client()
    response = client.post("/admin/login", data={"password": PASSWORD})
    assert response.status_code == 403
    codes = []
    for _ in range(12):
        codes.append(
            client.post(
                "/admin/login", data={"password": "guess"}, headers=csrf_headers(client)
            ).status_code
        )
    assert set(codes) == {403}
    right = client.post("/admin/login", data={"password": PASSWORD}, headers=csrf_headers(client))
    assert right.status_code == 403, "the right password after a flood is still refused"


def test_a_commenter_signed_in_is_not_an_admin_by_signing_in(blog: Flask):
    client = blog.test_client()
    sign_in_client(client, provider="fakebook")
    assert client.get("/auth/admin/").status_code == 403
    assert client.get("/admin").status_code in (302, 303)


def test_admin_pages_escape_hostile_names_and_forbid_framing(blog: Flask):
    commenter = hostile_commenter(blog)
    admin = blog.test_client()
    admin_login(admin)
    for url in ("/auth/admin/?q=evil", f"/auth/admin/commenters/{commenter.public_id}"):
        response = admin.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert "<img src=x onerror" not in html and "<script>alert" not in html, url
        assert "javascript:" not in html, url
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert XSS_NAME


def test_without_an_admin_check_there_are_no_admin_pages(tmp_path: Path):
    from tests.webapp import make_app

    app = make_app(tmp_path)
    client = app.test_client()
    sign_in_client(client)
    assert client.get("/auth/admin/").status_code == 404

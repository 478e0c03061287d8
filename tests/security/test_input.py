"""Hostile input: names, websites, emails, provider-supplied names and URLs are rendered
escaped (or refused), and a 10 MB body is a 413 before anything reads it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask, render_template_string
from werkzeug.serving import make_server

from social_auth import Profile
from social_auth.errors import ProviderError
from social_auth.extension import MAX_BODY_BYTES
from social_auth.testing import csrf_headers, sign_in_client
from social_auth.views import popup_result
from tests.apps import build, hostile_commenter, make_blog, routes

POST_SLUG = "sourdough-starter-in-a-week"


def test_provider_supplied_javascript_urls_are_dropped():
    profile = Profile(
        "corp", "1", "x", avatar_url="javascript:alert(1)", profile_url="data:text/html,<b>"
    )
    assert profile.avatar_url is None and profile.profile_url is None
    for bad in (
        "JAVASCRIPT:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "vbscript:x",
        "//evil.example/a.png",
        'https://evil.example/a.png" onerror="alert(1)',
        "https:///nohost",
    ):
        assert Profile("corp", "1", "x", avatar_url=bad).avatar_url is None, bad
    kept = "https://avatars.example/u/1.png?s=80&d=identicon"
    assert Profile("corp", "1", "x", avatar_url=kept).avatar_url == kept


def test_a_hostile_provider_profile_renders_escaped_in_the_block_and_the_blog(blog: Flask):
    client = blog.test_client()
    commenter = hostile_commenter(blog)
    assert commenter.website is None and commenter.avatar_url is None
    sign_in_client(client, commenter)
    headers = csrf_headers(client)
    response = client.post(
        f"/posts/{POST_SLUG}/comments",
        data={"comment": "<script>alert(5)</script>"},
        headers=headers,
    )
    assert response.status_code in (302, 303)
    html = client.get(f"/posts/{POST_SLUG}").get_data(as_text=True)
    assert "Eve &amp; &#34;co&#34;" in html or "Eve &amp; &quot;co&quot;" in html
    for raw in ("<img src=x", "<script>alert", "javascript:"):
        assert raw not in html, raw


def test_guest_input_with_markup_is_refused_or_escaped(blog: Flask):
    client = blog.test_client()
    headers = csrf_headers(client)
    refused = client.post(
        f"/posts/{POST_SLUG}/comments",
        data={"comment": "hi", "name": "<b>x</b>", "email": "a@example.com"},
        headers=headers,
    )
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "<b>x</b>" not in html  # the rejected value comes back escaped in the form
    for website in ("javascript:alert(1)", "data:text/html,x", "https://a b.example"):
        response = client.post(
            "/auth/guest",
            data={"name": "Ann", "email": "a@example.com", "website": website},
            headers={**headers, "Accept": "application/json"},
        )
        assert response.status_code == 400 and response.json["field"] == "website"  # type: ignore[index]
    quoted = 'https://example.com/"onmouseover="alert(1)'
    client.post(
        f"/posts/{POST_SLUG}/comments",
        data={
            "comment": "hi",
            "name": "Ann O'Hara & co",
            "email": "a@example.com",
            "website": quoted,
        },
        headers=headers,
    )
    html = client.get(f"/posts/{POST_SLUG}").get_data(as_text=True)
    assert '"onmouseover="' not in html
    assert "Ann O&#39;Hara &amp; co" in html or "Ann O&#x27;Hara &amp; co" in html


def test_unknown_provider_names_are_not_reflected(app: Flask):
    client = app.test_client()
    for path in ("/auth/login/<script>alert(1)</script>", "/auth/callback/%3Csvg%20onload%3Dx%3E"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)" not in html and "<svg onload" not in html


def test_provider_error_text_is_escaped_on_pages_and_popups(app: Flask):
    @app.get("/boom")
    def boom() -> str:
        raise ProviderError("fakebook", "Fakebook refused the sign-in (<script>alert(1)</script>).")

    html = app.test_client().get("/boom", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    with app.test_request_context("/"):
        page = popup_result("error", "<img src=x onerror=alert(1)>").get_data(as_text=True)
    assert "<img src=x" not in page


def test_the_block_escapes_a_name_and_avatar_set_directly_in_the_store(app: Flask):
    client = app.test_client()
    commenter = hostile_commenter(app)
    sign_in_client(client, commenter)

    @app.get("/block")
    def block() -> str:
        return render_template_string("{{ social_auth_login() }}")

    html = client.get("/block").get_data(as_text=True)
    assert "<img src=x onerror" not in html and "&lt;img src=x" in html


# -- body size ---------------------------------------------------------------------------------

TEN_MB = 10 * 1024 * 1024


def test_a_10_mb_body_is_a_413_on_every_post_route_of_ours(tmp_path: Path):
    blog = make_blog(tmp_path, MAX_CONTENT_LENGTH=None)  # a host that set no limit of its own
    client = blog.test_client()
    headers = csrf_headers(client)
    body = b"a=" + b"x" * TEN_MB
    checked = 0
    for endpoint, rule in routes(blog, "POST"):
        if not rule.startswith("/auth/"):
            continue
        url = build(blog, endpoint, {"provider": "fakebook", "token": "t"})
        for content_type in ("application/x-www-form-urlencoded", "application/octet-stream"):
            response = client.post(url, data=body, content_type=content_type, headers=headers)
            assert response.status_code == 413, (endpoint, content_type, response.status_code)
        checked += 1
    assert checked >= 4


def test_a_10_mb_comment_form_on_the_host_blog_is_a_413(blog: Flask):
    client = blog.test_client()
    response = client.post(
        f"/posts/{POST_SLUG}/comments",
        data={"comment": "x" * TEN_MB, "csrf_token": "x"},
        headers=csrf_headers(client),
    )
    assert response.status_code == 413


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def test_a_chunked_body_without_a_length_is_cut_off_at_the_limit(served: str):
    def chunks() -> Iterator[bytes]:
        yield b"name="
        for _ in range(160):  # 10 MB in 64 KiB pieces
            yield b"x" * 65536

    response = requests.post(
        f"{served}/auth/guest",
        data=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert response.status_code in (403, 413)  # refused either way: no token, or too large
    small = requests.post(f"{served}/auth/guest", data=b"x" * (MAX_BODY_BYTES + 1), timeout=10)
    assert small.status_code == 413

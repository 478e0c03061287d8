"""Open redirects through ``next=``: every encoding a browser, proxy or server might turn into
another host falls back to ``/``, in the flow, in the views' helper and on the routes."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

import pytest
from flask import Flask

from social_auth import flow
from social_auth.testing import csrf_headers, sign_in_client
from social_auth.views import safe_next

HOSTILE = [
    "//evil.example",
    "///evil.example",
    "////evil.example/path",
    "/\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/%09/evil.example",
    "/%2F%2Fevil.example",
    "/%2f/evil.example",
    "/%5Cevil.example",
    "/%5c%5cevil.example",
    "/%252F%252Fevil.example",
    "/%25252F%25252Fevil.example",
    "%2F%2Fevil.example",
    "https://evil.example",
    "HTTPS://evil.example",
    "https:evil.example",
    "https:/evil.example",
    "//evil.example@blog.example",
    "javascript:alert(document.domain)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "/posts/1\r\nLocation: https://evil.example",
    "/posts/%0d%0aLocation:%20https://evil.example",
    "/posts/\x00",
    "/" + "a" * 5000,
    " //evil.example",
    "evil.example",
    "",
]

SAFE = ["/", "/posts/1", "/posts/1?page=2#comments", "/tags/caf%C3%A9", "/search?q=a%2Fb"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_next_falls_back_to_the_front_page_in_the_flow(value):
    assert flow.safe_next(value) == "/"


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_next_falls_back_in_the_views_helper(value):
    assert safe_next(value, "/fallback") == "/fallback"


@pytest.mark.parametrize("value", SAFE)
def test_same_site_paths_survive(value):
    assert flow.safe_next(value) == value and safe_next(value) == value


def landed_on_this_site(location: str) -> bool:
    parts = urlsplit(location)
    return parts.scheme in ("", "http") and parts.netloc in ("", "localhost")


@pytest.mark.parametrize("value", HOSTILE)
def test_logout_redirect_stays_on_this_site(app: Flask, value):
    client = app.test_client()
    sign_in_client(client)
    response = client.post(
        "/auth/logout?next=" + quote(value, safe=""), headers=csrf_headers(client)
    )
    assert response.status_code in (302, 303)
    assert landed_on_this_site(response.headers["Location"])
    assert response.headers["Location"].endswith("/")


@pytest.mark.parametrize("value", HOSTILE)
def test_guest_form_redirect_stays_on_this_site(app: Flask, value):
    client = app.test_client()
    response = client.post(
        "/auth/guest",
        data={"name": "Ann", "email": "ann@example.com", "next": value},
        headers=csrf_headers(client),
    )
    assert response.status_code in (302, 303)
    assert landed_on_this_site(response.headers["Location"])


@pytest.mark.parametrize("value", HOSTILE[:12])
def test_message_page_back_link_stays_on_this_site(app: Flask, value):
    client = app.test_client()
    response = client.post(
        "/auth/email/start?next=" + quote(value, safe=""),
        data={"email": "nobody@example.com"},
        headers=csrf_headers(client),
    )
    html = response.get_data(as_text=True)
    assert "evil.example" not in html


@pytest.mark.parametrize("value", HOSTILE[:12])
def test_the_login_block_never_links_a_hostile_next(app: Flask, value):
    from flask import render_template_string

    @app.get("/block")
    def block() -> str:
        from flask import request

        return render_template_string("{{ social_auth_login(next=n) }}", n=request.args.get("n"))

    html = app.test_client().get("/block?n=" + quote(value, safe="")).get_data(as_text=True)
    targets = [unquote(t) for t in re.findall(r"next=([^&\"]+)", html)]
    targets += re.findall(r'name="next" value="([^"]*)"', html)
    assert targets
    for target in targets:  # the current page, or a path on this site: never the hostile value
        assert target != value
        assert target.startswith("/block?") or flow.safe_next(target) == target

"""/auth/me, the login block, the popup result page, drafts, and error answers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from social_auth import get_state
from social_auth.session import set_draft
from social_auth.testing import csrf_headers, make_commenter, sign_in_client
from social_auth.views import popup_result, safe_next
from tests.webapp import make_app


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path)



def avatar_url_of(app: Any, commenter: Any) -> str:
    from social_auth.avatars.identicon import seed_of

    return f"/auth/avatars/i/{seed_of(commenter.public_id)}-96.png"


def test_me_for_an_anonymous_visitor(app: Flask):
    response = app.test_client().get("/auth/me")
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body is not None
    assert body["authenticated"] is False and body["commenter"] is None
    assert body["identities"] == [] and isinstance(body["csrf_token"], str)


def test_me_for_a_signed_in_commenter_has_the_documented_shape(app: Flask):
    client = app.test_client()
    commenter = make_commenter(
        app, display_name="Jane", provider="fakebook", subject="42",
        email="jane@example.com", email_verified=True,
    )
    sign_in_client(client, commenter)
    body = client.get("/auth/me").json
    assert body is not None
    assert body["authenticated"] is True
    assert body["commenter"] == {
        "id": commenter.public_id, "display_name": "Jane", "email": "jane@example.com",
        "email_verified": True, "website": None, "guest": False, "blocked": False,
        # No picture was stored: their identicon, served by the site.
        "avatar_url": avatar_url_of(app, commenter),
    }
    assert body["identities"] == [{
        "provider": "fakebook", "subject": "42", "display_name": "Jane", "username": None,
        "email": "jane@example.com", "email_verified": True,
    }]
    assert body["signed_in_with"] == "fakebook"


def test_the_block_for_an_anonymous_visitor_lists_icons_and_guest_fields(app: Flask):
    html = app.test_client().get("/page?x=1").get_data(as_text=True)
    assert "Fill in your details below or click an icon to log in" in html
    # A button of the host's form: it posts the draft without JS; the script opens the popup.
    assert 'formaction="/auth/login/fakebook?next=%2Fpage%3Fx%3D1&amp;popup=0"' in html
    assert 'data-popup-url="/auth/login/fakebook?next=%2Fpage%3Fx%3D1&amp;popup=1"' in html
    assert "<svg" in html  # Fakebook's inline icon
    assert re.search(r'sa-letter" aria-hidden="true">L<', html)  # Letterbox has no icon
    assert "Log in with Letterbox" in html and 'name="email"' in html


def test_the_block_for_a_signed_in_commenter(app: Flask):
    client = app.test_client()
    sign_in_client(client, display_name="Jane <b>", provider="fakebook")
    html = client.get("/page").get_data(as_text=True)
    assert "You are commenting using your Fakebook account." in html
    assert "Jane &lt;b&gt;" in html
    assert 'formaction="/auth/logout?next=/page"' in html


def test_popup_result_posts_only_to_this_origin_and_refers_nowhere(app: Flask):
    # The request claims another host: the message still goes only to the site's own origin.
    with app.test_request_context("/auth/callback/x", base_url="https://evil.example"):
        response = popup_result("signed-in", next_url="https://evil.example/")
    html = response.get_data(as_text=True)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(re.search(r'id="sa-result">(.*?)</script>', html).group(1))  # type: ignore[union-attr]
    assert data == {
        "payload": {"type": "social-auth", "status": "signed-in"},
        "origins": ["http://localhost"],
        "next": "/",
    }
    assert '"*"' not in html


def test_popup_result_cannot_be_broken_out_of_by_a_message(app: Flask):
    with app.test_request_context("/"):
        html = popup_result("error", message="</script><script>alert(1)</script>").get_data(
            as_text=True
        )
    assert "<script>alert(1)" not in html


@pytest.mark.parametrize(
    ("value", "expected"),
    [("/posts/a?x=1", "/posts/a?x=1"), ("//evil.example", "/"), ("https://evil.example", "/"),
     ("/\\evil.example", "/"), ("", "/"), (None, "/"), ("/a\r\nSet-Cookie: x", "/")],
)
def test_next_stays_on_this_site(value, expected):
    assert safe_next(value) == expected


def test_a_draft_comes_back_once(app: Flask):
    @app.post("/keep")
    def keep() -> str:
        from flask import request

        set_draft(None, request.form["text"])
        return "kept"

    client = app.test_client()
    client.post("/keep", data={"text": "My half-written <comment>"})
    assert "My half-written &lt;comment&gt;</textarea>" in client.get("/page").get_data(
        as_text=True
    )
    assert "</textarea>" in client.get("/page").get_data(as_text=True)
    assert "half-written" not in client.get("/page").get_data(as_text=True)


def test_logging_out_from_the_comment_form_keeps_the_draft(app: Flask):
    client = app.test_client()
    sign_in_client(client)
    data = {"comment": "Draft text", "social_auth_draft_field": "comment"}
    response = client.post("/auth/logout?next=/page", data=data, headers=csrf_headers(client))
    assert response.status_code == 302 and response.headers["Location"] == "/page"
    assert "Draft text</textarea>" in client.get("/page").get_data(as_text=True)


def test_unknown_methods_and_bad_routes_answer_4xx_in_the_asked_format(app: Flask):
    client = app.test_client()
    response = client.get("/auth/guest", headers={"Accept": "application/json"})
    assert response.status_code == 405 and response.json is not None
    assert client.get("/auth/email/verify?token=%00%01").status_code == 400


def test_store_is_reachable_from_the_state(app: Flask):
    assert get_state(app).store is not None


def test_the_host_app_can_override_the_block_template(tmp_path: Path):
    from social_auth import SocialAuth
    from tests.webapp import Fakebook

    folder = tmp_path / "templates" / "social_auth"
    folder.mkdir(parents=True)
    (folder / "login_block.html").write_text("<p>Our own block, {{ commenter.display_name }}</p>")
    host = Flask("host", template_folder=str(tmp_path / "templates"))
    host.config.update(
        SECRET_KEY="views-tests-secret-key",
        SOCIAL_AUTH_DATABASE_URI=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        SOCIAL_AUTH_PROVIDERS={"fakebook": {}},
        SOCIAL_AUTH_SITE_URL="http://localhost",
    )
    SocialAuth(host, providers=[Fakebook])

    @host.get("/")
    def index() -> str:
        from flask import render_template_string

        return render_template_string("{{ social_auth_login() }}")

    assert host.test_client().get("/").get_data(as_text=True) == "<p>Our own block, </p>"

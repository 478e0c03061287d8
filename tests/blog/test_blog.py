"""The example blog: posts, guest comments awaiting moderation, signed-in comments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient

from examples.blog import create_app
from social_auth import ConfigError
from social_auth.testing import make_commenter, sign_in_client
from social_auth.web.moderation import form_fields
from tests.webapp import Fakebook, RecordingMailer

POST = "/posts/walking-the-coast-path"


def blog(tmp_path: Path, **config: object) -> Flask:
    return create_app(
        {
            "SECRET_KEY": "blog-tests-secret-key",
            "SOCIAL_AUTH_DATABASE_URI": f"sqlite:///{tmp_path / 'auth.sqlite3'}",
            "BLOG_DATABASE_URI": f"sqlite:///{tmp_path / 'blog.sqlite3'}",
            "BLOG_PROVIDER_ADAPTERS": [Fakebook],
            "SOCIAL_AUTH_PROVIDERS": {"fakebook": {}},
            "SOCIAL_AUTH_MAILER": RecordingMailer(),
            "SOCIAL_AUTH_SITE_URL": "http://localhost",
            **config,
        }
    )


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return blog(tmp_path)


def token(client: FlaskClient) -> str:
    body = client.get("/auth/me").json
    assert body is not None
    return str(body["csrf_token"])


def comment(client: FlaskClient, text: str, **fields: str):
    # The block's hidden fields as a person's browser posts them (a form open for 30 s).
    data = {"comment": text, "csrf_token": token(client), **form_fields(client.application),
            **fields}
    return client.post(f"{POST}/comments", data=data)


def test_the_front_page_lists_the_posts(app: Flask):
    html = app.test_client().get("/").get_data(as_text=True)
    assert "Three days on the coast path" in html and "A sourdough starter" in html


def test_an_unknown_post_is_a_404(app: Flask):
    assert app.test_client().get("/posts/nope").status_code == 404


def test_a_first_guest_comment_waits_for_moderation(app: Flask):
    client = app.test_client()
    response = comment(client, "Lovely walk!", name="Ann", email="ann@example.com")
    assert response.status_code == 302
    html = client.get(POST).get_data(as_text=True)
    assert "Lovely walk!" in html and "Your comment is awaiting moderation." in html
    assert "Lovely walk!" not in app.test_client().get(POST).get_data(as_text=True)


def test_a_guest_with_an_approved_comment_is_published_directly(app: Flask):
    client = app.test_client()
    comment(client, "First", name="Ann", email="ann@example.com")
    result: Result = app.test_cli_runner().invoke(args=["blog", "approve", "1"])
    assert result.exit_code == 0, result.output
    comment(client, "Second", name="Ann", email="ann@example.com")
    html = app.test_client().get(POST).get_data(as_text=True)
    assert "First" in html and "Second" in html


def test_a_signed_in_comment_shows_name_avatar_and_provider(app: Flask):
    client = app.test_client()
    commenter = make_commenter(
        app, display_name="Jane", provider="fakebook", avatar_url="https://img.example/j.png"
    )
    sign_in_client(client, commenter)
    assert comment(client, "Signed-in words").status_code == 302
    html = app.test_client().get(POST).get_data(as_text=True)
    assert "Signed-in words" in html and "via Fakebook" in html
    # The site's identicon (nothing was fetched): the reader's browser never loads img.example.
    assert "img.example" not in html and 'src="/auth/avatars/i/' in html


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "<b>x</b>", "email": "a@example.com"}, "cannot contain"),
        ({"name": "A", "email": "a@example.com", "website": "javascript:alert(1)"}, "https"),
        ({"name": "A", "email": "a@example.com\r\nBcc: b@example.com"}, "control"),
    ],
)
def test_bad_guest_details_rerender_the_form_with_the_draft(app: Flask, fields, message):
    client = app.test_client()
    response = comment(client, "Keep me", **fields)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and "Keep me</textarea>" in html


def test_a_comment_without_a_csrf_token_is_refused(app: Flask):
    client = app.test_client()
    response = client.post(f"{POST}/comments", data={"comment": "x", "name": "A",
                                                     "email": "a@example.com"})
    assert response.status_code == 403
    assert "x" not in app.test_cli_runner().invoke(args=["blog", "pending"]).output


def test_an_empty_or_huge_comment_is_a_400(app: Flask):
    client = app.test_client()
    fields = {"name": "Ann", "email": "ann@example.com"}
    assert comment(client, "", **fields).status_code == 400
    assert comment(client, "x" * 10_000, **fields).status_code == 400


def test_when_verification_is_required_a_guest_confirms_before_commenting(tmp_path: Path):
    mailer = RecordingMailer()
    app = blog(tmp_path, SOCIAL_AUTH_GUEST_VERIFY_EMAIL=True, SOCIAL_AUTH_MAILER=mailer)
    client = app.test_client()
    response = comment(client, "Wait for me", name="Ann", email="ann@example.com")
    assert response.status_code == 200
    assert "confirm your email" in response.get_data(as_text=True)
    assert [to for to, _, _ in mailer.sent] == ["ann@example.com"]
    assert "Wait for me" not in app.test_cli_runner().invoke(args=["blog", "pending"]).output
    link = re.search(r"http://localhost/auth/email/verify\?token=(\S+)", mailer.sent[0][2])
    assert link is not None
    confirm_page = client.get("/auth/email/verify", query_string={"token": link.group(1)})
    assert confirm_page.status_code == 200
    done = client.post(
        "/auth/email/verify", data={"csrf_token": token(client), "token": link.group(1)}
    )
    assert done.status_code == 302 and done.headers["Location"] == POST + "#respond"
    page = client.get(POST).get_data(as_text=True)
    assert "Wait for me</textarea>" in page  # the draft waited in the browser
    assert comment(client, "Wait for me").status_code == 302
    assert "Wait for me" in app.test_cli_runner().invoke(args=["blog", "pending"]).output


def test_without_a_secret_outside_debug_the_blog_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("BLOG_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"SOCIAL_AUTH_DATABASE_URI": f"sqlite:///{tmp_path / 'a.sqlite3'}"})

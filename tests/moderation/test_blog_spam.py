"""Moderation end to end in the example blog: the block's fields, the Akismet line and privacy
section, what each verdict does to a comment, and the owner's approve / spam buttons."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from examples.blog.models import Comment
from social_auth import get_state
from social_auth.signals import comment_discarded, comment_held, comment_published
from social_auth.testing import csrf_headers, make_commenter, sign_in_client
from social_auth.web.moderation import TOKEN_FIELD, form_fields, form_token
from tests.blog.test_blog_admin import PASSWORD, log_in
from tools.akismet_fake import VALID_KEY, FakeAkismet

POST = "/posts/walking-the-coast-path"
SEED_LINE = "This site uses Akismet to reduce spam. Learn how your comment data is processed."


@pytest.fixture
def app(tmp_path: Path, akismet: FakeAkismet, blogs: Callable[..., Flask]) -> Flask:
    return blogs(tmp_path, SOCIAL_AUTH_AKISMET_KEY=VALID_KEY,
                 SOCIAL_AUTH_AKISMET_URL=akismet.url, SOCIAL_AUTH_AKISMET_TIMEOUT=0.5)


def page(client: FlaskClient, path: str = POST) -> str:
    return html.unescape(client.get(path).get_data(as_text=True))


def text_of(markup: str) -> str:
    import re

    return " ".join(re.sub(r"<[^>]+>", "", markup).split())


def post(client: FlaskClient, body: str, **fields: str) -> Any:
    data = {"comment": body, **form_fields(client.application), **fields}
    return client.post(f"{POST}/comments", data=data, headers=csrf_headers(client))


def comments(app: Flask) -> list[Comment]:
    with app.extensions["blog_sessions"]() as s:
        return list(s.scalars(select(Comment).order_by(Comment.id)))


def signed_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    sign_in_client(client, make_commenter(app, display_name="Jane", provider="fakebook"))
    return client


def test_with_a_key_the_block_shows_the_seed_line_and_the_privacy_page_explains_it(app: Flask):
    client = app.test_client()
    shown = page(client)
    assert SEED_LINE in text_of(shown)
    assert 'href="/auth/privacy#spam"' in shown
    assert 'name="sa_hp_url"' in shown and f'name="{TOKEN_FIELD}"' in shown
    privacy = page(client, "/auth/privacy")
    assert "Spam checking with Akismet" in privacy and "your IP address" in privacy


def test_without_a_key_there_is_no_akismet_line_but_the_tiers_apply(
    tmp_path: Path, blogs: Callable[..., Flask]
):
    app = blogs(tmp_path)
    client = app.test_client()
    shown = page(client)
    assert "Akismet" not in shown and 'name="sa_hp_url"' in shown
    assert "Akismet" not in page(client, "/auth/privacy")
    post(client, "First!", name="Ann", email="ann@example.com")
    jane = signed_in(app)
    post(jane, "Signed in")
    assert [(c.body, c.status, c.trust) for c in comments(app)] == [
        ("First!", "pending", "guest"), ("Signed in", "approved", "identity")]


def test_a_trusted_commenter_with_a_ham_answer_is_published(app: Flask, akismet: FakeAkismet):
    jane = signed_in(app)
    response = post(jane, "Lovely walk")
    assert response.status_code == 302 and "#comment-1" in response.headers["Location"]
    assert "Lovely walk" in page(app.test_client())
    [sent] = akismet.calls("comment-check")
    assert sent["comment_author"] == "Jane" and sent["permalink"] == f"http://localhost{POST}"
    assert sent["blog"] == "http://localhost/" and sent["user_ip"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [({"sa_hp_url": "http://cheap.example"}, "honeypot filled"),
     ({TOKEN_FIELD: "forged"}, "form token invalid"),
     ({TOKEN_FIELD: ""}, "form token missing")],
)
def test_a_spam_likely_form_is_held_even_for_a_trusted_commenter(
    app: Flask, akismet: FakeAkismet, fields: dict[str, str], reason: str
):
    post(signed_in(app), "Words", **fields)
    [held] = comments(app)
    assert held.status == "pending" and reason in (held.moderation_reason or "")
    assert akismet.calls("comment-check")[0]["sa_hp_url"] == fields.get("sa_hp_url", "")


def test_a_form_posted_at_bot_speed_is_held(app: Flask):
    client = signed_in(app)
    post(client, "Fast", **{TOKEN_FIELD: form_token(app)})  # rendered this very moment
    [held] = comments(app)
    assert held.status == "pending" and "posted too fast" in (held.moderation_reason or "")


def test_a_discarded_comment_is_not_stored_and_answers_as_a_held_one(
    app: Flask, akismet: FakeAkismet
):
    held_client, bot_client = app.test_client(), app.test_client()
    akismet.mode = "spam"
    held = post(held_client, "Buy watches", name="Ann", email="ann@example.com")
    akismet.mode = "discard"
    dropped = post(bot_client, "Buy watches", name="Bot", email="bot@example.com")
    assert (dropped.status_code, dropped.headers["Location"]) == (
        held.status_code, held.headers["Location"])
    assert [c.author_name for c in comments(app)] == ["Ann"]
    for client in (held_client, bot_client):
        shown = page(client)
        assert "Buy watches" in shown and "Your comment is awaiting moderation." in shown


def test_when_akismet_is_down_the_comment_is_kept_held_and_the_admin_says_why(
    app: Flask, akismet: FakeAkismet
):
    akismet.mode = "slow"
    post(signed_in(app), "Kept safe")
    [held] = comments(app)
    assert held.status == "pending"
    owner = app.test_client()
    log_in(owner, PASSWORD)
    admin = page(owner, "/admin")
    assert "Kept safe" in admin and "Akismet check unavailable: timeout" in admin
    assert "trust: identity" in text_of(admin)


def test_approving_a_comment_akismet_called_spam_reports_ham_and_trusts_the_guest(
    app: Flask, akismet: FakeAkismet
):
    guest = app.test_client()
    akismet.mode = "spam"
    post(guest, "Honest words", name="Ann", email="ann@example.com")
    owner = app.test_client()
    log_in(owner, PASSWORD)
    [held] = comments(app)
    owner.post(f"/admin/comments/{held.id}/approve", headers=csrf_headers(owner))
    assert akismet.calls("submit-ham")[0]["comment_content"] == "Honest words"
    akismet.mode = "ham"
    post(guest, "Second words")
    assert [c.status for c in comments(app)] == ["approved", "approved"]


def test_marking_spam_reports_it_and_can_block_the_commenter_everywhere(
    app: Flask, akismet: FakeAkismet
):
    guest = app.test_client()
    post(guest, "Sneaky link", name="Ann", email="ann@example.com")
    owner = app.test_client()
    log_in(owner, PASSWORD)
    [held] = comments(app)
    owner.post(f"/admin/comments/{held.id}/spam", data={"block": "on"},
               headers=csrf_headers(owner))
    assert akismet.calls("submit-spam")[0]["comment_content"] == "Sneaky link"
    assert comments(app)[0].status == "spam"
    commenter = get_state(app).store.get_by_public_id(held.commenter_id)
    assert commenter is not None and commenter.is_blocked


def test_each_verdict_sends_its_signal(app: Flask, akismet: FakeAkismet):
    seen: list[tuple[str, str]] = []

    def receiver(name: str) -> Any:
        return lambda sender, *, submission, verdict: seen.append((name, verdict.action))

    receivers = [receiver("published"), receiver("held"), receiver("discarded")]
    for signal, fn in zip((comment_published, comment_held, comment_discarded), receivers,
                          strict=True):
        signal.connect(fn)
    try:
        post(signed_in(app), "One")
        post(app.test_client(), "Two", name="Ann", email="ann@example.com")
        akismet.mode = "discard"
        post(app.test_client(), "Three", name="Bot", email="bot@example.com")
    finally:
        for signal, fn in zip((comment_published, comment_held, comment_discarded), receivers,
                              strict=True):
            signal.disconnect(fn)
    assert seen == [("published", "publish"), ("held", "hold"), ("discarded", "discard")]


def test_an_erasure_drops_what_was_kept_for_akismet(app: Flask):
    guest = app.test_client()
    post(guest, "Hello", name="Ann", email="ann@example.com")
    facts = comments(app)[0].moderation_facts or ""
    assert "Ann" in facts and "127.0.0.1" in facts
    guest.post("/auth/me/erase", headers=csrf_headers(guest))
    assert comments(app)[0].moderation_facts is None

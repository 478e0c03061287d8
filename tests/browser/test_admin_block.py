"""The site owner blocks a commenter from the admin pages while the commenter's post page is
open in another browser; the commenter's next request shows the signed-out block."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from social_auth import get_state
from social_auth.testing import make_commenter, session_cookie
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

POST = "/posts/fixing-a-wobbly-table"
PASSWORD = "browser-owner-password"


@pytest.fixture
def owner_password(blog_server: tuple[Flask, str]) -> Iterator[str]:
    # The blog reads its admin password at request time, so the shared server can get one.
    app, _ = blog_server
    previous = app.config.get("BLOG_ADMIN_PASSWORD")
    app.config["BLOG_ADMIN_PASSWORD"] = PASSWORD
    try:
        yield PASSWORD
    finally:
        app.config["BLOG_ADMIN_PASSWORD"] = previous


def test_an_admin_block_signs_the_commenter_out_on_their_next_request(
    browser: Any, context: Any, blog_server: tuple[Flask, str], owner_password: str
):
    app, base = blog_server
    tag = make_commenter(app, display_name="Wobbly Table Fan", provider="fakebook",
                         email="fan@example.com", email_verified=True,
                         avatar_url=f"{base}/static/avatar.svg")
    name, value = session_cookie(app, tag, provider="fakebook")
    context.add_cookies([{"name": name, "value": value, "url": base}])
    reader = context.new_page()
    reader.goto(POST)
    assert "You are commenting using your Fakebook account." in reader.locator(
        ".sa-block"
    ).inner_text()

    # The site owner, in a browser context of their own (other cookies).
    owner_context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    owner_context.set_default_timeout(10_000)
    try:
        owner = owner_context.new_page()
        owner.goto("/admin")
        owner.fill("#password", owner_password)
        owner.get_by_role("button", name="Log in").click()
        owner.get_by_role("link", name="Commenters").click()
        owner.fill("#sa-q", "Wobbly")
        owner.get_by_role("button", name="Search").click()
        owner.get_by_role("link", name="Wobbly Table Fan").click()
        owner.get_by_role("heading", name="Wobbly Table Fan").wait_for()
        assert "fan@example.com" in owner.content()
        screenshot(owner, "admin-commenter-page.png")

        owner.fill("#block-until", "7d")
        owner.get_by_role("button", name="Block").click()
        owner.get_by_text("The commenter is blocked and was signed out everywhere.").wait_for()
        screenshot(owner, "admin-commenter-blocked.png")
    finally:
        owner_context.close()

    stored = get_state(app).store.require(tag.public_id)
    assert stored.is_blocked and stored.blocked_until is not None

    reader.reload()
    reader.get_by_text("Fill in your details below or click an icon to log in").wait_for()
    assert not reader.locator(".sa-signed").is_visible()
    assert reader.locator(".sa-choose").is_visible()

"""A guest, with no email proven and no provider, saves a passkey after commenting and is the
same commenter next time, on any page of the site."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from social_auth import get_state
from tests.passkeys.conftest import POST, Authenticator

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_guest_saves_a_passkey_after_commenting_and_comes_back_as_the_same_commenter(
    context: Any, site: tuple[Flask, str]
):
    app, _ = site
    page = context.new_page()
    authenticator = Authenticator(page)
    page.goto(POST)
    page.fill("#comment", "First time here")
    page.fill("input[name=name]", "Gwen Guest")
    page.fill("input[name=email]", "gwen@example.com")
    page.click("button.submit")
    page.wait_for_url(f"**{POST}#comment-*")
    guest_id = page.evaluate("fetch('/auth/me').then(r => r.json())")["commenter"]["id"]
    page.get_by_role("button", name="Save a passkey").click()
    page.get_by_text("Passkey saved").wait_for()
    assert not page.get_by_role("button", name="Save a passkey").is_visible()
    store = get_state(app).store
    guest = store.require(guest_id)
    assert guest.is_guest and not guest.email_verified and guest.passkey_count == 1
    assert len(authenticator.credentials()) == 1

    context.clear_cookies()
    page.goto("/posts/walking-the-coast-path")  # another page of the site
    page.locator(".sa-signed").wait_for()
    me = page.evaluate("fetch('/auth/me').then(r => r.json())")
    assert me["commenter"]["id"] == guest_id
    assert me["commenter"]["guest"] is True
    assert "You are commenting as a guest." in page.locator(".sa-block").inner_text()
    assert not page.get_by_role("button", name="Save a passkey").is_visible()


def test_an_anonymous_visitor_is_offered_no_passkey_to_save(context: Any):
    page = context.new_page()
    Authenticator(page)
    page.goto(POST)
    assert page.get_by_role("button", name="Use a passkey").is_visible()
    assert not page.get_by_role("button", name="Save a passkey").is_visible()

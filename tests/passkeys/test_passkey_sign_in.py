"""Passkeys in a real browser: a signed-in commenter adds one on the connections page, then
signs in with it from the comment block (button and conditional UI), without a reload."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from social_auth import get_state
from social_auth.testing import make_commenter, session_cookie
from tests.passkeys.conftest import NO_CONDITIONAL_UI, POST, Authenticator, b64url

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def add_passkey_on_connections_page(context: Any, app: Flask, base: str, name: str) -> Any:
    commenter = make_commenter(app, display_name=name, provider="fakebook")
    cookie, value = session_cookie(app, commenter, provider="fakebook")
    context.add_cookies([{"name": cookie, "value": value, "url": base}])
    page = context.new_page()
    authenticator = Authenticator(page)
    page.goto("/auth/connections")
    page.get_by_role("button", name="Add a passkey").click()
    page.locator("li.passkey").wait_for()
    return commenter, page, authenticator


def test_a_commenter_adds_a_passkey_and_signs_in_with_it_from_the_block(
    context: Any, site: tuple[Flask, str]
):
    app, base = site
    commenter, page, authenticator = add_passkey_on_connections_page(context, app, base, "Pia")
    stored = get_state(app).store.passkeys_of(commenter)
    assert len(stored) == 1
    assert [b64url(c["credentialId"]) for c in authenticator.credentials()] == [
        stored[0].credential_id
    ]
    assert get_state(app).store.require_by_id(commenter.id).ways_to_sign_in == 2
    context.clear_cookies()
    page.add_init_script(NO_CONDITIONAL_UI)
    page.goto(POST)
    page.evaluate("window.notReloaded = true")
    page.fill("#comment", "Typed before signing in")
    page.get_by_role("button", name="Use a passkey").click()
    page.locator(".sa-name", has_text="Pia").wait_for()
    assert page.locator(".sa-signed").is_visible()
    assert page.evaluate("window.notReloaded") is True
    assert page.input_value("#comment") == "Typed before signing in"
    assert get_state(app).store.passkeys_of(commenter)[0].last_used_at is not None
    # The session is real: the server knows the commenter.
    me = page.evaluate("fetch('/auth/me').then(r => r.json())")
    assert me["commenter"]["id"] == commenter.public_id


def test_conditional_ui_signs_in_from_the_email_field(context: Any, site: tuple[Flask, str]):
    app, base = site
    commenter, page, _ = add_passkey_on_connections_page(context, app, base, "Cody")
    context.clear_cookies()
    page.goto(POST)
    page.fill("#comment", "Still here")
    # The virtual authenticator answers a conditional request by itself, as a person picking
    # the passkey from the email field's autofill would.
    page.locator(".sa-name", has_text="Cody").wait_for()
    assert page.get_attribute("input[name=email]", "autocomplete") == "username webauthn"
    assert page.input_value("#comment") == "Still here"
    me = page.evaluate("fetch('/auth/me').then(r => r.json())")
    assert me["commenter"]["id"] == commenter.public_id

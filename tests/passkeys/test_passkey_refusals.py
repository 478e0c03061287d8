"""What a passkey sign-in refuses, in a real browser: a sign count that goes backwards (with an
audit event), an assertion made on another origin or for another RP id, a replayed challenge,
and a passkey the site removed (the browser is told to forget it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select, update

from social_auth import get_state
from social_auth.store import AuditEvent, Passkey
from tests.passkeys.attacker import attacker_app
from tests.passkeys.conftest import NO_CONDITIONAL_UI, POST, Authenticator, b64url
from tests.passkeys.test_passkey_sign_in import add_passkey_on_connections_page
from tests.providers.servers import serve_site

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def signed_out_page(context: Any, page: Any) -> None:
    context.clear_cookies()
    page.add_init_script(NO_CONDITIONAL_UI)
    page.goto(POST)


def test_a_sign_count_that_goes_backwards_is_refused_and_audited(
    context: Any, site: tuple[Flask, str]
):
    app, base = site
    commenter, page, _ = add_passkey_on_connections_page(context, app, base, "Clone Victim")
    store = get_state(app).store
    with store.session() as s, s.begin():
        s.execute(update(Passkey).where(Passkey.commenter_id == commenter.id)
                  .values(sign_count=1000))
    signed_out_page(context, page)
    page.get_by_role("button", name="Use a passkey").click()
    page.get_by_text("may be a copy").wait_for()
    assert not page.locator(".sa-signed").is_visible()
    me = page.evaluate("fetch('/auth/me').then(r => r.json())")
    assert me["authenticated"] is False
    events = [e.action for e in store.audit_log(commenter)]
    assert "passkey_sign_count" in events
    assert store.passkeys_of(commenter)[0].sign_count == 1000  # nothing recorded


def _relay_session(base: str) -> tuple[requests.Session, str, dict[str, Any]]:
    """A session at the real site holding a fresh login challenge (as a relaying attacker)."""
    http = requests.Session()
    csrf = http.get(f"{base}/auth/me", timeout=5).json()["csrf_token"]
    answer = http.post(f"{base}/auth/passkeys/login/options", headers={"X-CSRF-Token": csrf},
                       json={}, timeout=5)
    assert answer.status_code == 200
    return http, csrf, answer.json()["publicKey"]


def _inject_for(page: Any, credential: dict[str, Any], rp_id: str) -> None:
    """The same key and credential id, held by a second authenticator for ``rp_id``."""
    other = Authenticator(page, transport="usb")  # one internal one per browser
    copy = {k: credential[k] for k in ("credentialId", "privateKey", "userHandle", "signCount")}
    other.cdp.send("WebAuthn.addCredential", {
        "authenticatorId": other.id,
        "credential": {**copy, "rpId": rp_id, "isResidentCredential": True},
    })


@pytest.mark.parametrize("rp_id", ["localhost", "evil.localhost"])
def test_an_assertion_made_on_another_origin_or_for_another_rp_id_is_refused(
    context: Any, site: tuple[Flask, str], rp_id: str
):
    app, base = site
    _commenter, page, authenticator = add_passkey_on_connections_page(
        context, app, base, f"Phish {rp_id}"
    )
    credential = authenticator.credentials()[0]
    if rp_id != "localhost":  # the same key, held for the attacker's RP id as well
        _inject_for(page, credential, rp_id)
    http, csrf, options = _relay_session(base)
    with serve_site(lambda _address: attacker_app(), host="localhost") as (_, evil):
        # Another origin: the same host on another port (RP ids ignore ports), or a host of
        # the attacker's own (for its own RP id: the key copied there).
        page.goto(evil.replace("localhost", rp_id) + "/")
        assertion = page.evaluate("([o, rp]) => window.assertion(o, rp)", [options, rp_id])
    assert assertion["id"] == b64url(credential["credentialId"])
    answer = http.post(f"{base}/auth/passkeys/login", headers={"X-CSRF-Token": csrf},
                       json={"credential": assertion}, timeout=5)
    assert answer.status_code == 400
    assert answer.json()["error"] == "passkey_failed"
    assert http.get(f"{base}/auth/me", timeout=5).json()["authenticated"] is False


def test_a_replayed_challenge_and_assertion_are_refused(context: Any, site: tuple[Flask, str]):
    app, base = site
    _commenter, page, _ = add_passkey_on_connections_page(context, app, base, "Replay Target")
    signed_out_page(context, page)
    cookies_before = {c["name"]: c["value"] for c in context.cookies()}
    with page.expect_request("**/auth/passkeys/login") as sent:
        page.get_by_role("button", name="Use a passkey").click()
    page.locator(".sa-name", has_text="Replay Target").wait_for()
    request = sent.value
    headers = request.all_headers()
    # The attacker replays exactly what the browser sent, with the cookies it sent.
    replay = requests.post(
        f"{base}/auth/passkeys/login",
        data=request.post_data,
        headers={"Content-Type": "application/json", "Cookie": headers["cookie"],
                 "X-CSRF-Token": headers["x-csrf-token"]},
        timeout=5,
    )
    assert replay.status_code == 400
    assert "used already or has expired" in replay.json()["message"]
    assert "social_auth_session" not in replay.cookies
    assert "social_auth_passkey" in headers["cookie"]
    assert cookies_before  # the browser held its CSRF cookie before the ceremony


def test_a_removed_passkey_is_refused_and_the_browser_told_to_forget_it(
    context: Any, site: tuple[Flask, str]
):
    app, base = site
    commenter, page, authenticator = add_passkey_on_connections_page(
        context, app, base, "Removed Later"
    )
    credential_id = b64url(authenticator.credentials()[0]["credentialId"])
    store = get_state(app).store
    with store.session() as s, s.begin():  # the site deletes it (an admin's clean-up, say)
        s.execute(Passkey.__table__.delete().where(Passkey.commenter_id == commenter.id))
    signed_out_page(context, page)
    page.get_by_role("button", name="Use a passkey").click()
    page.get_by_text("no longer known here").wait_for()
    page.wait_for_function("1")
    assert authenticator.credentials() == []
    assert [b64url(c) for c in authenticator.deleted] == [credential_id]
    assert not page.locator(".sa-signed").is_visible()


def test_removing_a_passkey_on_the_connections_page_tells_the_browser(
    context: Any, site: tuple[Flask, str]
):
    app, base = site
    commenter, page, authenticator = add_passkey_on_connections_page(
        context, app, base, "Tidy Person"
    )
    page.locator("li.passkey").get_by_role("button", name="Remove").click()
    page.get_by_text("No passkeys yet.").wait_for()
    assert get_state(app).store.passkeys_of(commenter) == []
    assert authenticator.credentials() == []
    with get_state(app).store.session() as s:
        actions = list(s.scalars(select(AuditEvent.action)
                                 .where(AuditEvent.commenter_id == commenter.id)))
    assert "passkey_removed" in actions
    assert json.dumps(actions)

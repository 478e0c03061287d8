"""What a click on a mailed link proves: the mailbox, to the browser that opens it, nothing more.

Two people's browsers on the example blog under a real server, and a real SMTP mailbox. The
attack of issue 11 (finding 2): the attacker's commenter carries the victim's address
(unverified, from a provider or typed in), the attacker asks for a confirmation link, the
victim gets a genuine mail and presses Confirm. None of its three outcomes may happen: the
attacker's commenter verified, the victim's browser signed in to it, the victim's guest comments
or later sign-in going to it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from social_auth import get_state
from social_auth.store import Commenter
from social_auth.store.models import EmailLink
from tests.security.live_blog import Browser, live_blog, newest_mail
from tests.smtp import Inbox, smtp_server

__all__ = ["smtp_server"]  # the fixture, used by name

VICTIM = "victim@example.com"


@pytest.fixture
def site(tmp_path: Path, smtp_server: tuple[int, Inbox]) -> Iterator[tuple[str, Flask, Inbox]]:
    port, inbox = smtp_server
    with live_blog(tmp_path, port, SOCIAL_AUTH_LINK_BY_VERIFIED_EMAIL=True) as (base, app):
        yield base, app, inbox


def commenter(app: Flask, public_id: str | None) -> Commenter:
    assert public_id is not None
    found = get_state(app).store.get_by_public_id(public_id)
    assert found is not None
    return found


# -- the reproduction of finding 2 -------------------------------------------------------------


@pytest.mark.parametrize("attacker_has", ["unverified-provider-email", "typed-guest-email"])
def test_the_victims_click_gives_the_attacker_nothing(
    site: tuple[str, Flask, Inbox], attacker_has: str
):
    base, app, inbox = site
    victim, attacker = Browser(base), Browser(base)
    victim.comment_as_guest("Victim", VICTIM, "My earlier comment")
    victims_guest = victim.commenter_id()

    if attacker_has == "unverified-provider-email":  # dev with the box unticked, like WordPress
        attacker.dev_sign_in("mallory", "Mallory", VICTIM, verified=False)
        how = "signed in with Dev sign-in"
    else:  # a guest changing their email to the victim's (email_start's guest update path)
        attacker.comment_as_guest("Mallory", "mallory@example.org")
        how = "commenting as a guest"
    assert attacker.ask_for_link(VICTIM).status_code == 200
    attackers = attacker.commenter_id()

    # The mail names the sign-in that asked and says what confirming does.
    message, body, token = newest_mail(inbox, 1)
    assert message["To"] == VICTIM
    assert f"\u201cMallory\u201d ({how})" in body and base.removeprefix("http://") in body
    assert "works only in the browser that asked" in body

    page = victim.open_link(token)
    pressed = victim.confirm(token)  # pressed anyway (a form of the old page, a script)

    # 1. The attacker's commenter is not verified.
    assert commenter(app, attackers).email_verified_at is None
    # 2. The victim's browser is still the victim's own guest, not the attacker's commenter.
    assert victim.commenter_id() == victims_guest != attackers
    # 3a. The victim's guest comments cannot be claimed by the attacker (who signs in again,
    # as they would: a confirmation ends the confirmed commenter's other sessions).
    if attacker_has == "unverified-provider-email":
        attacker.dev_sign_in("mallory", "Mallory", VICTIM, verified=False)
    assert attacker.commenter_id() == attackers
    connections = attacker.http.get(
        f"{base}/auth/connections", headers={"Accept": "application/json"}, timeout=10
    ).json()
    assert connections["claimable_guests"] == []
    assert attacker.post(f"/auth/claim/{victims_guest}").status_code == 409
    assert commenter(app, victims_guest).merged_into_id is None
    # 3b. The victim's later first sign-in with a verified provider does not link into it.
    victim.dev_sign_in("the-real-victim", "Victim", VICTIM, verified=True)
    assert victim.commenter_id() not in (attackers, None)
    assert [i["subject"] for i in attacker.me()["identities"]] == (
        ["mallory"] if attacker_has == "unverified-provider-email" else []
    )
    # And the victim was told why, in a page without a button.
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    assert "asked for in another browser" in page.text and "Mallory" in page.text
    assert "<form" not in page.text
    assert pressed.status_code == 403 and "Nothing was changed" in pressed.text


def test_a_copy_of_the_askers_session_in_another_browser_cannot_confirm(
    site: tuple[str, Flask, Inbox],
):
    # Fixation: the attacker's session cookie planted in the victim's browser. The browser
    # then holds the asker, at the right version; only the binding tells it is not the one
    # that asked.
    base, _app, inbox = site
    attacker, victim = Browser(base), Browser(base)
    attacker.dev_sign_in("mallory", "Mallory", VICTIM, verified=False)
    attacker.ask_for_link()
    _, _, token = newest_mail(inbox, 1)
    for cookie in attacker.http.cookies:
        if cookie.name == "social_auth_session":
            victim.http.cookies.set(cookie.name, cookie.value, domain=cookie.domain)
    assert victim.commenter_id() == attacker.commenter_id()
    assert victim.confirm(token).status_code == 403
    assert attacker.me()["commenter"]["email_verified"] is False


def test_the_asking_browser_signed_in_as_someone_else_since_cannot_confirm(
    site: tuple[str, Flask, Inbox],
):
    base, app, inbox = site
    browser = Browser(base)
    browser.comment_as_guest("Ann", "ann@example.com")
    ann = browser.commenter_id()
    browser.ask_for_link()
    _, _, token = newest_mail(inbox, 1)
    browser.dev_sign_in("bob", "Bob", "bob@example.org", verified=False)
    bob = browser.commenter_id()
    page = browser.open_link(token)
    assert page.status_code == 200 and "out of date" in page.text
    refused = browser.confirm(token)
    assert refused.status_code == 400 and "has ended in this browser" in refused.text
    assert browser.commenter_id() == bob
    assert commenter(app, ann).email_verified_at is None


def test_the_asking_browser_that_signed_out_since_cannot_confirm(site: tuple[str, Flask, Inbox]):
    base, app, inbox = site
    browser = Browser(base)
    browser.comment_as_guest("Ann", "ann@example.com")
    ann = browser.commenter_id()
    browser.ask_for_link()
    _, _, token = newest_mail(inbox, 1)
    assert browser.post("/auth/logout").status_code == 302
    assert browser.confirm(token).status_code == 400
    assert browser.me()["authenticated"] is False
    assert commenter(app, ann).email_verified_at is None


# -- what still works ------------------------------------------------------------------------


def test_the_asking_browser_confirms_its_own_email_once(site: tuple[str, Flask, Inbox]):
    base, _app, inbox = site
    browser = Browser(base)
    browser.dev_sign_in("ann", "Ann", "ann@example.com", verified=False)
    assert browser.ask_for_link().status_code == 200
    _, body, token = newest_mail(inbox, 1)
    assert "\u201cAnn\u201d (signed in with Dev sign-in)" in body
    page = browser.open_link(token)
    assert "Pressing Confirm marks" in page.text and ">Confirm</button>" in page.text
    assert browser.me()["commenter"]["email_verified"] is False  # the page changed nothing
    done = browser.confirm(token)
    assert done.status_code == 302 and done.headers["Referrer-Policy"] == "no-referrer"
    me = browser.me()
    assert me["commenter"]["email_verified"] is True and me["signed_in_with"] == "dev"
    again = browser.confirm(token)
    assert again.status_code == 400 and "used already" in again.text
    assert browser.open_link(token).status_code == 400


def test_a_confirmation_for_an_address_with_a_verified_owner_signs_in_to_the_owner(
    site: tuple[str, Flask, Inbox],
):
    base, app, inbox = site
    owner = Browser(base)
    owner.dev_sign_in("ann", "Ann", "ann@example.com", verified=True)
    same_person_elsewhere = Browser(base)
    same_person_elsewhere.comment_as_guest("Ann on the phone", "ann@example.com")
    guest = same_person_elsewhere.commenter_id()
    same_person_elsewhere.ask_for_link()
    _, _, token = newest_mail(inbox, 1)
    page = same_person_elsewhere.open_link(token)
    assert "already belongs to" in page.text
    assert same_person_elsewhere.confirm(token).status_code == 302
    assert same_person_elsewhere.commenter_id() == owner.commenter_id()
    assert commenter(app, guest).email_verified_at is None  # one verified commenter per address


def test_a_sign_in_link_goes_to_the_verified_owner_and_works_in_any_browser_once(
    site: tuple[str, Flask, Inbox],
):
    base, _app, inbox = site
    owner = Browser(base)
    owner.dev_sign_in("ann", "Ann", "ann@example.com", verified=True)
    anonymous = Browser(base)
    assert anonymous.ask_for_link("ann@example.com").status_code == 200
    message, body, token = newest_mail(inbox, 1)
    assert message["Subject"].startswith("Sign in to") and "\u201cAnn\u201d" in body
    elsewhere = Browser(base)
    assert "Sign in by email" in elsewhere.open_link(token).text
    assert elsewhere.confirm(token).status_code == 302
    assert elsewhere.commenter_id() == owner.commenter_id()
    assert Browser(base).confirm(token).status_code == 400


def test_no_link_is_mailed_for_an_address_nobody_verified(site: tuple[str, Flask, Inbox]):
    base, _, inbox = site
    assert Browser(base).ask_for_link(VICTIM).status_code == 200
    assert inbox.wait_for(1, timeout=1) == []


# -- finding 3: once, newest only, nothing readable -------------------------------------------


def test_a_newer_link_for_the_address_kills_the_older(site: tuple[str, Flask, Inbox]):
    base, _app, inbox = site
    browser = Browser(base)
    browser.comment_as_guest("Ann", "ann@example.com")
    browser.ask_for_link()
    _, _, older = newest_mail(inbox, 1)
    browser.ask_for_link()
    _, _, newer = newest_mail(inbox, 2)
    assert older != newer
    assert browser.open_link(older).status_code == 400
    assert browser.confirm(older).status_code == 400
    assert browser.me()["commenter"]["email_verified"] is False
    assert browser.confirm(newer).status_code == 302
    assert browser.me()["commenter"]["email_verified"] is True


def test_the_token_says_nothing_and_only_its_hash_is_stored(site: tuple[str, Flask, Inbox]):
    base, app, inbox = site
    browser = Browser(base)
    browser.comment_as_guest("Ann", "ann@example.com")
    browser.ask_for_link()
    _, body, token = newest_mail(inbox, 1)
    decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    # Nothing of the address in it (a lone "@" byte turns up in 12% of random tokens).
    assert b"ann@" not in decoded.lower() and b"example" not in decoded.lower()
    assert len(token) == 43  # 32 random bytes
    with get_state(app).store.engine.connect() as conn:
        (row,) = conn.execute(select(EmailLink)).all()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(tuple(row))
    link_line = next(line for line in body.splitlines() if "token=" in line)
    assert link_line == f"{base}/auth/email/verify?token={token}"


@pytest.mark.parametrize(
    "token", ["", "x", "A" * 43, "A" * 5000, "%00", "../../etc", "\u202e"]
)
def test_unknown_or_malformed_tokens_are_a_clear_400(site: tuple[str, Flask, Inbox], token: str):
    base, _, _ = site
    browser = Browser(base)
    page = browser.open_link(token)
    assert page.status_code == 400 and "ask for a new one" in page.text
    assert browser.confirm(token).status_code == 400
    assert browser.get("/auth/email/verify").status_code == 400


def test_two_workers_on_one_database_use_a_link_once(
    tmp_path: Path, smtp_server: tuple[int, Inbox]
):
    # A sign-in link: nothing but its row stands between a second use and a second session.
    port, inbox = smtp_server
    with live_blog(tmp_path, port) as (one, _), live_blog(tmp_path, port) as (two, _):
        Browser(one).dev_sign_in("ann", "Ann", "ann@example.com", verified=True)
        Browser(one).ask_for_link("ann@example.com")
        _, _, token = newest_mail(inbox, 1)
        assert Browser(two).confirm(token).status_code == 302
        assert Browser(one).confirm(token).status_code == 400
        assert Browser(two).confirm(token).status_code == 400

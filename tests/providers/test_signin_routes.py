"""``/auth/login/<provider>`` and ``/auth/callback/<provider>`` through the Flask app, for each
adapter against its local provider server: success, cancel, faults, and the state checks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from social_auth import get_state
from social_auth.testing import make_commenter

from .conftest import make_fake, make_provider
from .servers import FakeProvider, consent, serve, serve_site
from .signin_app import (
    BASE,
    POST,
    callback,
    client_for,
    counts,
    page_draft,
    post_page,
    set_cookies,
    sets_session,
    sign_in_as,
    signin_app,
    start,
)
from .test_twitter_oauth1 import FakeX, twitter

DRAFT = "My half-written comment"


def app_with(tmp_path: Path, fake: FakeProvider, adapter: str = "github", **extra: Any) -> Flask:
    settings = make_provider(adapter, fake, **extra).settings
    return signin_app(tmp_path, {adapter: settings})


def assert_nothing_written(app: Flask, response: Any) -> None:
    assert counts(app) == (0, 0)
    assert not sets_session(response)


# -- a full sign-in for each adapter ----------------------------------------------------------


@pytest.mark.parametrize("adapter", ["wordpress", "x", "facebook", "github", "google"])
def test_a_full_sign_in_through_the_app_for_each_oauth2_adapter(tmp_path: Path, adapter: str):
    with make_fake(adapter).running() as fake:
        app = app_with(tmp_path, fake, adapter)
        client = client_for(app)
        started = start(client, adapter)
        assert started.status_code == 302
        answer = callback(client, adapter, consent(started.headers["Location"]))
    assert answer.status_code == 302 and answer.headers["Location"] == POST
    assert sets_session(answer)
    me = client.get("/auth/me", base_url=BASE).json
    assert me is not None and me["authenticated"] and me["signed_in_with"] == adapter
    assert [i["provider"] for i in me["identities"]] == [adapter]
    assert counts(app) == (1, 1)
    assert page_draft(client) == DRAFT  # the JS-off draft is back in the textarea


def test_a_full_twitter_oauth1_sign_in_through_the_app(tmp_path: Path):
    fake = FakeX()
    with serve(fake.app()) as url:
        fake.base_url = url
        app = signin_app(tmp_path, {"twitter": twitter(fake).settings})
        client = client_for(app)
        started = start(client, "twitter")
        answer = callback(client, "twitter", consent(started.headers["Location"]))
    assert answer.status_code == 302 and sets_session(answer)
    me = client.get("/auth/me", base_url=BASE).json
    assert me is not None and me["identities"][0]["subject"] == "38895958"
    assert page_draft(client) == DRAFT


def test_the_dev_provider_signs_in_through_its_own_pages_in_a_real_server(tmp_path: Path):
    import requests

    served = serve_site(
        lambda address: signin_app(
            tmp_path, {}, SOCIAL_AUTH_DEV_PROVIDER=True, SOCIAL_AUTH_SITE_URL=address
        )
    )
    with served as (_app, site), requests.Session() as browser:
        token = browser.get(f"{site}/auth/me", timeout=5).json()["csrf_token"]
        started = browser.post(
            f"{site}/auth/login/dev?next={POST}",
            data={"csrf_token": token, "draft": "Typed offline"},
            allow_redirects=False,
            timeout=5,
        )
        assert started.status_code == 302
        page = browser.get(started.headers["Location"], timeout=5)
        assert page.status_code == 200 and "Sign in" in page.text and "Cancel" in page.text
        assert page.headers["Referrer-Policy"] == "no-referrer"
        form_token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert form_token
        approved = browser.post(
            started.headers["Location"],
            data={
                "csrf_token": form_token.group(1),
                "action": "sign_in",
                "subject": "ada",
                "name": "Ada Lovelace",
                "email": "ada@example.org",
                "email_verified": "on",
            },
            allow_redirects=False,
            timeout=5,
        )
        assert approved.status_code == 302
        # The app, at its callback, redeems the code at its own /auth/dev/token.
        done = browser.get(approved.headers["Location"], allow_redirects=False, timeout=5)
        assert done.status_code == 302 and done.headers["Location"] == POST
        me = browser.get(f"{site}/auth/me", timeout=5).json()
        html = browser.get(f"{site}{POST}", timeout=5).text
    assert me["commenter"]["display_name"] == "Ada Lovelace"
    assert me["commenter"]["email_verified"] is True
    assert "Typed offline" in html


def test_the_dev_pages_refuse_a_post_without_the_csrf_token(tmp_path: Path):
    app = signin_app(tmp_path, {}, SOCIAL_AUTH_DEV_PROVIDER=True)
    client = client_for(app)
    started = start(client, "dev")
    authorize = started.headers["Location"].removeprefix(BASE)
    assert client.get(authorize, base_url=BASE).status_code == 200
    refused = client.post(authorize, data={"action": "sign_in", "subject": "x"}, base_url=BASE)
    assert refused.status_code == 403
    forged = authorize.replace("redirect_uri=", "redirect_uri=https%3A%2F%2Fevil.example%2F")
    assert client.get(forged, base_url=BASE).status_code == 400


def test_the_dev_routes_and_provider_do_not_exist_unless_enabled(tmp_path: Path):
    client = client_for(signin_app(tmp_path, {}))
    assert client.get("/auth/dev/authorize", base_url=BASE).status_code == 404
    assert client.post("/auth/dev/token", base_url=BASE).status_code == 404
    assert client.get("/auth/dev/userinfo", base_url=BASE).status_code == 404
    assert client.get(f"/auth/login/dev?next={POST}", base_url=BASE).status_code == 404


def test_the_dev_provider_logs_loudly_when_mounted(tmp_path: Path, caplog):
    with caplog.at_level("WARNING", logger="social_auth"):
        signin_app(tmp_path, {}, SOCIAL_AUTH_DEV_PROVIDER=True)
    assert "anyone can sign in as anyone" in caplog.text
    assert "/auth/dev/" in caplog.text


def test_a_popup_sign_in_answers_with_the_popup_page_and_signs_in(tmp_path, github):
    app = app_with(tmp_path, github)
    client = client_for(app)
    started = start(client, "github", popup=True)
    params = consent(started.headers["Location"])
    answer = callback(client, "github", params)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and '"status": "signed-in"' in html
    assert '"origins": ["https://blog.example"]' in html
    assert params["code"] not in html and params["state"] not in html  # never to the opener
    assert sets_session(answer)


# -- the flow cookie and headers --------------------------------------------------------------


def test_the_flow_cookie_is_httponly_lax_and_host_prefixed_on_https(tmp_path, github):
    client = client_for(app_with(tmp_path, github))
    started = start(client, "github")
    cookie = set_cookies(started)["__Host-social_auth_flow"]["__Host-social_auth_flow"]
    assert cookie["httponly"] and cookie["secure"] and not cookie["domain"]
    assert cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert cookie["max-age"] == "600"
    assert started.headers["Referrer-Policy"] == "no-referrer"


def test_on_plain_http_the_flow_cookie_is_not_secure(tmp_path, github):
    client = client_for(app_with(tmp_path, github))
    started = start(client, "github", base="http://blog.example")
    cookie = set_cookies(started)["social_auth_flow"]["social_auth_flow"]
    assert not cookie["secure"] and cookie["httponly"]


def test_the_callback_refers_nowhere_and_always_deletes_the_flow_cookie(tmp_path, github):
    client = client_for(app_with(tmp_path, github))
    for params in ({"state": "forged", "code": "x"}, None):
        started = start(client, "github")
        answer = callback(client, "github", params or consent(started.headers["Location"]))
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        deleted = set_cookies(answer)["__Host-social_auth_flow"]["__Host-social_auth_flow"]
        assert deleted.value == "" and deleted["path"] == "/"


# -- unhappy paths: nothing written, the draft intact -----------------------------------------


def test_cancel_returns_to_the_post_with_the_draft_and_a_notice(tmp_path, github):
    github.decision = "deny"
    app = app_with(tmp_path, github)
    client = client_for(app)
    started = start(client, "github")
    answer = callback(client, "github", consent(started.headers["Location"]))
    assert answer.status_code == 302 and answer.headers["Location"] == POST
    assert_nothing_written(app, answer)
    assert post_page(client) == (DRAFT, "Sign-in cancelled. Your comment is still here.")


def test_cancel_in_a_popup_tells_the_page(tmp_path, github):
    github.decision = "deny"
    app = app_with(tmp_path, github)
    client = client_for(app)
    started = start(client, "github", popup=True)
    answer = callback(client, "github", consent(started.headers["Location"]))
    assert '"status": "cancelled"' in answer.get_data(as_text=True)
    assert_nothing_written(app, answer)


@pytest.mark.parametrize(
    ("fault", "status", "extra"),
    [
        ({"token": "500"}, 502, {}),
        ({"token": "html"}, 502, {}),
        ({"token": "malformed"}, 502, {}),
        ({"token": "no_token"}, 502, {}),
        ({"api": "503"}, 502, {}),
        ({"token": "slow"}, 504, {"timeout": 0.3}),
    ],
)
def test_a_failing_provider_gives_a_clear_page_and_keeps_the_draft(
    tmp_path, github, fault, status, extra
):
    github.faults = fault
    app = app_with(tmp_path, github, **extra)
    client = client_for(app)
    started = start(client, "github")
    answer = callback(client, "github", consent(started.headers["Location"]))
    html = answer.get_data(as_text=True)
    assert answer.status_code == status
    assert "Sign-in failed" in html and "GitHub" in html and "Traceback" not in html
    assert_nothing_written(app, answer)
    assert page_draft(client) == DRAFT


def test_a_failing_provider_in_a_popup_reports_an_error_message(tmp_path, github):
    github.faults = {"token": "500"}
    app = app_with(tmp_path, github)
    client = client_for(app)
    started = start(client, "github", popup=True)
    answer = callback(client, "github", consent(started.headers["Location"]))
    html = answer.get_data(as_text=True)
    assert answer.status_code == 502 and '"status": "error"' in html and "GitHub" in html
    assert_nothing_written(app, answer)


def test_a_provider_down_at_start_gives_a_502_page_with_the_draft(tmp_path):
    app = signin_app(
        tmp_path,
        {
            "google": {
                "client_id": "c",
                "client_secret": "s",
                "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
            }
        },
    )
    client = client_for(app)
    answer = start(client, "google")
    assert answer.status_code == 502 and "Google" in answer.get_data(as_text=True)
    assert "__Host-social_auth_flow" not in set_cookies(answer)
    assert page_draft(client) == DRAFT
    popup = start(client, "google", popup=True)
    assert popup.status_code == 502 and '"status": "error"' in popup.get_data(as_text=True)


def test_a_refused_request_token_at_start_is_a_502_with_the_draft(tmp_path):
    fake = FakeX()
    with serve(fake.app()) as url:
        fake.base_url = url
        settings = twitter(fake, client_secret="wrong-secret").settings
        app = signin_app(tmp_path, {"twitter": settings})
        client = client_for(app)
        answer = start(client, "twitter")
    assert answer.status_code == 502
    assert page_draft(client) == DRAFT


def test_a_draft_too_long_to_carry_is_shown_back_not_lost(tmp_path, github):
    import secrets

    client = client_for(app_with(tmp_path, github))
    draft = secrets.token_urlsafe(5000)  # random: does not compress into the cookie
    answer = start(client, "github", draft=draft)
    assert answer.status_code == 400
    assert draft in answer.get_data(as_text=True)


def test_a_posted_login_needs_the_forms_csrf_token_and_shows_the_draft_if_stale(tmp_path, github):
    client = client_for(app_with(tmp_path, github))
    answer = client.post(
        f"/auth/login/github?next={POST}",
        data={"csrf_token": "stale", "draft": "Still mine"},
        base_url=BASE,
    )
    assert answer.status_code == 403 and "Still mine" in answer.get_data(as_text=True)
    assert "Location" not in answer.headers


def test_unknown_providers_are_404_pages(tmp_path, github):
    client = client_for(app_with(tmp_path, github))
    for url in ("/auth/login/nope", "/auth/callback/nope?state=x&code=y"):
        answer = client.get(url, base_url=BASE)
        assert answer.status_code == 404 and "Traceback" not in answer.get_data(as_text=True)


def test_a_blocked_commenter_is_refused_with_nothing_written(tmp_path, github):
    app = app_with(tmp_path, github)
    blocked = make_commenter(app, provider="github", subject="583231")  # the payload's id
    get_state(app).store.block(blocked, actor="test")
    client = client_for(app)
    started = start(client, "github")
    answer = callback(client, "github", consent(started.headers["Location"]))
    assert answer.status_code == 403 and "blocked" in answer.get_data(as_text=True)
    assert not sets_session(answer)
    assert counts(app) == (1, 1)
    assert page_draft(client) == DRAFT


def test_a_sign_in_that_would_link_by_email_to_a_blocked_commenter_links_nothing(tmp_path):
    with make_fake("google").running() as fake:
        app = signin_app(
            tmp_path,
            {"google": make_provider("google", fake).settings},
            SOCIAL_AUTH_LINK_BY_VERIFIED_EMAIL=True,
        )
        email = fake.id_token_claims["email"]  # type: ignore[index]
        blocked = make_commenter(
            app, provider="google", subject="someone-else", email=email, email_verified=True
        )
        get_state(app).store.block(blocked, actor="test")
        client = client_for(app)
        started = start(client, "google")
        answer = callback(client, "google", consent(started.headers["Location"]))
    assert answer.status_code == 403 and not sets_session(answer)
    assert counts(app) == (1, 1)


# -- state at the route level ------------------------------------------------------------------


def test_a_callback_without_the_flow_cookie_is_refused(tmp_path, github):
    app = app_with(tmp_path, github)
    client = client_for(app)
    started = start(client, "github")
    params = consent(started.headers["Location"])
    client.delete_cookie("__Host-social_auth_flow", domain="blog.example")
    answer = callback(client, "github", params)
    assert answer.status_code == 400 and "not started here" in answer.get_data(as_text=True)
    assert_nothing_written(app, answer)


def test_a_flow_cookie_a_sibling_subdomain_could_plant_is_ignored(tmp_path, github):
    """``evil.blog.example`` can set ``__Secure-`` cookies with ``Domain=blog.example`` (and
    path /auth), never ``__Host-`` ones: the callback reads only the ``__Host-`` name."""
    app = app_with(tmp_path, github)
    client = client_for(app)
    started = start(client, "github")
    planted = client.get_cookie("__Host-social_auth_flow", domain="blog.example")
    assert planted is not None
    client.delete_cookie("__Host-social_auth_flow", domain="blog.example")
    client.set_cookie(
        "__Secure-social_auth_flow", planted.value, domain=".blog.example", path="/auth"
    )
    answer = callback(client, "github", consent(started.headers["Location"]))
    assert answer.status_code == 400 and "not started here" in answer.get_data(as_text=True)
    assert_nothing_written(app, answer)


def test_a_callback_with_an_unknown_state_is_refused(tmp_path, github):
    app = app_with(tmp_path, github)
    client = client_for(app)
    started = start(client, "github")
    params = dict(consent(started.headers["Location"]), state="someone-elses")
    answer = callback(client, "github", params)
    assert answer.status_code == 400 and "another sign-in" in answer.get_data(as_text=True)
    assert_nothing_written(app, answer)
    assert page_draft(client) == DRAFT


def test_a_replayed_callback_is_refused_at_another_worker(tmp_path, github):
    """Two workers (two apps on one database): the state used at one is refused at the other."""
    app = app_with(tmp_path, github)
    other_worker = app_with(tmp_path, github)
    client = client_for(app)
    started = start(client, "github")
    flow_cookie = client.get_cookie("__Host-social_auth_flow", domain="blog.example")
    assert flow_cookie is not None
    params = consent(started.headers["Location"])
    assert sets_session(callback(client, "github", params))

    attacker = client_for(other_worker)
    attacker.set_cookie("__Host-social_auth_flow", flow_cookie.value, domain="blog.example")
    replay = callback(attacker, "github", params)
    assert replay.status_code == 400 and "already used" in replay.get_data(as_text=True)
    assert not sets_session(replay)
    assert counts(app) == (1, 1)


def test_a_state_from_one_provider_is_refused_at_anothers_callback(tmp_path):
    with make_fake("github").running() as gh, make_fake("wordpress").running() as wp:
        app = signin_app(
            tmp_path,
            {
                "github": make_provider("github", gh).settings,
                "wordpress": make_provider("wordpress", wp).settings,
            },
        )
        client = client_for(app)
        started = start(client, "github")
        params = consent(started.headers["Location"])
        answer = callback(client, "wordpress", params)
    assert answer.status_code == 400 and "another provider" in answer.get_data(as_text=True)
    assert_nothing_written(app, answer)


def test_next_never_leaves_the_site(tmp_path, github):
    client = client_for(app_with(tmp_path, github))
    for evil in ("//evil.example", "https://evil.example/", "/\\evil.example", "/%2F%2Fevil"):
        started = client.get("/auth/login/github", query_string={"next": evil}, base_url=BASE)
        answer = callback(client, "github", consent(started.headers["Location"]))
        assert answer.headers["Location"] == "/", evil


def test_a_login_link_never_starts_a_connection(tmp_path, github):
    """A GET from another site can start only a plain sign-in; nothing links to the victim."""
    app = app_with(tmp_path, github)
    victim = make_commenter(app, provider="wordpress", subject="victim")
    client = client_for(app)
    sign_in_as(client, victim)
    me = client.get("/auth/me", base_url=BASE).json
    assert me is not None and me["commenter"]["id"] == victim.public_id
    started = client.get("/auth/login/github?connect=1", base_url=BASE)
    callback(client, "github", consent(started.headers["Location"]))
    after = get_state(app).store.get(victim.id)
    assert after is not None and [i.provider for i in after.identities] == ["wordpress"]


def test_a_full_sign_in_with_an_oidc_instance_against_oidc_provider(tmp_path: Path):
    from .test_oidc_provider import CLIENT_ID, CLIENT_SECRET, log_in, start_issuer

    issuer_process = start_issuer(conform=True)
    issuer = next(issuer_process)
    try:
        corp = {
            "provider": "oidc",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "server_metadata_url": f"{issuer}/.well-known/openid-configuration",
        }
        app = signin_app(tmp_path, {"corp": corp})
        client = client_for(app)
        started = start(client, "corp")
        answer = callback(client, "corp", log_in(started.headers["Location"], "ada"))
    finally:
        issuer_process.close()
    assert answer.status_code == 302 and sets_session(answer)
    me = client.get("/auth/me", base_url=BASE).json
    assert me is not None and me["identities"][0]["provider"] == "corp"
    assert me["commenter"]["email_verified"] is True
    assert page_draft(client) == DRAFT

"""The ``dev`` provider: the adapter against its framework-free server functions, mounted here
in a minimal Flask app the way the view layer mounts them (authorize page, token, userinfo)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask, jsonify, redirect, request

from social_auth import flow
from social_auth.errors import ProviderError, SignInCancelled
from social_auth.store import IdentityStore
from social_auth_providers import dev
from social_auth_providers.dev import Dev, DevGrantError

from .servers import serve

APP_SECRET = "app-secret-key"


def dev_app() -> Flask:
    app = Flask(__name__)

    def authorize_request() -> dev.AuthorizeRequest:
        return dev.parse_authorize_request(request.values, request.host_url + "auth/callback/dev")

    @app.get("/auth/dev/authorize")
    def authorize_page() -> Any:
        authorize_request()
        return "<form method=post><input name=subject><button name=action value=sign_in>"

    @app.post("/auth/dev/authorize")
    def authorize() -> Any:
        req = authorize_request()
        if request.form.get("action") == "cancel":
            return redirect(dev.cancel(req))
        url = dev.approve(
            APP_SECRET,
            req,
            subject=request.form["subject"],
            name=request.form.get("name", ""),
            email=request.form.get("email") or None,
            email_verified=request.form.get("email_verified") == "on",
        )
        return redirect(url)

    @app.post("/auth/dev/token")
    def token() -> Any:
        try:
            return jsonify(dev.redeem(APP_SECRET, request.form.to_dict()))
        except DevGrantError as exc:
            return jsonify(error=exc.error, error_description=str(exc)), 400

    @app.get("/auth/dev/userinfo")
    def userinfo() -> Any:
        try:
            return jsonify(dev.userinfo(APP_SECRET, request.headers.get("Authorization")))
        except DevGrantError as exc:
            return jsonify(error=exc.error), 401

    @app.errorhandler(DevGrantError)
    def refused(exc: DevGrantError) -> Any:
        return jsonify(error=exc.error), 400

    return app


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with serve(dev_app()) as url:
        yield url


def press(url: str, **form: str) -> dict[str, str]:
    """The commenter fills the dev page and presses a button; returns the callback's query."""
    assert requests.get(url, timeout=5).status_code == 200
    response = requests.post(url, data=form, allow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def test_dev_sign_in_with_a_verified_email(site, settings, db: IdentityStore):
    provider, callback = Dev("dev", {}), f"{site}/auth/callback/dev"
    started = flow.start(provider, callback, settings=settings, draft="draft")
    assert started.url.startswith(f"{site}/auth/dev/authorize?")
    params = press(
        started.url,
        action="sign_in",
        subject="alice",
        name="Alice",
        email="alice@example.org",
        email_verified="on",
    )
    result = flow.finish(provider, started.cookie_value, params, callback, settings=settings)
    assert (result.profile.subject, result.profile.display_name) == ("alice", "Alice")
    assert result.profile.email == "alice@example.org" and result.profile.email_verified
    assert db.sign_in(result.profile).created


@pytest.mark.parametrize(
    ("fields", "email", "verified"),
    [({"email": "bob@example.org"}, "bob@example.org", False), ({}, None, False)],
)
def test_dev_unverified_and_missing_email(site, settings, fields, email, verified):
    provider, callback = Dev("dev", {}), f"{site}/auth/callback/dev"
    started = flow.start(provider, callback, settings=settings)
    params = press(started.url, action="sign_in", subject="bob", **fields)
    profile = flow.finish(
        provider, started.cookie_value, params, callback, settings=settings
    ).profile
    assert (profile.email, profile.email_verified) == (email, verified)


def test_dev_cancel(site, settings):
    provider, callback = Dev("dev", {}), f"{site}/auth/callback/dev"
    started = flow.start(provider, callback, settings=settings, draft="kept")
    params = press(started.url, action="cancel")
    with pytest.raises(SignInCancelled) as info:
        flow.finish(provider, started.cookie_value, params, callback, settings=settings)
    assert info.value.draft == "kept"


def test_dev_code_without_its_pkce_verifier_is_refused(site, settings):
    provider, callback = Dev("dev", {}), f"{site}/auth/callback/dev"
    attacker = flow.start(provider, callback, settings=settings)
    stolen = press(attacker.url, action="sign_in", subject="mallory")["code"]
    victim = flow.start(provider, callback, settings=settings)
    params = dict(press(victim.url, action="sign_in", subject="alice"), code=stolen)
    with pytest.raises(ProviderError, match="invalid_grant"):
        flow.finish(provider, victim.cookie_value, params, callback, settings=settings)


def test_dev_authorize_requires_code_flow_pkce_and_its_own_callback():
    good = {
        "client_id": "dev",
        "response_type": "code",
        "redirect_uri": "http://blog/auth/callback/dev",
        "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
    }
    assert dev.parse_authorize_request(good, "http://blog/auth/callback/dev").code_challenge
    for change in (
        {"response_type": "token"},
        {"code_challenge_method": "plain"},
        {"code_challenge": ""},
        {"redirect_uri": "https://evil.example/cb"},
        {"client_id": "other"},
    ):
        with pytest.raises(DevGrantError):
            dev.parse_authorize_request({**good, **change}, "http://blog/auth/callback/dev")


def test_dev_codes_are_signed_with_the_app_secret_and_bound_to_the_redirect_uri():
    req = dev.AuthorizeRequest("http://blog/cb", "s", dev.s256_challenge("v" * 43))
    url = dev.approve(APP_SECRET, req, subject="a", name="", email=None, email_verified=False)
    code = parse_qs(urlsplit(url).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "client_id": "dev",
        "code": code,
        "redirect_uri": "http://blog/cb",
        "code_verifier": "v" * 43,
    }
    assert dev.redeem(APP_SECRET, form)["access_token"]
    with pytest.raises(DevGrantError, match="unknown or expired"):
        dev.redeem("another-apps-secret", form)
    with pytest.raises(DevGrantError, match="redirect_uri"):
        dev.redeem(APP_SECRET, {**form, "redirect_uri": "http://evil/cb"})
    with pytest.raises(DevGrantError, match="PKCE"):
        dev.redeem(APP_SECRET, {**form, "code_verifier": "w" * 43})


def test_dev_provider_logs_loudly_when_on(caplog):
    with caplog.at_level("WARNING", logger="social_auth"):
        Dev("dev", {})
    assert "anyone can sign in as anyone" in caplog.text

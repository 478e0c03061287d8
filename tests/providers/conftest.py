"""Fixtures and helpers for the provider tests: a local server per provider, and a sign-in
against one (``settings``, ``github`` and ``db`` are in ``tests/conftest.py``)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Request, Response, jsonify

from social_auth import flow
from social_auth.flow import FlowSettings, SignInResult
from social_auth.provider import Provider
from social_auth_providers.facebook import Facebook
from social_auth_providers.github import GitHub
from social_auth_providers.google import Google
from social_auth_providers.wordpress import WordPress
from social_auth_providers.x import X

from .servers import CALLBACK_BASE, FakeProvider, consent, payload


def callback_url(provider: Provider) -> str:
    return CALLBACK_BASE + provider.instance_name


def sign_in(
    provider: Provider, settings: FlowSettings, *, next_path: str = "/posts/1", draft: str = "Hi"
) -> SignInResult:
    """start -> the user consents at the provider -> finish, as the views will do it."""
    started = flow.start(
        provider, callback_url(provider), settings=settings, next_path=next_path, draft=draft
    )
    params = consent(started.url)
    return flow.finish(
        provider, started.cookie_value, params, callback_url(provider), settings=settings
    )


def _facebook_me(req: Request, token: str) -> Response | dict[str, Any]:
    # Facebook refuses calls without a correct appsecret_proof when "Require App Secret" is on.
    expected = hmac.new(b"secret-1", token.encode(), hashlib.sha256).hexdigest()
    if req.args.get("appsecret_proof") != expected:
        response = jsonify(error={"message": "Invalid appsecret_proof", "code": 100})
        response.status_code = 400
        return response
    assert req.args["fields"] == "id,name,email,picture"
    return dict(payload("facebook_me.json"))


def oauth2_endpoints(base: str) -> dict[str, str]:
    return {
        "client_id": "client-1",
        "client_secret": "secret-1",
        "authorize_url": f"{base}/authorize",
        "access_token_url": f"{base}/token",
        "api_base_url": f"{base}/api/",
    }


def make_fake(adapter: str) -> FakeProvider:
    if adapter == "wordpress":
        return FakeProvider(
            auth_method="client_secret_post",
            pkce_required=False,
            api={"me": payload("wordpress_me.json")},
        )
    if adapter == "x":
        return FakeProvider(api={"users/me": payload("x_users_me.json")})
    if adapter == "facebook":
        return FakeProvider(
            auth_method="client_secret_post", pkce_required=False, api={"me": _facebook_me}
        )
    if adapter == "github":
        return FakeProvider(
            auth_method="client_secret_post",
            response_iss="https://github.com/login/oauth",
            api={
                "user": payload("github_user.json"),
                "user/emails": payload("github_user_emails.json"),
            },
        )
    if adapter == "google":
        claims = dict(payload("google_id_token.json"), aud="client-1", azp="client-1")
        return FakeProvider(id_token_claims=claims)
    raise AssertionError(adapter)


ADAPTERS: dict[str, type[Provider]] = {
    "wordpress": WordPress,
    "x": X,
    "facebook": Facebook,
    "github": GitHub,
    "google": Google,
}


def make_provider(adapter: str, fake: FakeProvider, **extra: Any) -> Provider:
    if adapter == "google":
        settings: dict[str, Any] = {
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
            "server_metadata_url": f"{fake.base_url}/.well-known/openid-configuration",
            "issuer": fake.base_url,
        }
    else:
        settings = oauth2_endpoints(fake.base_url)
    settings.update(extra)
    return ADAPTERS[adapter](adapter, settings)


@pytest.fixture
def google() -> Iterator[FakeProvider]:
    with make_fake("google").running() as fake:
        yield fake

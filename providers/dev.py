"""``dev``: a real OAuth 2.0 authorization server inside the app, for offline development.

The adapter is plain OAuth 2.0 with PKCE (S256) against endpoints relative to the callback URL
(``<prefix>/dev/authorize``, ``/dev/token``, ``/dev/userinfo``). The functions below are the
server's framework-free half: the view layer mounts them behind a page with fields ``subject``,
``name``, ``email``, a checkbox ``email_verified`` and buttons "Sign in" and "Cancel". Codes and
tokens are signed with the app's secret key; a code lives 60 seconds and needs its PKCE verifier.
Never enable it in production: anyone can sign in as anyone.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeTimedSerializer

from social_auth.errors import GrantRefused
from social_auth.provider import Api, Capabilities, Profile, Provider

CLIENT_ID = "dev"
CODE_MAX_AGE = 60
TOKEN_MAX_AGE = 600


class Dev(Provider):
    name = "dev"
    title = "Dev sign-in"
    icon = "dev"
    protocol = "oauth2"
    capabilities = Capabilities(returns_email=True, email_verified="claim")
    required_settings = ()
    authorize_url = "../dev/authorize"
    access_token_url = "../dev/token"
    api_base_url = "../dev/"
    scope = "openid profile email"
    token_endpoint_auth_method = "none"

    def __init__(self, instance_name: str, settings: Mapping[str, Any]) -> None:
        super().__init__(instance_name, settings)
        logging.getLogger("social_auth").warning(
            "The 'dev' sign-in provider is ON: anyone can sign in as anyone. Never in production."
        )

    @property
    def client_id(self) -> str:
        return str(self.settings.get("client_id") or CLIENT_ID)

    # The server half, as methods: the view layer mounts them at ``<prefix>/dev/`` for a
    # provider that has them, without importing this package (``social_auth`` never does).

    def authorize_request(
        self, params: Mapping[str, str], expected_redirect_uri: str
    ) -> AuthorizeRequest:
        return parse_authorize_request(params, expected_redirect_uri)

    def approve(self, secret_key: str | bytes, request: AuthorizeRequest, **fields: Any) -> str:
        return approve(secret_key, request, **fields)

    def cancel(self, request: AuthorizeRequest) -> str:
        return cancel(request)

    def redeem(self, secret_key: str | bytes, form: Mapping[str, str]) -> dict[str, Any]:
        return redeem(secret_key, form)

    def userinfo(self, secret_key: str | bytes, authorization: str | None) -> dict[str, Any]:
        return userinfo(secret_key, authorization)

    def profile(self, token: Mapping[str, Any], api: Api) -> Profile:
        info = api.get_json("userinfo")
        if not isinstance(info, dict) or not info.get("sub"):
            raise self.error("returned a profile without a subject")
        email = info.get("email") or None
        return Profile(
            provider=self.instance_name,
            subject=str(info["sub"]),
            display_name=str(info.get("name") or info["sub"]),
            email=email,
            email_verified=bool(email and info.get("email_verified") is True),
            raw=info,
        )


class DevGrantError(GrantRefused, ValueError):
    """A request the dev server refuses; ``error`` is the OAuth error code to answer with."""


@dataclass(frozen=True)
class AuthorizeRequest:
    """A checked ``/dev/authorize`` query."""

    redirect_uri: str
    state: str
    code_challenge: str


def parse_authorize_request(
    params: Mapping[str, str], expected_redirect_uri: str
) -> AuthorizeRequest:
    """Check an authorize query: code flow, our client, our own callback, PKCE S256."""
    if params.get("client_id") != CLIENT_ID or params.get("redirect_uri") != expected_redirect_uri:
        raise DevGrantError("invalid_request", "unknown client or redirect_uri")
    if params.get("response_type") != "code":
        raise DevGrantError("unsupported_response_type", "only response_type=code")
    if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
        raise DevGrantError("invalid_request", "PKCE with S256 is required")
    return AuthorizeRequest(
        expected_redirect_uri, params.get("state", ""), params["code_challenge"]
    )


def approve(
    secret_key: str | bytes,
    request: AuthorizeRequest,
    *,
    subject: str,
    name: str,
    email: str | None,
    email_verified: bool,
) -> str:
    """Where "Sign in" sends the browser: the callback with a signed, short-lived code."""
    if not subject:
        raise DevGrantError("invalid_request", "a subject is required")
    claims: dict[str, Any] = {"sub": subject, "name": name or subject, "email": email or None}
    claims["email_verified"] = bool(email and email_verified)
    code = _codes(secret_key).dumps(
        {"claims": claims, "redirect_uri": request.redirect_uri, "cc": request.code_challenge}
    )
    return _redirect(request.redirect_uri, {"code": code, "state": request.state})


def cancel(request: AuthorizeRequest) -> str:
    """Where "Cancel" sends the browser: the callback with ``error=access_denied``."""
    return _redirect(request.redirect_uri, {"error": "access_denied", "state": request.state})


def redeem(secret_key: str | bytes, form: Mapping[str, str]) -> dict[str, Any]:
    """The ``/dev/token`` answer for a form posted by the client, or ``DevGrantError``."""
    if form.get("grant_type") != "authorization_code" or form.get("client_id") != CLIENT_ID:
        raise DevGrantError("invalid_request", "authorization_code grant for client 'dev' only")
    try:
        data = _codes(secret_key).loads(form.get("code", ""), max_age=CODE_MAX_AGE)
    except BadSignature as exc:
        raise DevGrantError("invalid_grant", "unknown or expired code") from exc
    if form.get("redirect_uri") != data["redirect_uri"]:
        raise DevGrantError("invalid_grant", "redirect_uri differs from the authorize request")
    verifier = form.get("code_verifier", "")
    if not verifier or not secrets.compare_digest(s256_challenge(verifier), data["cc"]):
        raise DevGrantError("invalid_grant", "PKCE verifier does not match")
    token = _tokens(secret_key).dumps(data["claims"])
    return {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_MAX_AGE}


def userinfo(secret_key: str | bytes, authorization: str | None) -> dict[str, Any]:
    """The ``/dev/userinfo`` answer for an ``Authorization: Bearer`` header."""
    scheme, _, token = (authorization or "").partition(" ")
    try:
        if scheme.lower() != "bearer":
            raise BadSignature("no bearer token")
        claims: dict[str, Any] = _tokens(secret_key).loads(token, max_age=TOKEN_MAX_AGE)
    except BadSignature as exc:
        raise DevGrantError("invalid_token", "unknown or expired access token") from exc
    return claims


def s256_challenge(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _codes(secret_key: str | bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="social-auth.dev-code")


def _tokens(secret_key: str | bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="social-auth.dev-token")


def _redirect(uri: str, params: Mapping[str, str]) -> str:
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}"

"""Helpers for a host app's own tests.

    from social_auth.testing import sign_in_client
    commenter = sign_in_client(client, display_name="Jane", provider="google")

signs the Flask test client in as a (new) commenter in one line; ``csrf_headers(client)``
gives the header a POST needs.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeSerializer

from .provider import Profile
from .session import (
    CSRF_COOKIE,
    CSRF_SALT,
    SESSION_COOKIE,
    cookie_name,
    encode_session,
    secret_keys,
)
from .state import get_state
from .store import Commenter


def _app(client: FlaskClient) -> Flask:
    app: Flask = client.application
    return app


def make_commenter(
    app: Flask,
    *,
    display_name: str = "Test Commenter",
    provider: str = "test",
    subject: str | None = None,
    email: str | None = None,
    email_verified: bool = False,
    avatar_url: str | None = None,
) -> Commenter:
    """A commenter with one identity at ``provider``, stored in ``app``'s identity store."""
    profile = Profile(
        provider=provider,
        subject=subject or secrets.token_hex(8),
        display_name=display_name,
        email=email,
        email_verified=email_verified and bool(email),
        avatar_url=avatar_url,
    )
    return get_state(app).store.sign_in(profile).commenter


def session_cookie(
    app: Flask, commenter: Commenter, *, provider: str | None = None, secure: bool = False
) -> tuple[str, str]:
    """The (name, value) of a session cookie for ``commenter``: for browsers driven by tests."""
    with app.app_context():
        value = encode_session(app, commenter, provider=provider)
    return cookie_name(SESSION_COOKIE, secure=secure), value


def sign_in_client(
    client: FlaskClient, commenter: Commenter | None = None, **profile: Any
) -> Commenter:
    """Sign ``client`` in as ``commenter``, or as a new one made from ``profile`` keywords."""
    app = _app(client)
    if commenter is None:
        commenter = make_commenter(app, **profile)
    provider = commenter.identities[0].provider if commenter.identities else None
    name, value = session_cookie(app, commenter, provider=provider)
    client.set_cookie(name, value)
    return commenter


def sign_out_client(client: FlaskClient) -> None:
    """Forget the session cookie (without touching the store)."""
    client.delete_cookie(cookie_name(SESSION_COOKIE, secure=False))


def csrf_headers(client: FlaskClient, *, secure: bool = False) -> dict[str, str]:
    """Give ``client`` a CSRF cookie and return the matching ``X-CSRF-Token`` header
    (``secure=True`` for requests made with an https ``base_url``)."""
    app = _app(client)
    secret = secrets.token_urlsafe(32)
    client.set_cookie(cookie_name(CSRF_COOKIE, secure=secure), secret, secure=secure)
    token = URLSafeSerializer(secret_keys(app), salt=CSRF_SALT).dumps(secret)
    return {"X-CSRF-Token": token}

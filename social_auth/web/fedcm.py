"""Sign-ins the browser runs itself: FedCM (``navigator.credentials.get({identity})``) for any
OpenID provider whose settings name a ``fedcm`` ``config_url``, and Google One Tap (Google
Identity Services on FedCM) for ``google`` with ``one_tap: true``.

Either way an ID token arrives here, and is checked as an OpenID ID token by the provider's own
code (``provider.openid``: signature against the issuer's keys, issuer, audience, expiry and the
nonce), the email trusted only with ``email_verified``; then the same linking and session path
as a callback. The nonce is ours: signed, ten minutes long, and used once across all workers
(the flow replay guard). ``POST /auth/fedcm/<name>`` takes the CSRF token like every form;
One Tap's own redirect-mode POST (``/auth/fedcm/<name>/onetap``) comes from Google's page, so it
is checked by GIS's ``g_csrf_token`` double-submit cookie instead, with no way around it.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, jsonify, request
from flask.wrappers import Response
from itsdangerous import BadSignature
from werkzeug.wrappers import Response as BaseResponse

from .. import linking
from ..errors import (
    BLOCKED_MESSAGE,
    CommenterBlocked,
    ConfigError,
    FedcmError,
    NotFound,
    ProviderError,
)
from ..flow import safe_next
from ..provider import MAX_ID_TOKEN_BYTES, Api, Provider
from ..session import check_csrf, set_draft, sign_in
from ..state import get_state
from .pages import bp, me_payload, private, redirect_to
from .signing import timed_serializer

NONCE_SALT = "social-auth.fedcm-nonce"
NONCE_MAX_AGE = 600
#: GIS's double-submit cookie and form field (developers.google.com/identity/gsi/web).
G_CSRF = "g_csrf_token"


def fedcm_config_url(provider: Provider) -> str | None:
    """The FedCM config URL a provider's settings name, if any."""
    fedcm = provider.settings.get("fedcm")
    return str(fedcm["config_url"]) if isinstance(fedcm, Mapping) else None


def one_tap(provider: Provider) -> bool:
    return provider.settings.get("one_tap") is True


def check_settings(providers: Mapping[str, Provider]) -> None:
    """``ConfigError`` at start-up for a bad ``fedcm`` or ``one_tap`` setting."""
    for name, provider in providers.items():
        key = f"SOCIAL_AUTH_PROVIDERS[{name!r}]"
        fedcm = provider.settings.get("fedcm")
        if fedcm is not None:
            url = fedcm.get("config_url") if isinstance(fedcm, Mapping) else None
            if not isinstance(url, str) or urlsplit(url).scheme not in ("https", "http"):
                raise ConfigError(key, "'fedcm' must be {'config_url': 'https://…/config.json'}")
        if "one_tap" in provider.settings and not isinstance(provider.settings["one_tap"], bool):
            raise ConfigError(key, "'one_tap' must be True or False")
        if (fedcm is not None or one_tap(provider)) and provider.protocol != "oidc":
            raise ConfigError(key, "FedCM and One Tap need an OpenID Connect provider")
        if one_tap(provider) and provider.name != "google":
            raise ConfigError(key, "'one_tap' is Google's (Google Identity Services)")


def browser_sign_ins() -> list[dict[str, Any]]:
    """The block's FedCM and One Tap providers (a template global)."""
    prefix = get_state().settings.url_prefix.rstrip("/")
    found = []
    for name, provider in get_state().providers.items():
        config_url = fedcm_config_url(provider)
        if config_url or one_tap(provider):
            found.append({
                "name": name, "client_id": provider.client_id, "config_url": config_url,
                "one_tap": one_tap(provider), "nonce_url": f"{prefix}/fedcm/{name}/nonce",
                "url": f"{prefix}/fedcm/{name}", "login_uri": f"{prefix}/fedcm/{name}/onetap",
            })
    return found


def register(app: Flask) -> None:
    check_settings(get_state(app).providers)
    app.add_template_global(browser_sign_ins, "social_auth_browser_sign_ins")
    app.add_template_global(new_nonce, "social_auth_fedcm_nonce")


# -- the nonce ---------------------------------------------------------------------------------


def new_nonce(name: str) -> str:
    """A nonce for one ID token of provider ``name``: signed, so any worker can check it."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return timed_serializer(app, NONCE_SALT).dumps([name, secrets.token_urlsafe(16)])


def use_nonce(name: str, nonce: Any) -> str:
    """``nonce`` if we issued it for ``name`` within ``NONCE_MAX_AGE`` and it was never used."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        if not isinstance(nonce, str) or len(nonce) > 512:
            raise BadSignature("no nonce")
        data: Any = timed_serializer(app, NONCE_SALT).loads(nonce, max_age=NONCE_MAX_AGE)
    except BadSignature:
        raise FedcmError("This sign-in is out of date; try again.") from None
    if not (isinstance(data, list) and len(data) == 2 and data[0] == name):
        raise FedcmError("This sign-in is out of date; try again.")
    guard = get_state().flow_settings.used_states
    if not guard.consume("fedcm:" + str(data[1])[:40], time.time() + NONCE_MAX_AGE):
        raise FedcmError("This sign-in was used already; try again.")
    return nonce


def _provider(name: str) -> Provider:
    provider = get_state().providers.get(name)
    if provider is None or not (fedcm_config_url(provider) or one_tap(provider)):
        raise NotFound("There is no browser sign-in with that name on this site.")
    return provider


@bp.post("/fedcm/<name>/nonce")
def fedcm_nonce(name: str) -> Response:
    check_csrf()
    provider = _provider(name)
    body = {"nonce": new_nonce(name), "config_url": fedcm_config_url(provider),
            "client_id": provider.client_id}
    return _json(body)


def _json(body: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# -- the ID token, then the sign-in ------------------------------------------------------------


class IdTokenOnly(Api):
    """What an adapter's ``profile`` reads for a browser sign-in: the ID token's claims only.
    There is no access token, so no userinfo and no API call."""

    def userinfo(self) -> dict[str, Any]:
        return {}

    def get_json(
        self, url: str, params: Mapping[str, str] | None = None, *, optional: bool = False
    ) -> Any:
        raise self.provider.error("cannot be asked more without an access token")


def claimed_nonce(token: str) -> Any:
    """The ``nonce`` claim of ``token``, read without checking anything: only to find which of
    our nonces it claims. ``validate_id_token`` then checks the token against that nonce."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, UnicodeDecodeError):
        raise FedcmError("The browser sent a malformed ID token.") from None
    return claims.get("nonce") if isinstance(claims, dict) else None


def sign_in_with(provider: Provider, token: Any) -> None:
    """Check ``token`` (an ID token for a nonce of ours, unused) and sign the browser in: the
    callback's path after the profile (``linking.resolve``, then the session)."""
    if not isinstance(token, str) or not token or len(token) > MAX_ID_TOKEN_BYTES:
        raise FedcmError("The browser sent no ID token.")
    used = use_nonce(provider.instance_name, claimed_nonce(token))
    try:
        claims = provider.validate_id_token(token, used)
        profile = provider.profile({"id_token": token}, IdTokenOnly(provider, {}, claims))
    except ProviderError as exc:
        if exc.status == 504:
            raise
        raise FedcmError(exc.message) from exc
    state = get_state()
    resolution = linking.resolve(profile, None, state.store, state.linking_policy)
    if resolution.commenter.is_blocked:  # the store refused it already; a second guard
        raise CommenterBlocked(BLOCKED_MESSAGE)
    sign_in(None, resolution.commenter, resolution.identity)


@bp.post("/fedcm/<name>")
def fedcm_sign_in(name: str) -> BaseResponse:
    """A FedCM (or One Tap JavaScript-mode) ID token from the block's script, CSRF-checked."""
    check_csrf()
    provider = _provider(name)
    body = request.get_json(silent=True) if request.is_json else request.form
    body = body if isinstance(body, Mapping) else {}
    sign_in_with(provider, body.get("token"))
    return _json(me_payload())


@bp.post("/fedcm/<name>/onetap")
def one_tap_sign_in(name: str) -> BaseResponse:
    """One Tap's redirect mode: GIS posts ``credential`` and ``g_csrf_token`` here, and set the
    same value in its cookie on this site: both must be there and equal (double submit)."""
    provider = _provider(name)
    if not one_tap(provider):
        raise NotFound("One Tap is not on for this sign-in.")
    cookie = request.cookies.get(G_CSRF, "")
    field = request.form.get(G_CSRF, "")
    if not cookie or not field or not hmac.compare_digest(cookie, field):
        raise FedcmError("The sign-in's security token is missing or does not match; retry.")
    next_path = safe_next(request.args.get("next"))
    sign_in_with(provider, request.form.get("credential"))
    response = redirect_to(next_path)
    draft = request.form.get("draft")
    if draft:
        set_draft(response, draft)
    return private(response)

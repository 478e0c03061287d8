"""CSRF tokens: a random secret in its own HttpOnly cookie, the token that secret signed.

A cross-site page can neither read the cookie nor mint a token for it, and nothing depends on
the host's session or on Flask-WTF.
"""

from __future__ import annotations

import hmac
import secrets

from flask import current_app, g, request
from flask.wrappers import Response
from itsdangerous import BadSignature

from ..errors import CsrfError as CsrfError
from ..state import get_state
from .cookies import CSRF_COOKIE, apply, cookie_name, refuse_cookies, write_cookie
from .signing import CSRF_SALT, serializer

_G_CSRF = "_social_auth_csrf"


def _csrf_secret() -> str:
    if _G_CSRF in g:
        existing: str = g.get(_G_CSRF)
        return existing
    secret = request.cookies.get(cookie_name(CSRF_COOKIE))
    if not secret or len(secret) != 43:
        secret = rotate_csrf(None)
    setattr(g, _G_CSRF, secret)
    return secret


def rotate_csrf(response: Response | None) -> str:
    """A new CSRF secret for this browser (on sign-in and sign-out), set on ``response`` or
    when the request ends: no token an attacker saw before survives it."""
    secret = secrets.token_urlsafe(32)
    setattr(g, _G_CSRF, secret)
    max_age = int(get_state().settings.session_lifetime.total_seconds())
    apply(response, CSRF_COOKIE, lambda r: write_cookie(r, CSRF_COOKIE, secret, max_age))
    return secret


def csrf_token() -> str:
    """A token for forms and ``X-CSRF-Token`` headers, bound to this browser's CSRF cookie."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return serializer(app, CSRF_SALT).dumps_remembered(_csrf_secret())


def check_csrf() -> None:
    """Raise ``CsrfError`` unless the request carries a token matching its CSRF cookie.

    Several ``csrf_token`` form fields are allowed (a host's Flask-WTF form may have its own).
    A refused request writes no cookie at all, whatever the caller does next (a page that
    shows the draft, an error handler): nothing queued so far, nothing later.
    """
    secret = request.cookies.get(cookie_name(CSRF_COOKIE))
    candidates = request.form.getlist("csrf_token")
    header = request.headers.get("X-CSRF-Token")
    if header:
        candidates.append(header)
    if not secret:
        refuse_cookies()
        raise CsrfError("Your session's security token is missing; reload the page and retry.")
    signed = serializer(current_app._get_current_object(), CSRF_SALT)  # type: ignore[attr-defined]
    for token in candidates[:4]:
        try:
            value = signed.loads(token)
        except BadSignature:
            continue
        if isinstance(value, str) and hmac.compare_digest(value, secret):
            return
    refuse_cookies()
    raise CsrfError("The form's security token is missing or stale; reload the page and retry.")

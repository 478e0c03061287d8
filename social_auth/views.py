"""The public front door of the web layer: ``register(app)`` mounts the ``social_auth``
blueprint (its views live in ``social_auth.web``), and the helpers a host's views call.

``popup_result(status, message, next_url)`` ends a sign-in, ``guest_sign_in(form)`` signs a
guest in from a comment form, ``safe_next(value)`` keeps redirects on this site,
``wants_json()`` picks the error format, ``me_payload()`` is ``/auth/me``'s body.
"""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.exceptions import HTTPException

from .errors import GuestDisabled, RateLimited, SocialAuthError

# ``safe_next(value, default)``: one implementation of "a path on this site" for the package.
from .flow import safe_next
from .state import get_state

# Importing each web module adds its routes to ``bp``.
from .web import fedcm as web_fedcm
from .web import passkeys as web_passkeys
from .web.account import connections_payload, export_data
from .web.avatars import avatar_url
from .web.dev import LocalAuthorizationServer, dev_bp, serves_itself
from .web.email import (
    CLIENT_LIMIT,
    EMAIL_BINDING_COOKIE,
    EMAIL_LIMIT,
    LIMIT_WINDOW,
    needs_email_verification,
    request_verification,
    send_verification_link,
)
from .web.handles import discover as discover_handle
from .web.merge import MERGE_COOKIE, MERGE_MAX_AGE, MERGE_SALT
from .web.pages import (
    PopupStatus,
    bp,
    handle_error,
    handle_http_error,
    me_payload,
    popup_result,
    wants_json,
)
from .web.signin import (
    START_LIMIT,
    START_WINDOW,
    guest_sign_in,
)


def register(app: Flask) -> None:
    """Mount the blueprint at ``SOCIAL_AUTH_URL_PREFIX`` and route our errors."""
    state = get_state(app)
    prefix = state.settings.url_prefix
    app.register_blueprint(bp, url_prefix=prefix)
    web_passkeys.register(app)
    web_fedcm.register(app)
    if serves_itself(state.providers):
        logging.getLogger("social_auth").warning(
            "The dev sign-in pages are mounted at %s/dev/: anyone can sign in as anyone. "
            "Never in production.",
            prefix.rstrip("/"),
        )
        app.register_blueprint(dev_bp, url_prefix=prefix.rstrip("/") + "/dev")
    app.register_error_handler(SocialAuthError, handle_error)
    app.register_error_handler(HTTPException, handle_http_error)


__all__ = [
    "CLIENT_LIMIT",
    "EMAIL_BINDING_COOKIE",
    "EMAIL_LIMIT",
    "LIMIT_WINDOW",
    "MERGE_COOKIE",
    "MERGE_MAX_AGE",
    "MERGE_SALT",
    "START_LIMIT",
    "START_WINDOW",
    "GuestDisabled",
    "LocalAuthorizationServer",
    "PopupStatus",
    "RateLimited",
    "avatar_url",
    "bp",
    "connections_payload",
    "dev_bp",
    "discover_handle",
    "export_data",
    "guest_sign_in",
    "handle_error",
    "me_payload",
    "needs_email_verification",
    "popup_result",
    "register",
    "request_verification",
    "safe_next",
    "send_verification_link",
    "wants_json",
]

"""The public front door of the commenter's session: ``current_commenter``, sign-in and
sign-out, CSRF tokens, drafts and notices, and our cookies; they live in ``social_auth.web``.

Other code calls: ``sign_in(response, commenter, identity)``, ``sign_out(response)``,
``check_csrf()``, ``csrf_token()``, ``set_draft(response, text)``, ``take_draft()``,
``set_notice(response, code)``, ``take_notice()``, and for cookies of their own
``set_cookie(response, base, value, max_age)``, ``delete_cookie(response, base)``,
``get_cookie(base)``. A ``response`` of ``None`` defers the cookie change to the end of the
request.
"""

from __future__ import annotations

# Tests move the session's clock through ``social_auth.session.time`` (the module itself).
import time  # noqa: F401

from .accounts import holds_session
from .web.commenter import (
    ANONYMOUS,
    AnonymousCommenter,
    current_commenter,
    sign_in,
    sign_out,
    signed_in_provider,
)
from .web.cookies import (
    CSRF_COOKIE,
    DRAFT_COOKIE,
    NOTICE_COOKIE,
    SESSION_COOKIE,
    after_request,
    cookie_name,
    delete_cookie,
    get_cookie,
    set_cookie,
)
from .web.csrf import CsrfError, check_csrf, csrf_token
from .web.drafts import (
    DRAFT_MAX_AGE,
    DRAFT_SALT,
    MAX_COOKIE_BYTES,
    NOTICE_MAX_AGE,
    NOTICES,
    set_draft,
    set_notice,
    take_draft,
    take_notice,
)
from .web.early import ENVIRON_ASKED, AskEarly
from .web.signing import (
    CSRF_SALT,
    SESSION_SALT,
    SessionData,
    decode_session,
    encode_session,
    secret_keys,
)

__all__ = [
    "ANONYMOUS",
    "CSRF_COOKIE",
    "CSRF_SALT",
    "DRAFT_COOKIE",
    "DRAFT_MAX_AGE",
    "DRAFT_SALT",
    "ENVIRON_ASKED",
    "MAX_COOKIE_BYTES",
    "NOTICES",
    "NOTICE_COOKIE",
    "NOTICE_MAX_AGE",
    "SESSION_COOKIE",
    "SESSION_SALT",
    "AnonymousCommenter",
    "AskEarly",
    "CsrfError",
    "SessionData",
    "after_request",
    "check_csrf",
    "cookie_name",
    "csrf_token",
    "current_commenter",
    "decode_session",
    "delete_cookie",
    "encode_session",
    "get_cookie",
    "holds_session",
    "secret_keys",
    "set_cookie",
    "set_draft",
    "set_notice",
    "sign_in",
    "sign_out",
    "signed_in_provider",
    "take_draft",
    "take_notice",
]

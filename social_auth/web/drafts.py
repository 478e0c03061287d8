"""What survives a redirect in short cookies: the comment draft across a full-page sign-in,
and a one-time notice ("Sign-in cancelled") for the next page."""

from __future__ import annotations

from flask import current_app, g, request
from flask.wrappers import Response
from itsdangerous import BadSignature

from .cookies import DRAFT_COOKIE, NOTICE_COOKIE, apply, cookie_name, erase_cookie, write_cookie
from .signing import timed_serializer

DRAFT_SALT = "social-auth.draft"
#: A draft cookie lives long enough for a round trip to a provider, no longer.
DRAFT_MAX_AGE = 15 * 60
#: A notice is shown on the very next page, or not at all.
NOTICE_MAX_AGE = 120
#: What a notice cookie may say: only these codes, so a forged cookie can show nothing else.
NOTICES = {
    "cancelled": "Sign-in cancelled. Your comment is still here.",
    "connect_cancelled": "Cancelled: nothing was connected.",
    "connected": "The account is connected: you can sign in with it from now on.",
    "disconnected": "The account is disconnected.",
    "merged": "The two commenters are merged into this one.",
    "claimed": "Your earlier guest comments are now part of this account.",
}
#: Browsers drop cookies over 4096 bytes; a draft that would not fit is not set.
MAX_COOKIE_BYTES = 3800

_G_DRAFT_TAKEN = "_social_auth_draft_taken"


def set_draft(response: Response | None, text: str) -> bool:
    """Keep ``text`` for the next page in a short-lived signed cookie; False if too long."""
    if not text:
        return True
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    value = timed_serializer(app, DRAFT_SALT).dumps(text)
    if len(value) > MAX_COOKIE_BYTES:
        return False
    apply(response, DRAFT_COOKIE, lambda r: write_cookie(r, DRAFT_COOKIE, value, DRAFT_MAX_AGE))
    return True


def take_draft() -> str:
    """The draft kept by ``set_draft`` (once: the cookie is cleared), or ``""``."""
    raw = request.cookies.get(cookie_name(DRAFT_COOKIE))
    if not raw:
        return ""
    if not g.get(_G_DRAFT_TAKEN):
        setattr(g, _G_DRAFT_TAKEN, True)
        apply(None, DRAFT_COOKIE, lambda r: erase_cookie(r, DRAFT_COOKIE))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        text = timed_serializer(app, DRAFT_SALT).loads(raw, max_age=DRAFT_MAX_AGE)
    except BadSignature:
        return ""
    return text if isinstance(text, str) else ""


def set_notice(response: Response | None, code: str) -> None:
    """Show the ``NOTICES[code]`` message on the next page that asks with ``take_notice``."""
    if code not in NOTICES:
        raise ValueError(f"unknown notice {code!r}")
    apply(response, NOTICE_COOKIE, lambda r: write_cookie(r, NOTICE_COOKIE, code, NOTICE_MAX_AGE))


def take_notice() -> str:
    """The pending notice's text (once: the cookie is cleared), or ``""``."""
    code = request.cookies.get(cookie_name(NOTICE_COOKIE))
    if not code:
        return ""
    apply(None, NOTICE_COOKIE, lambda r: erase_cookie(r, NOTICE_COOKIE))
    return NOTICES.get(code, "")

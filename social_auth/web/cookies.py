"""Our cookies' names and attributes, and cookie writes deferred to the end of the request.

Every cookie of the package is written through ``set_cookie``/``delete_cookie`` (``__Host-`` on
https, path ``/``, HttpOnly, SameSite=Lax). A ``response`` of ``None`` queues the write; the
queue is applied by a hook registered for this request only (``after_this_request``) the first
time our code queues something or resolves the commenter, so a host route that never touches
the extension runs no hook of ours at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import after_this_request, g, has_request_context, request
from flask.wrappers import Response

SESSION_COOKIE = "social_auth_session"
HOST_SESSION_COOKIE = f"__Host-{SESSION_COOKIE}"
CSRF_COOKIE = "social_auth_csrf"
DRAFT_COOKIE = "social_auth_draft"
NOTICE_COOKIE = "social_auth_notice"

CookieOp = Callable[[Response], None]

_G_PENDING = "_social_auth_pending_cookies"
#: Set when this request failed its CSRF check: from then on it writes no cookie at all.
_G_REFUSED = "_social_auth_csrf_refused"


class _Pending:
    """This request's queued cookie writes (by cookie), and whether the answer varies by
    cookie (the commenter was resolved)."""

    __slots__ = ("ops", "vary")

    def __init__(self) -> None:
        self.ops: dict[str, CookieOp] = {}
        self.vary = False


def _pending(ctx_g: dict[str, Any]) -> _Pending:
    # ``ctx_g`` is the ``__dict__`` of this request's ``g``.
    pending: _Pending | None = ctx_g.get(_G_PENDING)
    if pending is None:
        pending = ctx_g[_G_PENDING] = _Pending()
        after_this_request(after_request)
    return pending


def _g_dict() -> dict[str, Any]:
    found: dict[str, Any] = g._get_current_object().__dict__
    return found


def vary_on_cookie(ctx_g: dict[str, Any] | None = None) -> None:
    """This answer depends on the session cookie: say so (``Vary: Cookie``) when it ends.
    ``ctx_g``: this request's ``g.__dict__`` when the caller already holds it."""
    _pending(_g_dict() if ctx_g is None else ctx_g).vary = True


def after_request(response: Response) -> Response:
    """Applies the cookie writes queued during the request, and ``Vary: Cookie`` when the
    commenter was resolved; runs once per request that queued either."""
    pending: _Pending | None = _g_dict().pop(_G_PENDING, None)
    if pending is not None:
        for op in pending.ops.values():
            op(response)
        if pending.vary:
            _add_vary_cookie(response)
    return response


def _add_vary_cookie(response: Response) -> None:
    # What ``response.vary.add("Cookie")`` does, without parsing the header into a set, and
    # without ``headers.get``, which raises and catches an exception when there is none.
    headers = response.headers
    values = headers.getlist("Vary")
    if values:
        tokens = (v.strip().lower() for value in values for v in value.split(","))
        if any(v in ("cookie", "*") for v in tokens):
            return
    headers.add("Vary", "Cookie")


def refuse_cookies() -> None:
    """This request failed its CSRF check: drop what it queued and write nothing from now on
    (a cross-site form must not be able to plant anything: a draft, a flow)."""
    ctx_g = _g_dict()
    ctx_g[_G_REFUSED] = True
    pending: _Pending | None = ctx_g.get(_G_PENDING)
    if pending is not None:
        pending.ops.clear()


def _secure() -> bool:
    return has_request_context() and request.is_secure


def cookie_name(base: str, *, secure: bool | None = None) -> str:
    """``__Host-`` prefixed on https: the browser then refuses it from subdomains or over http."""
    return f"__Host-{base}" if (_secure() if secure is None else secure) else base


def apply(response: Response | None, base: str, op: CookieOp) -> None:
    """Write cookie ``base`` now, or at the end of the request when ``response`` is None.

    The last write of a cookie wins: signing in after a stale cookie was queued for deletion
    must not have the new cookie deleted when the request ends. A request that failed its
    CSRF check writes nothing: every cookie of ours goes through here.
    """
    ctx_g = _g_dict()
    if ctx_g.get(_G_REFUSED):
        return
    if response is None:
        _pending(ctx_g).ops[base] = op
    else:
        pending: _Pending | None = ctx_g.get(_G_PENDING)
        if pending is not None:
            pending.ops.pop(base, None)
        op(response)


def write_cookie(response: Response, base: str, value: str, max_age: int | None) -> None:
    """Set cookie ``base`` on ``response`` right away, with our attributes."""
    secure = _secure()
    response.set_cookie(
        cookie_name(base, secure=secure),
        value,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=True,
        samesite="Lax",
    )


def erase_cookie(response: Response, base: str) -> None:
    """Delete cookie ``base`` on ``response`` right away."""
    secure = _secure()
    response.delete_cookie(
        cookie_name(base, secure=secure), path="/", secure=secure, httponly=True, samesite="Lax"
    )


def set_cookie(response: Response | None, base: str, value: str, max_age: int) -> None:
    """Set our cookie ``base`` (``__Host-`` on https: path ``/``, HttpOnly, SameSite=Lax), now
    or, with ``response=None``, when the request ends. Every cookie of the package goes
    through here, so none can be planted by a sibling subdomain or over plain http."""
    apply(response, base, lambda r: write_cookie(r, base, value, max_age))


def delete_cookie(response: Response | None, base: str) -> None:
    """Delete our cookie ``base``, now or when the request ends (``set_cookie``)."""
    apply(response, base, lambda r: erase_cookie(r, base))


def get_cookie(base: str) -> str | None:
    """This request's value of our cookie ``base`` (under its ``__Host-`` name on https)."""
    value: str | None = request.cookies.get(cookie_name(base))
    return value

"""Who is commenting: ``current_commenter`` resolved from the session cookie, and signing a
browser in and out.

The session lives in a cookie of its own (never Flask's ``session``) so a host app's session
settings cannot weaken it. It holds ``[commenter id, session_version, issued at, last seen,
provider]`` signed with itsdangerous (``web.signing``); the commenter's ``session_version`` in
the store is the revocation switch: sign-out, block, merge and erase bump it and every older
cookie turns anonymous (``accounts.holds_session``, the rule mailed links share).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from flask import current_app, g, request
from flask.wrappers import Response
from werkzeug.local import LocalProxy

from ..accounts import holds_session
from ..signals import commenter_signed_in, commenter_signed_out
from ..state import SocialAuthState, get_state
from ..store import Commenter, Identity
from .cookies import (
    HOST_SESSION_COOKIE,
    SESSION_COOKIE,
    apply,
    erase_cookie,
    vary_on_cookie,
    write_cookie,
)
from .csrf import rotate_csrf
from .early import ENVIRON_ASKED, AskEarly
from .signing import decode_session, encode_session, encode_session_data

_G_COMMENTER = "_social_auth_commenter"
_G_PROVIDER = "_social_auth_provider"


class AnonymousCommenter:
    """Who ``current_commenter`` is when nobody is signed in."""

    is_authenticated = False
    is_guest = False
    is_blocked = False
    email_verified = False
    id = None
    public_id = None
    display_name = ""
    email = None
    website = None
    avatar_url = None
    identities: tuple[Identity, ...] = ()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<AnonymousCommenter>"


ANONYMOUS = AnonymousCommenter()


def _remember(ctx_g: dict[str, Any], commenter: Commenter | AnonymousCommenter) -> None:
    # The answer now depends on the session cookie, whoever it turned out to be.
    ctx_g[_G_COMMENTER] = commenter
    vary_on_cookie(ctx_g)


def _load_commenter() -> Commenter | AnonymousCommenter:
    ctx_g = g._get_current_object().__dict__
    found: Commenter | AnonymousCommenter | None = ctx_g.get(_G_COMMENTER)
    if found is not None:
        return found
    commenter = _resolve(ctx_g)
    _remember(ctx_g, commenter)
    return commenter


def _resolve(ctx_g: dict[str, Any]) -> Commenter | AnonymousCommenter:
    # ``ctx_g`` is the ``__dict__`` of this request's ``g``.
    req = request._get_current_object()  # type: ignore[attr-defined]
    environ = req.environ
    if "HTTP_COOKIE" not in environ:
        return ANONYMOUS  # the common case: no cookie parsing, no decoding, no query
    raw = req.cookies.get(HOST_SESSION_COOKIE if req.is_secure else SESSION_COOKIE)
    if raw is None:
        return ANONYMOUS
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    data = decode_session(app, raw)
    state = get_state(app)
    now = int(time.time())
    settings = state.settings
    lifetime = settings.session_lifetime.total_seconds()
    idle = settings.session_idle.total_seconds()
    commenter = None
    if data is not None and now - data.issued_at < lifetime and now - data.last_seen < idle:
        commenter = _fetch(state, data.commenter_id, environ)
    if data is None or commenter is None or not holds_session(commenter, data.version):
        apply(None, SESSION_COOKIE, lambda r: erase_cookie(r, SESSION_COOKIE))
        return ANONYMOUS
    ctx_g[_G_PROVIDER] = data.provider
    # Slide the idle window, but rewrite the cookie only now and then so most responses
    # carry no Set-Cookie (and stay cacheable by the browser).
    if now - data.last_seen > min(3600, idle / 20):
        value = encode_session_data(app, dataclasses.replace(data, last_seen=now))
        remaining = int(data.issued_at + lifetime - now)
        apply(None, SESSION_COOKIE, lambda r: write_cookie(r, SESSION_COOKIE, value, remaining))
    return commenter


def _fetch(state: SocialAuthState, commenter_id: int, environ: dict[str, Any]) -> Commenter | None:
    # With Redis: this worker's cached commenter while its generation token in Redis is
    # unchanged (one GET, usually sent as the request arrived: ``AskEarly``), else one query
    # (``social_auth.revocation``). Without: one query, the commenter and its identities
    # through a join, by primary key.
    early: AskEarly | None = state.ask_early
    if early is None:
        return state.store.session_commenter(commenter_id)
    asked = environ.pop(ENVIRON_ASKED, None)
    if asked is None:
        early.learn(environ.get("PATH_INFO", ""))
    ticket = asked[1] if asked is not None and asked[0] == commenter_id else None
    return early.cache.get(commenter_id, state.store.session_commenter, ticket)


class _CommenterProxy(LocalProxy):  # type: ignore[type-arg]
    """A ``LocalProxy`` whose truth test and attribute reads call ``_load_commenter`` directly:
    pages do little else with the commenter, and werkzeug's generic lookups double their cost.
    """

    __slots__ = ()

    def __bool__(self) -> bool:
        return bool(_load_commenter())

    def __getattr__(self, name: str) -> Any:
        return getattr(_load_commenter(), name)


#: The commenter of this request, or ``ANONYMOUS``; resolved at most once per request.
current_commenter: Commenter | AnonymousCommenter = _CommenterProxy(  # type: ignore[assignment]
    _load_commenter
)


def signed_in_provider() -> str | None:
    """The provider instance the current session signed in through (None for guests)."""
    _load_commenter()
    provider: str | None = g.get(_G_PROVIDER)
    return provider


def sign_in(
    response: Response | None, commenter: Commenter, identity: Identity | None = None
) -> None:
    """Start a fresh session for ``commenter``, replacing any current one.

    Rotates the session cookie (new issue time) and the CSRF secret, so nothing an attacker
    planted before the sign-in survives it. ``identity`` is the one used (None for a guest or a
    magic link). Pass ``response=None`` to apply it when the request ends.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    provider = identity.provider if identity is not None else None
    value = encode_session(app, commenter, provider=provider)
    max_age = int(get_state().settings.session_lifetime.total_seconds())
    ctx_g = g._get_current_object().__dict__
    _remember(ctx_g, commenter)
    ctx_g[_G_PROVIDER] = provider
    rotate_csrf(response)
    apply(response, SESSION_COOKIE, lambda r: write_cookie(r, SESSION_COOKIE, value, max_age))
    commenter_signed_in.send(app, commenter=commenter, identity=identity)


def sign_out(response: Response | None) -> None:
    """End the current session everywhere: clear the cookie and bump ``session_version`` so a
    copy of the cookie taken earlier is anonymous too."""
    commenter = _load_commenter()
    if isinstance(commenter, Commenter):
        get_state().store.bump_session_version(commenter)
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        commenter_signed_out.send(app, commenter=commenter)
    _remember(g._get_current_object().__dict__, ANONYMOUS)
    rotate_csrf(response)
    apply(response, SESSION_COOKIE, lambda r: erase_cookie(r, SESSION_COOKIE))

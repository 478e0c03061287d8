"""The commenter's session cookie, ``current_commenter``, CSRF tokens and the draft cookie.

The session lives in a cookie of its own (never Flask's ``session``) so a host app's session
settings cannot weaken it. It holds ``[commenter id, session_version, issued at, last seen,
provider]`` signed with itsdangerous; the commenter's ``session_version`` in the store is the
revocation switch: sign-out, block, merge and erase bump it and every older cookie turns
anonymous.

Other code calls: ``sign_in(response, commenter, identity)``, ``sign_out(response)``,
``check_csrf()``, ``csrf_token()``, ``set_draft(response, text)``, ``take_draft()``,
``set_notice(response, code)``, ``take_notice()``, and for cookies of their own
``set_cookie(response, base, value, max_age)``, ``delete_cookie(response, base)``,
``get_cookie(base)``.
A ``response`` of ``None`` defers the cookie change to the end of the request.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from flask.wrappers import Response
from itsdangerous import (
    BadSignature,
    Signer,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)
from itsdangerous.encoding import base64_encode
from werkzeug.local import LocalProxy

from .config import secret_keys as config_secret_keys
from .errors import SocialAuthError
from .revocation import CommenterCache
from .signals import commenter_signed_in, commenter_signed_out
from .state import SocialAuthState, get_state
from .store import Commenter, Identity

SESSION_COOKIE = "social_auth_session"
_HOST_SESSION_COOKIE = f"__Host-{SESSION_COOKIE}"
CSRF_COOKIE = "social_auth_csrf"
DRAFT_COOKIE = "social_auth_draft"
NOTICE_COOKIE = "social_auth_notice"
SESSION_SALT = "social-auth.session"
CSRF_SALT = "social-auth.csrf"
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

#: Where ``AskEarly`` leaves (commenter id, ticket) of the GET it sent for this request.
ENVIRON_ASKED = "social_auth.asked"

_G_COMMENTER = "_social_auth_commenter"
_G_PROVIDER = "_social_auth_provider"
_G_PENDING = "_social_auth_pending_cookies"
_G_CSRF = "_social_auth_csrf"
#: Set when this request failed its CSRF check: from then on it writes no cookie at all.
_G_REFUSED = "_social_auth_csrf_refused"


class CsrfError(SocialAuthError):
    """The request lacks a valid CSRF token; nothing was changed."""

    status = 403
    code = "csrf_failed"


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


@dataclasses.dataclass(frozen=True)
class SessionData:
    """What the session cookie carries, decoded."""

    commenter_id: int
    version: int
    issued_at: int
    last_seen: int
    provider: str | None


# -- cookie names and serializers ------------------------------------------------------------


def _secure() -> bool:
    return has_request_context() and request.is_secure


def cookie_name(base: str, *, secure: bool | None = None) -> str:
    """``__Host-`` prefixed on https: the browser then refuses it from subdomains or over http."""
    return f"__Host-{base}" if (_secure() if secure is None else secure) else base


def secret_keys(app: Flask) -> list[bytes]:
    """The app's signing keys as ``config.secret_keys`` reads and checks them (read per call,
    so a key rotated in ``app.config`` applies to the next request)."""
    return list(config_secret_keys(app.config))


class _CookieSerializer(URLSafeSerializer):
    """itsdangerous' ``URLSafeSerializer`` for our cookies, minus what made signing one cost
    ~200 µs: ``dumps`` writes the same format directly (compact JSON, base64url, HMAC-SHA1
    of it under the derived newest key) and ``loads`` is itsdangerous' own.

    - No attempt to zlib-compress each payload: setting zlib up allocates over 256 KiB per
      call (about 100 µs), to save a few bytes on our short payloads. Compressed values, as
      ``URLSafeSerializer`` makes them, are still read.
    - HMAC-SHA1 through ``hashlib.sha1`` rather than itsdangerous' lazy wrapper of it, which
      makes ``hmac`` fall back to its pure-Python implementation; keyed once, copied per use.
    - One signer, made once, instead of one per call.
    """

    def __init__(self, keys: list[bytes], *, salt: str) -> None:
        super().__init__(keys, salt=salt, signer_kwargs={"digest_method": hashlib.sha1})
        self._signer = super().make_signer()
        self._mac = hmac.new(self._signer.derive_key(), digestmod=hashlib.sha1)
        self._remembered: dict[str, str] = {}

    def dumps(self, obj: Any, salt: str | bytes | None = None) -> str:
        if salt is not None and salt != self.salt:
            return super().dumps(obj, salt)
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        payload = base64_encode(text.encode())
        mac = self._mac.copy()
        mac.update(payload)
        return (payload + b"." + base64_encode(mac.digest())).decode("ascii")

    def dumps_remembered(self, value: str) -> str:
        """``dumps(value)``, remembered: a browser's CSRF token is the same on every page."""
        signed = self._remembered.get(value)
        if signed is None:
            if len(self._remembered) >= 10_000:
                self._remembered.clear()
            signed = self._remembered[value] = self.dumps(value)
        return signed

    def make_signer(self, salt: str | bytes | None = None) -> Signer:
        if salt is None or salt == self.salt:
            return self._signer
        return super().make_signer(salt)


def _serializer(app: Flask, salt: str) -> _CookieSerializer:
    # Built once per key list and salt: building one costs as much as checking a cookie.
    keys = secret_keys(app)
    cache: dict[tuple[str, tuple[bytes, ...]], _CookieSerializer] = app.extensions.setdefault(
        "social_auth.serializers", {}
    )
    serializer = cache.get((salt, tuple(keys)))
    if serializer is None:
        if len(cache) > 32:  # keys rotated many times in one process: start afresh
            cache.clear()
        serializer = cache[(salt, tuple(keys))] = _CookieSerializer(keys, salt=salt)
    return serializer


def _timed_serializer(app: Flask, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_keys(app), salt=salt)


def encode_session(
    app: Flask, commenter: Commenter, *, provider: str | None = None, now: int | None = None
) -> str:
    """The signed cookie value for ``commenter``; used by ``sign_in`` and ``testing``."""
    issued = int(time.time()) if now is None else now
    data = SessionData(commenter.id, commenter.session_version, issued, issued, provider)
    return _encode_session(app, data)


def _encode_session(app: Flask, data: SessionData) -> str:
    payload = [data.commenter_id, data.version, data.issued_at, data.last_seen, data.provider]
    value = _serializer(app, SESSION_SALT).dumps(payload)
    if type(data.commenter_id) is int and type(data.version) is int:
        # The browser sends it back on its next request: no need to check what we signed.
        _verified(app).values[value] = data
    return value


_VERIFIED = "social_auth.verified_sessions"


class _Verified:
    """Cookie values we signed, or whose signature verified, under ``keys``; what they hold."""

    #: Past this many values the worker starts afresh.
    MAX = 10_000

    def __init__(self, keys: tuple[bytes, ...]) -> None:
        self.keys = keys
        self.values: dict[str, SessionData] = {}


def _verified(app: Flask) -> _Verified:
    keys = tuple(secret_keys(app))
    verified: _Verified | None = app.extensions.get(_VERIFIED)
    if verified is None or verified.keys != keys or len(verified.values) > _Verified.MAX:
        verified = app.extensions[_VERIFIED] = _Verified(keys)
    return verified


def decode_session(app: Flask, value: str) -> SessionData | None:
    """The cookie's content, or None when it is tampered with or malformed."""
    # A browser sends the same cookie value on every page for up to an hour (the idle window
    # slides hourly), and checking its signature costs more than the rest of the page's
    # commenter lookup: values that verified, or that this worker signed, are remembered per
    # worker, keyed by the exact value under the current key list.
    verified = _verified(app)
    known = verified.values.get(value)
    if known is not None:
        return known
    data = _decode_session(app, value)
    if data is not None:
        verified.values[value] = data
    return data


def _decode_session(app: Flask, value: str) -> SessionData | None:
    try:
        data: Any = _serializer(app, SESSION_SALT).loads(value)
    except BadSignature:
        return None
    if not (isinstance(data, list) and len(data) == 5):
        return None
    cid, version, issued, seen, provider = data
    numbers = (cid, version, issued, seen)
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in numbers):
        return None
    if provider is not None and not isinstance(provider, str):
        return None
    return SessionData(cid, version, issued, seen, provider)


# -- deferred cookie operations --------------------------------------------------------------


def _pending() -> dict[str, Callable[[Response], None]]:
    pending: dict[str, Callable[[Response], None]] = g.setdefault(_G_PENDING, {})
    return pending


def _apply(response: Response | None, base: str, op: Callable[[Response], None]) -> None:
    """Write cookie ``base`` now, or at the end of the request when ``response`` is None.

    The last write of a cookie wins: signing in after a stale cookie was queued for deletion
    must not have the new cookie deleted when the request ends. A request that failed its
    CSRF check (``check_csrf``) writes nothing: every cookie of ours goes through here.
    """
    if g.get(_G_REFUSED):
        return  # a cross-site form must not be able to plant anything (a draft, a flow)
    if response is None:
        _pending()[base] = op
    else:
        _pending().pop(base, None)
        op(response)


def _set_cookie(response: Response, base: str, value: str, max_age: int | None) -> None:
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


def _delete_cookie(response: Response, base: str) -> None:
    secure = _secure()
    response.delete_cookie(
        cookie_name(base, secure=secure), path="/", secure=secure, httponly=True, samesite="Lax"
    )


def set_cookie(response: Response | None, base: str, value: str, max_age: int) -> None:
    """Set our cookie ``base`` (``__Host-`` on https: path ``/``, HttpOnly, SameSite=Lax), now
    or, with ``response=None``, when the request ends. Every cookie of the package goes
    through here, so none can be planted by a sibling subdomain or over plain http."""
    _apply(response, base, lambda r: _set_cookie(r, base, value, max_age))


def delete_cookie(response: Response | None, base: str) -> None:
    """Delete our cookie ``base``, now or when the request ends (``set_cookie``)."""
    _apply(response, base, lambda r: _delete_cookie(r, base))


def get_cookie(base: str) -> str | None:
    """This request's value of our cookie ``base`` (under its ``__Host-`` name on https)."""
    value: str | None = request.cookies.get(cookie_name(base))
    return value


def after_request(response: Response) -> Response:
    """Applies cookie changes queued during the request; registered by ``SocialAuth``."""
    ctx_g = g._get_current_object()
    pending = ctx_g.__dict__.pop(_G_PENDING, None)
    if pending:
        for op in pending.values():
            op(response)
    if _G_COMMENTER in ctx_g.__dict__:
        _vary_on_cookie(response)
    return response


def _vary_on_cookie(response: Response) -> None:
    # What ``response.vary.add("Cookie")`` does, without parsing the header into a set, and
    # without ``headers.get``, which raises and catches an exception when there is none.
    headers = response.headers
    values = headers.getlist("Vary")
    if values:
        tokens = (v.strip().lower() for value in values for v in value.split(","))
        if any(v in ("cookie", "*") for v in tokens):
            return
    headers.add("Vary", "Cookie")


# -- current commenter -----------------------------------------------------------------------


def _load_commenter() -> Commenter | AnonymousCommenter:
    ctx_g = g._get_current_object()
    found: Commenter | AnonymousCommenter | None = ctx_g.__dict__.get(_G_COMMENTER)
    if found is not None:
        return found
    commenter = ctx_g.__dict__[_G_COMMENTER] = _resolve(ctx_g.__dict__)
    return commenter


def _resolve(ctx_g: dict[str, Any]) -> Commenter | AnonymousCommenter:
    # ``ctx_g`` is the ``__dict__`` of this request's ``g``.
    req = request._get_current_object()  # type: ignore[attr-defined]
    environ = req.environ
    if "HTTP_COOKIE" not in environ:
        return ANONYMOUS  # the common case: no cookie parsing, no decoding, no query
    raw = req.cookies.get(_HOST_SESSION_COOKIE if req.is_secure else SESSION_COOKIE)
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
    if (
        data is None
        or commenter is None
        or commenter.session_version != data.version
        or commenter.erased_at is not None
        or commenter.merged_into_id is not None
        or (commenter.blocked_at is not None and commenter.is_blocked)
    ):
        _apply(None, SESSION_COOKIE, lambda r: _delete_cookie(r, SESSION_COOKIE))
        return ANONYMOUS
    ctx_g[_G_PROVIDER] = data.provider
    # Slide the idle window, but rewrite the cookie only now and then so most responses
    # carry no Set-Cookie (and stay cacheable by the browser).
    if now - data.last_seen > min(3600, idle / 20):
        value = _encode_session(app, dataclasses.replace(data, last_seen=now))
        remaining = int(data.issued_at + lifetime - now)
        _apply(None, SESSION_COOKIE, lambda r: _set_cookie(r, SESSION_COOKIE, value, remaining))
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


class AskEarly:
    """WSGI middleware, with Redis only: sends the commenter's generation ``GET`` the moment a
    request arrives, so its round trip overlaps Flask's own request setup (context, URL
    matching, the host's session) instead of stalling the page when ``current_commenter`` is
    first used. ``_resolve`` still decides everything: the early answer is only used for the
    commenter its cookie names, and only within the request that asked (``revocation``).

    It asks only on paths whose pages looked at the commenter before (so routes that never do,
    like static files or a JSON API, cost Redis nothing) and only for cookie values this worker
    verified before (a hint: the cookie is parsed properly, and checked, by ``_resolve``).
    """

    #: Paths remembered; past that the worker starts afresh.
    MAX_PATHS = 4096

    def __init__(self, wsgi_app: Any, app: Flask, cache: CommenterCache) -> None:
        self.wsgi_app = wsgi_app
        self.app = app
        self.cache = cache
        self.paths: dict[str, bool] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        cookie = environ.get("HTTP_COOKIE")
        path = environ.get("PATH_INFO")
        if cookie is None or path not in self.paths or not self._ask(environ, cookie):
            return self.wsgi_app(environ, start_response)
        body = self.wsgi_app(environ, start_response)
        if ENVIRON_ASKED in environ:  # ``_fetch`` takes it: the page did not look this time
            self.paths.pop(path, None)
        return body

    def _ask(self, environ: dict[str, Any], cookie: str) -> bool:
        # Finds "social_auth_session=" and "__Host-social_auth_session=" alike.
        at = cookie.find(SESSION_COOKIE + "=")
        if at < 0:
            return False
        at += len(SESSION_COOKIE) + 1
        end = cookie.find(";", at)
        value = cookie[at:end] if end >= 0 else cookie[at:]
        verified: _Verified | None = self.app.extensions.get(_VERIFIED)
        data = verified.values.get(value.strip()) if verified is not None else None
        if data is None:
            return False
        ticket = self.cache.ask(data.commenter_id)
        if ticket is None:
            return False
        environ[ENVIRON_ASKED] = (data.commenter_id, ticket)
        return True

    def learn(self, path: str) -> None:
        """This path's page looked at the commenter: ask early on it from now on."""
        paths = self.paths
        if path not in paths:
            if len(paths) >= self.MAX_PATHS:
                paths.clear()
            paths[path] = True


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


# -- sign in and out -------------------------------------------------------------------------


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
    setattr(g, _G_COMMENTER, commenter)
    setattr(g, _G_PROVIDER, provider)
    _rotate_csrf(response)
    _apply(response, SESSION_COOKIE, lambda r: _set_cookie(r, SESSION_COOKIE, value, max_age))
    commenter_signed_in.send(app, commenter=commenter, identity=identity)


def sign_out(response: Response | None) -> None:
    """End the current session everywhere: clear the cookie and bump ``session_version`` so a
    copy of the cookie taken earlier is anonymous too."""
    commenter = _load_commenter()
    if isinstance(commenter, Commenter):
        get_state().store.bump_session_version(commenter)
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        commenter_signed_out.send(app, commenter=commenter)
    setattr(g, _G_COMMENTER, ANONYMOUS)
    _rotate_csrf(response)
    _apply(response, SESSION_COOKIE, lambda r: _delete_cookie(r, SESSION_COOKIE))


# -- CSRF ------------------------------------------------------------------------------------
# A random secret in its own HttpOnly cookie; the token is that secret signed with the app's
# key. A cross-site page can neither read the cookie nor mint a token for it, and nothing
# depends on the host's session or on Flask-WTF.


def _csrf_secret() -> str:
    if _G_CSRF in g:
        existing: str = g.get(_G_CSRF)
        return existing
    secret = request.cookies.get(cookie_name(CSRF_COOKIE))
    if not secret or len(secret) != 43:
        secret = _new_csrf_secret(None)
    setattr(g, _G_CSRF, secret)
    return secret


def _new_csrf_secret(response: Response | None) -> str:
    secret = secrets.token_urlsafe(32)
    setattr(g, _G_CSRF, secret)
    max_age = int(get_state().settings.session_lifetime.total_seconds())
    _apply(response, CSRF_COOKIE, lambda r: _set_cookie(r, CSRF_COOKIE, secret, max_age))
    return secret


def _rotate_csrf(response: Response | None) -> None:
    _new_csrf_secret(response)


def csrf_token() -> str:
    """A token for forms and ``X-CSRF-Token`` headers, bound to this browser's CSRF cookie."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return _serializer(app, CSRF_SALT).dumps_remembered(_csrf_secret())


def check_csrf() -> None:
    """Raise ``CsrfError`` unless the request carries a token matching its CSRF cookie.

    Several ``csrf_token`` form fields are allowed (a host's Flask-WTF form may have its own).
    """
    secret = request.cookies.get(cookie_name(CSRF_COOKIE))
    candidates = request.form.getlist("csrf_token")
    header = request.headers.get("X-CSRF-Token")
    if header:
        candidates.append(header)
    if not secret:
        _refuse()
        raise CsrfError("Your session's security token is missing; reload the page and retry.")
    serializer = _serializer(current_app._get_current_object(), CSRF_SALT)  # type: ignore[attr-defined]
    for token in candidates[:4]:
        try:
            value = serializer.loads(token)
        except BadSignature:
            continue
        if isinstance(value, str) and hmac.compare_digest(value, secret):
            return
    _refuse()
    raise CsrfError("The form's security token is missing or stale; reload the page and retry.")


def _refuse() -> None:
    # Whatever the caller does next (a page that shows the draft, an error handler), the
    # answer to a forged request sets no cookie: nothing queued so far, nothing later.
    setattr(g, _G_REFUSED, True)
    g.pop(_G_PENDING, None)


# -- comment drafts across a full-page sign-in -----------------------------------------------


def set_draft(response: Response | None, text: str) -> bool:
    """Keep ``text`` for the next page in a short-lived signed cookie; False if too long."""
    if not text:
        return True
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    value = _timed_serializer(app, DRAFT_SALT).dumps(text)
    if len(value) > MAX_COOKIE_BYTES:
        return False
    _apply(response, DRAFT_COOKIE, lambda r: _set_cookie(r, DRAFT_COOKIE, value, DRAFT_MAX_AGE))
    return True


def take_draft() -> str:
    """The draft kept by ``set_draft`` (once: the cookie is cleared), or ``""``."""
    raw = request.cookies.get(cookie_name(DRAFT_COOKIE))
    if not raw:
        return ""
    if not g.get("_social_auth_draft_taken"):
        g._social_auth_draft_taken = True
        _apply(None, DRAFT_COOKIE, lambda r: _delete_cookie(r, DRAFT_COOKIE))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        text = _timed_serializer(app, DRAFT_SALT).loads(raw, max_age=DRAFT_MAX_AGE)
    except BadSignature:
        return ""
    return text if isinstance(text, str) else ""


# -- one-time notices after a redirect ("Sign-in cancelled") ---------------------------------


def set_notice(response: Response | None, code: str) -> None:
    """Show the ``NOTICES[code]`` message on the next page that asks with ``take_notice``."""
    if code not in NOTICES:
        raise ValueError(f"unknown notice {code!r}")
    _apply(response, NOTICE_COOKIE, lambda r: _set_cookie(r, NOTICE_COOKIE, code, NOTICE_MAX_AGE))


def take_notice() -> str:
    """The pending notice's text (once: the cookie is cleared), or ``""``."""
    code = request.cookies.get(cookie_name(NOTICE_COOKIE))
    if not code:
        return ""
    _apply(None, NOTICE_COOKIE, lambda r: _delete_cookie(r, NOTICE_COOKIE))
    return NOTICES.get(code, "")

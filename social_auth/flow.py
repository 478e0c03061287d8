"""The two halves of a sign-in, without Flask: ``start()`` and ``finish()``.

``start`` keeps everything the callback needs (state, PKCE verifier, nonce, ``next``, popup mode,
the comment draft, the provider instance) in one short-lived signed value the caller puts in a
cookie, so any worker can finish the flow. ``finish`` checks it against the callback and returns
a typed ``SignInResult``; a replay guard (``UsedStates``) keeps each state single-use across
workers. Every ``SignInError`` it raises carries ``next_path``, ``popup`` and ``draft`` so the
commenter's typed text survives a cancel or a failure.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from itsdangerous import BadSignature, Serializer, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode

from .errors import (
    InvalidInput,
    ProviderError,
    SignInCancelled,
    SignInError,
    StateMismatch,
)
from .provider import Profile, Provider, new_secret

# The replay guard and the expiry rule live with the store; importable from here as before.
from .store.used_states import STORE_DOWN as STORE_DOWN
from .store.used_states import MemoryUsedStates as MemoryUsedStates
from .store.used_states import SqlUsedStates as SqlUsedStates
from .store.used_states import UsedStates, flow_expires_at, is_expired

#: Name of the cookie the caller keeps ``FlowStart.cookie_value`` in.
COOKIE_NAME = "social_auth_flow"
#: A sign-in must finish within this many seconds of its start.
MAX_AGE = 600
#: How long a started flow's draft and ``next`` can still be read back after it expired.
PEEK_MAX_AGE = 86400
SALT = "social-auth.flow-state"
#: Browsers drop cookies above 4096 bytes; keep room for the name and attributes.
MAX_COOKIE_BYTES = 3800
MAX_NEXT_LENGTH = 2048


@dataclass(frozen=True)
class FlowSettings:
    """Keys and the replay guard; build once per app. ``fallbacks`` are older secret keys that
    still verify (``SECRET_KEY_FALLBACKS``), the newest key signs. ``clock`` is what both the
    cookie check and the replay guard read as now (a test passes its own)."""

    secret_key: str | bytes
    used_states: UsedStates
    fallbacks: Sequence[str | bytes] = ()
    max_age: int = MAX_AGE
    clock: Callable[[], float] = field(default=time.time, compare=False)
    _serializer: URLSafeTimedSerializer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = [_bytes(k) for k in (*self.fallbacks, self.secret_key)]
        object.__setattr__(self, "_serializer", _FlowSerializer(keys, salt=SALT))

    def serializer(self) -> URLSafeTimedSerializer:
        """The flow cookie's serializer, built once (it holds only the keys and the salt)."""
        return self._serializer


class _FlowSerializer(URLSafeTimedSerializer):
    """Compresses only a flow that carries a draft. Without one the payload is random secrets
    and a short path, which zlib never shortens, and trying costs a third of ``start``. Reads
    both forms, as any ``URLSafeTimedSerializer`` does (a compressed payload starts with ".")."""

    def dump_payload(self, obj: Any) -> bytes:
        if isinstance(obj, dict) and obj.get("d"):
            return super().dump_payload(obj)
        return base64_encode(Serializer.dump_payload(self, obj))


@dataclass(frozen=True)
class FlowState:
    """What ``start`` signed into the cookie."""

    jti: str
    provider: str
    state: str
    code_verifier: str
    nonce: str
    next_path: str = "/"
    popup: bool = False
    draft: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    #: ``"connect"`` when a signed-in commenter asked to connect another account (then
    #: ``commenter`` is their public id, so the callback links only for that same session).
    intent: str = "sign_in"
    commenter: str | None = None


@dataclass(frozen=True)
class FlowStart:
    """Where to redirect the browser, and the cookie value to set (HttpOnly, ~10 minutes)."""

    url: str
    cookie_value: str
    state: FlowState


@dataclass(frozen=True)
class SignInResult:
    """A finished sign-in: who, and where the commenter goes next with which draft."""

    provider: str
    profile: Profile
    next_path: str
    popup: bool
    draft: str | None
    intent: str = "sign_in"
    commenter: str | None = None


@dataclass(frozen=True)
class FlowCookie:
    """A flow cookie, verified and decoded once: the flow it holds, when it was signed, and
    why ``finish`` must refuse it (``problem``, None when it may go on)."""

    state: FlowState | None
    signed_at: int = 0
    problem: str | None = None


def start(
    provider: Provider,
    redirect_uri: str,
    *,
    settings: FlowSettings,
    next_path: str | None = "/",
    popup: bool = False,
    draft: str | None = None,
    connect_to: str | None = None,
) -> FlowStart:
    """Begin a sign-in at ``provider``; may call the provider (OAuth 1.0a request token).

    ``connect_to`` is the public id of a signed-in commenter connecting another account: the
    state records it, so only a callback in that commenter's session can link anything.
    """
    code_verifier, nonce = new_secret(), new_secret()
    request = provider.authorization_request(redirect_uri, new_secret(), code_verifier, nonce)
    state = FlowState(
        jti=new_secret(),
        provider=provider.instance_name,
        state=request.state,
        code_verifier=code_verifier,
        nonce=nonce,
        next_path=safe_next(next_path),
        popup=bool(popup),
        draft=draft or None,
        extra=dict(request.extra),
        intent="connect" if connect_to else "sign_in",
        commenter=connect_to or None,
    )
    cookie_value = settings.serializer().dumps(_dump(state))
    if len(cookie_value) > MAX_COOKIE_BYTES:
        raise InvalidInput("draft", "The comment is too long to keep during sign-in.")
    return FlowStart(request.url, cookie_value, state)


def read_cookie(cookie_value: str | None, *, settings: FlowSettings) -> FlowCookie:
    """Verify and decode a flow cookie once, for ``finish_read`` and for the caller: the flow
    is there even a little after it expired (``PEEK_MAX_AGE``), enough to give the commenter
    back their draft and ``next`` after a cancel or an error."""
    if not cookie_value:
        return FlowCookie(None, problem=_NO_COOKIE)
    try:
        payload, signed_at = settings.serializer().loads(
            cookie_value, max_age=max(PEEK_MAX_AGE, settings.max_age), return_timestamp=True
        )
        flow = _load(payload)
    except SignatureExpired:
        return FlowCookie(None, problem=_TOO_LONG)
    except (BadSignature, ValueError, TypeError, KeyError):
        return FlowCookie(None, problem="This sign-in's cookie is not valid.")
    signed = int(signed_at.timestamp())
    if is_expired(flow_expires_at(signed, settings.max_age), settings.clock()):
        return FlowCookie(flow, signed, _TOO_LONG)
    return FlowCookie(flow, signed)


def peek(cookie_value: str | None, *, settings: FlowSettings) -> FlowState | None:
    """The flow a cookie holds, without consuming it, even a little after it expired."""
    return read_cookie(cookie_value, settings=settings).state


def finish(
    provider: Provider,
    cookie_value: str | None,
    params: Mapping[str, str],
    redirect_uri: str,
    *,
    settings: FlowSettings,
) -> SignInResult:
    """Check the callback against the flow cookie, exchange the code and return the profile.

    Raises ``StateMismatch`` (400), ``SignInCancelled`` or ``ProviderError`` (502/504); each
    carries the flow's ``next_path``, ``popup`` and ``draft`` when the cookie had them.
    """
    cookie = read_cookie(cookie_value, settings=settings)
    return finish_read(provider, cookie, params, redirect_uri, settings=settings)


def finish_read(
    provider: Provider,
    cookie: FlowCookie,
    params: Mapping[str, str],
    redirect_uri: str,
    *,
    settings: FlowSettings,
) -> SignInResult:
    """``finish`` for a cookie the caller already read with ``read_cookie``."""
    flow = cookie.state
    try:
        flow = _check_state(provider, cookie, params, settings)
        _check_provider_answer(provider, params)
        profile = provider.complete(
            params,
            redirect_uri,
            code_verifier=flow.code_verifier,
            nonce=flow.nonce,
            extra=flow.extra,
        )
    except SignInError as exc:
        if flow is not None:  # signed by us: the commenter's own draft, whatever went wrong
            exc.next_path, exc.popup, exc.draft = flow.next_path, flow.popup, flow.draft
        raise
    return SignInResult(
        provider.instance_name,
        profile,
        flow.next_path,
        flow.popup,
        flow.draft,
        flow.intent,
        flow.commenter,
    )


_NO_COOKIE = "This sign-in was not started here, or its cookie was lost."
_TOO_LONG = "This sign-in took too long; please try again."


def _check_state(
    provider: Provider, cookie: FlowCookie, params: Mapping[str, str], settings: FlowSettings
) -> FlowState:
    flow = cookie.state
    if cookie.problem is not None or flow is None:
        raise StateMismatch(cookie.problem or "This sign-in's cookie is not valid.")
    if flow.provider != provider.instance_name:
        raise StateMismatch("This answer is for a sign-in with another provider.")
    if provider.protocol == "oauth1":
        # OAuth 1.0a binds the callback by its request token (X sends ``denied=`` on cancel).
        returned = params.get("oauth_token") or params.get("denied")
    else:
        returned = params.get("state")
    if not returned:
        raise StateMismatch("The provider's answer carries no state.")
    if returned != flow.state:
        raise StateMismatch("The provider's answer is for another sign-in.")
    # Consumed before anything else happens, so a cancelled or failed state cannot be retried.
    # Judged again at the instant the guard is asked: the cookie may have been read a moment
    # before its deadline, and past it the guard no longer remembers a consumed id.
    now, expires_at = settings.clock(), flow_expires_at(cookie.signed_at, settings.max_age)
    if is_expired(expires_at, now):
        raise StateMismatch(_TOO_LONG)
    if not settings.used_states.consume(flow.jti, expires_at, now):
        raise StateMismatch("This sign-in was already used.")
    return flow


def _check_provider_answer(provider: Provider, params: Mapping[str, str]) -> None:
    error = params.get("error")
    if error == "access_denied" or (provider.protocol == "oauth1" and "denied" in params):
        raise SignInCancelled("Sign-in cancelled.")
    if error:
        raise ProviderError(
            provider.instance_name, f"{provider.display_title} refused the sign-in ({error[:64]})."
        )
    if provider.protocol == "oauth1":
        return
    # RFC 9207: an ``iss`` on the callback names who answered; a mix-up attack shows here.
    expected, required = provider.expected_response_issuer()
    issuer = params.get("iss")
    if issuer is not None and expected and issuer != expected:
        raise StateMismatch("The sign-in answer came from an unexpected issuer.")
    if issuer is None and required:
        raise StateMismatch("The sign-in answer does not say who issued it.")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_next(value: str | None, default: str = "/") -> str:
    """``value`` if it is a path on this site, else ``default`` (never another host or a
    scheme). The one check every redirect of the package goes through."""
    if not value or len(value) > MAX_NEXT_LENGTH or not value.startswith("/"):
        return default
    decoded = value
    for _ in range(3):  # also what a browser or proxy would make of encoded characters
        decoded = unquote(decoded)
    for candidate in (value, decoded):
        if _CONTROL.search(candidate) or "\\" in candidate:
            return default
        if candidate.startswith("//") or not candidate.startswith("/"):
            return default
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return default
    return value


def _dump(state: FlowState) -> dict[str, Any]:
    return {
        "j": state.jti,
        "p": state.provider,
        "s": state.state,
        "v": state.code_verifier,
        "n": state.nonce,
        "next": state.next_path,
        "popup": state.popup,
        "d": state.draft,
        "x": dict(state.extra),
        "i": state.intent,
        "c": state.commenter,
    }


def _load(data: Any) -> FlowState:
    if not isinstance(data, dict):
        raise ValueError("not a flow")
    return FlowState(
        jti=str(data["j"]),
        provider=str(data["p"]),
        state=str(data["s"]),
        code_verifier=str(data["v"]),
        nonce=str(data["n"]),
        next_path=safe_next(data.get("next")),
        popup=bool(data.get("popup")),
        draft=data.get("d") if isinstance(data.get("d"), str) else None,
        extra={str(k): str(v) for k, v in dict(data.get("x") or {}).items()},
        intent="connect" if data.get("i") == "connect" else "sign_in",
        commenter=str(data["c"]) if data.get("c") else None,
    )


def _bytes(key: str | bytes) -> bytes:
    return key.encode() if isinstance(key, str) else key

"""Signing our cookies: itsdangerous' serializers, made cheap through their own extension
points, and the session cookie's content (``SessionData``) with its per-worker memo."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from typing import Any

from flask import Flask
from itsdangerous import (
    BadSignature,
    Serializer,
    Signer,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)
from itsdangerous.encoding import base64_encode

from ..config import secret_keys as config_secret_keys
from ..store import Commenter

SESSION_SALT = "social-auth.session"
CSRF_SALT = "social-auth.csrf"


def secret_keys(app: Flask) -> list[bytes]:
    """The app's signing keys as ``config.secret_keys`` reads and checks them (read per call,
    so a key rotated in ``app.config`` applies to the next request)."""
    return list(config_secret_keys(app.config))


class CookieSerializer(URLSafeSerializer):
    """``URLSafeSerializer`` for our cookies, through its extension points; what made signing
    one cost ~200 µs is left out, and the format is unchanged (``loads`` reads both):

    - ``dump_payload`` writes compact JSON in base64url without trying zlib first: setting
      zlib up allocates over 256 KiB per call, to save a few bytes on our short payloads;
    - HMAC-SHA1 through ``hashlib.sha1`` (``signer_kwargs``) rather than itsdangerous' lazy
      wrapper of it, which makes ``hmac`` fall back to its pure-Python implementation;
    - one signer, made once (``make_signer``), instead of one per call.
    """

    def __init__(self, keys: list[bytes], *, salt: str) -> None:
        super().__init__(keys, salt=salt, signer_kwargs={"digest_method": hashlib.sha1})
        self._signer = super().make_signer()
        self._remembered: dict[str, str] = {}

    def dump_payload(self, obj: Any) -> bytes:
        # The JSON as ``Serializer`` writes it, then base64 (``URLSafeSerializerMixin`` minus
        # its zlib attempt).
        return base64_encode(Serializer.dump_payload(self, obj))

    def make_signer(self, salt: str | bytes | None = None) -> Signer:
        if salt is None or salt == self.salt:
            return self._signer
        return super().make_signer(salt)

    def dumps_remembered(self, value: str) -> str:
        """``dumps(value)``, remembered: a browser's CSRF token is the same on every page."""
        signed = self._remembered.get(value)
        if signed is None:
            if len(self._remembered) >= 10_000:
                self._remembered.clear()
            signed = self._remembered[value] = self.dumps(value)
        return signed


def serializer(app: Flask, salt: str) -> CookieSerializer:
    """The app's serializer for ``salt`` under its current keys."""
    # Built once per key list and salt: building one costs as much as checking a cookie.
    keys = secret_keys(app)
    cache: dict[tuple[str, tuple[bytes, ...]], CookieSerializer] = app.extensions.setdefault(
        "social_auth.serializers", {}
    )
    found = cache.get((salt, tuple(keys)))
    if found is None:
        if len(cache) > 32:  # keys rotated many times in one process: start afresh
            cache.clear()
        found = cache[(salt, tuple(keys))] = CookieSerializer(keys, salt=salt)
    return found


def timed_serializer(app: Flask, salt: str) -> URLSafeTimedSerializer:
    """itsdangerous' own timed serializer, for the rare cookies that carry their age."""
    return URLSafeTimedSerializer(secret_keys(app), salt=salt)


# -- the session cookie's content ------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SessionData:
    """What the session cookie carries, decoded."""

    commenter_id: int
    version: int
    issued_at: int
    last_seen: int
    provider: str | None


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


def known_session(app: Flask, value: str) -> SessionData | None:
    """What ``value`` holds if this worker signed or verified it before (no check: a hint)."""
    verified: _Verified | None = app.extensions.get(_VERIFIED)
    return verified.values.get(value) if verified is not None else None


def encode_session(
    app: Flask, commenter: Commenter, *, provider: str | None = None, now: int | None = None
) -> str:
    """The signed cookie value for ``commenter``; used by ``sign_in`` and ``testing``."""
    issued = int(time.time()) if now is None else now
    data = SessionData(commenter.id, commenter.session_version, issued, issued, provider)
    return encode_session_data(app, data)


def encode_session_data(app: Flask, data: SessionData) -> str:
    """The signed cookie value carrying ``data``."""
    payload = [data.commenter_id, data.version, data.issued_at, data.last_seen, data.provider]
    value = serializer(app, SESSION_SALT).dumps(payload)
    if type(data.commenter_id) is int and type(data.version) is int:
        # The browser sends it back on its next request: no need to check what we signed.
        _verified(app).values[value] = data
    return value


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
        data: Any = serializer(app, SESSION_SALT).loads(value)
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

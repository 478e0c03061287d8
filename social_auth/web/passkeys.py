"""Passkey routes: options and verification of both ceremonies, renaming and removing.

Every route is a CSRF-checked POST answering JSON. A challenge is kept in a signed cookie of
the browser that asked (``social_auth_passkey``, HttpOnly, ``CHALLENGE_MAX_AGE`` long), is
deleted by the next ceremony step whatever its outcome, and its id is consumed once in the
flow replay guard, shared by every worker: a replayed answer is refused.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, current_app, jsonify, request, url_for
from flask.wrappers import Response
from itsdangerous import BadSignature
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response as BaseResponse

from .. import passkeys as ceremony
from ..errors import (
    PasskeyError,
    PasskeySignCount,
    PasskeyUnavailable,
    PasskeyUnknown,
    RateLimited,
)
from ..passkeys.ceremony import FAILED
from ..profile import normal_text
from ..session import check_csrf, sign_in
from ..site import site_url
from ..state import get_state
from ..store import Commenter, Passkey
from ..store.passkeys import PASSKEY_NAME_MAX
from .cookies import delete_cookie, get_cookie, set_cookie
from .pages import bp, me_payload, private, redirect_to, require_commenter, wants_json
from .signing import timed_serializer

PASSKEY_COOKIE = "social_auth_passkey"
PASSKEY_SALT = "social-auth.passkey-challenge"
#: Passkey answers one client address may have verified per window (each costs a signature
#: check).
VERIFY_LIMIT, VERIFY_WINDOW = 60, 60
STALE = "This passkey request was used already or has expired; try again."


def relying_party() -> ceremony.RelyingParty:
    """This site's relying party; a site on an IP address has none (404)."""
    rp = ceremony.relying_party(site_url())
    if rp is None:
        raise PasskeyUnavailable("Passkeys need the site to have a domain name.")
    return rp


def passkeys_on() -> bool:
    """Whether the comment block offers passkeys (a template global)."""
    return ceremony.relying_party(site_url()) is not None


def passkeys_of(commenter: Commenter) -> list[Passkey]:
    """A commenter's passkeys (a template global: the admin's commenter page)."""
    return get_state().store.passkeys_of(commenter)


def register(app: Flask) -> None:
    """What the app needs beyond the routes: the templates' globals."""
    app.add_template_global(passkeys_on, "social_auth_passkeys_on")
    app.add_template_global(passkeys_of, "social_auth_passkeys_of")


# -- the challenge cookie ----------------------------------------------------------------------


def _keep(response: Response, challenge: ceremony.Challenge) -> BaseResponse:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    value = timed_serializer(app, PASSKEY_SALT).dumps(challenge.dump())
    set_cookie(response, PASSKEY_COOKIE, value, ceremony.CHALLENGE_MAX_AGE)
    return private(response)


def _take(purpose: ceremony.Purpose) -> ceremony.Challenge:
    """This browser's challenge for ``purpose``, used up; ``PasskeyError`` when it has none,
    it expired, or it was used already (at any worker)."""
    raw = get_cookie(PASSKEY_COOKIE)
    delete_cookie(None, PASSKEY_COOKIE)
    if not raw:
        raise PasskeyError(STALE)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        data: Any = timed_serializer(app, PASSKEY_SALT).loads(
            raw, max_age=ceremony.CHALLENGE_MAX_AGE
        )
    except BadSignature:
        raise PasskeyError(STALE) from None
    challenge = ceremony.Challenge.load(data)
    if challenge is None or challenge.purpose != purpose:
        raise PasskeyError(STALE)
    guard = get_state().flow_settings.used_states
    if not guard.consume("passkey:" + challenge.jti, time.time() + ceremony.CHALLENGE_MAX_AGE):
        raise PasskeyError(STALE)
    return challenge


def _credential() -> Any:
    body = request.get_json(silent=True)
    credential = body.get("credential") if isinstance(body, dict) else None
    if not isinstance(credential, dict):
        raise PasskeyError("The browser sent no passkey.")
    return credential


def _limit() -> None:
    key = f"passkey:{request.remote_addr or 'unknown'}"
    if not get_state().rate_limiter.hit(key, VERIFY_LIMIT, VERIFY_WINDOW):
        raise RateLimited("Too many passkey attempts from here; wait a minute.")


def _json(body: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


# -- adding a passkey ------------------------------------------------------------------------


@bp.post("/passkeys/register/options")
def passkey_register_options() -> BaseResponse:
    check_csrf()
    commenter = require_commenter("Sign in or comment first: a passkey is for coming back.")
    store = get_state().store
    options, challenge = ceremony.registration_options(
        relying_party(),
        commenter_id=commenter.id,
        version=commenter.session_version,
        user_handle=store.user_handle_of(commenter),
        user_name=commenter.email or commenter.display_name or commenter.public_id,
        display_name=commenter.display_name or "Commenter",
        existing=[p.credential_id for p in store.passkeys_of(commenter)],
    )
    return _keep(_json({"publicKey": options}), challenge)


@bp.post("/passkeys/register")
def passkey_register() -> BaseResponse:
    check_csrf()
    commenter = require_commenter("Sign in or comment first: a passkey is for coming back.")
    credential = _credential()
    challenge = _take("register")
    if (challenge.commenter_id, challenge.version) != (commenter.id, commenter.session_version):
        raise PasskeyError("This passkey request was started by another sign-in; try again.")
    _limit()
    made = ceremony.verify_registration(relying_party(), credential, challenge)
    body = request.get_json(silent=True) or {}
    passkey = Passkey(
        credential_id=made.credential_id,
        user_handle=challenge.user_handle or "",
        public_key=made.public_key,
        sign_count=made.sign_count,
        name=_name(body.get("name")),
        transports=made.transports,
        aaguid=made.aaguid,
        backed_up=made.backed_up,
    )
    try:
        saved = get_state().store.add_passkey(commenter, passkey, version=challenge.version or 0)
    except IntegrityError:
        raise PasskeyError("That passkey is registered already.") from None
    return _json({**me_payload(), "passkey": saved.public_json()})


def _name(value: Any) -> str:
    name = normal_text(value)[:PASSKEY_NAME_MAX] if isinstance(value, str) else ""
    return name or "Passkey"


# -- signing in with one ---------------------------------------------------------------------


@bp.post("/passkeys/login/options")
def passkey_login_options() -> BaseResponse:
    check_csrf()
    options, challenge = ceremony.authentication_options(relying_party())
    return _keep(_json({"publicKey": options}), challenge)


@bp.post("/passkeys/login")
def passkey_login() -> BaseResponse:
    check_csrf()
    credential = _credential()
    challenge = _take("login")
    _limit()
    rp = relying_party()
    credential_id = ceremony.credential_id_of(credential)
    store = get_state().store
    passkey = store.passkey_by_credential(credential_id)
    if passkey is None:
        return _unknown(credential_id, rp)
    handle = ceremony.user_handle_of(credential)
    if handle is not None and handle != passkey.user_handle:
        raise PasskeyError(FAILED)
    count = ceremony.verify_authentication(rp, credential, challenge, passkey.public_key)
    if not ceremony.check_sign_count(passkey.sign_count, count):
        store.passkey_refused(
            passkey, "passkey_sign_count", stored=passkey.sign_count, reported=count
        )
        raise PasskeySignCount(
            "This passkey reported an older use than the last one, so it may be a copy: it "
            "was refused. Sign in another way."
        )
    commenter = store.passkey_used(passkey, count)
    sign_in(None, commenter)
    return _json(me_payload())


def _unknown(credential_id: str, rp: ceremony.RelyingParty) -> BaseResponse:
    """The browser offered a passkey this site removed (or never had): say which, so the
    page can tell the browser to forget it."""
    error = PasskeyUnknown(
        "This passkey is no longer known here; sign in another way.", credential_id, rp.id
    )
    body = {"error": error.code, "message": error.message, "credential_id": credential_id,
            "rp_id": rp.id}
    return _json(body, error.status)


# -- the owner's list: rename, remove ----------------------------------------------------------


def _answer(commenter: Commenter, **extra: Any) -> BaseResponse:
    if wants_json():
        store = get_state().store
        return _json({"passkeys": [p.public_json() for p in store.passkeys_of(commenter)],
                      **extra})
    return private(redirect_to(url_for("social_auth.connections")))


@bp.post("/passkeys/<int:passkey_id>/rename")
def passkey_rename(passkey_id: int) -> BaseResponse:
    check_csrf()
    commenter = require_commenter()
    body = request.get_json(silent=True) if request.is_json else request.form
    name = _name((body or {}).get("name"))
    get_state().store.rename_passkey(commenter, _key(passkey_id), name)
    return _answer(commenter)


@bp.post("/passkeys/<int:passkey_id>/remove")
def passkey_remove(passkey_id: int) -> BaseResponse:
    check_csrf()
    commenter = require_commenter()
    actor = f"commenter:{commenter.public_id}"
    removed = get_state().store.remove_passkey(commenter, _key(passkey_id), actor=actor)
    rp = ceremony.relying_party(site_url())
    gone = {"credential_id": removed.credential_id, "rp_id": rp.id if rp else None}
    return _answer(commenter, removed=gone)


def _key(passkey_id: int) -> int:
    # Beyond a 64-bit key it names nothing, and the database driver would refuse the number.
    return passkey_id if passkey_id < 2**63 else -1

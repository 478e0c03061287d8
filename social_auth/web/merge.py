"""The self-service merge: an identity the commenter just signed in with belongs to another
commenter, so they proved both; a signed, short-lived proof cookie carries that to the merge
page, where nothing changes until they confirm (the rules are ``accounts``')."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, url_for
from flask.wrappers import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response as BaseResponse

from .. import accounts
from ..errors import AccountConflict, InvalidInput
from ..provider import Profile
from ..session import (
    check_csrf,
    csrf_token,
    delete_cookie,
    get_cookie,
    set_cookie,
    set_notice,
)
from ..state import get_state
from ..store import Commenter
from .pages import bp, no_frames, private, provider_titles, redirect_to, require_commenter

MERGE_COOKIE, MERGE_SALT, MERGE_MAX_AGE = "social_auth_merge", "social-auth.merge-proof", 600
_NO_MERGE = (
    "There is nothing to merge: connect the other account again from your connected "
    "accounts page, and confirm within ten minutes."
)


def conflict_page(current: Commenter, error: AccountConflict, profile: Profile) -> Response:
    """The identity is someone else's. The commenter just signed in with it, so they proved
    both: offer to merge that commenter into this one (nothing changes until they confirm)."""
    owner = get_state().store.get_by_public_id(error.owner_public_id)
    proof = None
    if owner is not None and accounts.mergeable(owner):
        proof = _merge_serializer().dumps(accounts.merge_proof(current, owner, profile))
    response = _merge_page(current, owner, profile.provider, status=409)
    if proof is not None:
        set_cookie(response, MERGE_COOKIE, proof, MERGE_MAX_AGE)
    return response


def _merge_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_state().settings.secret_keys, salt=MERGE_SALT)


def _merge_page(
    current: Commenter, owner: Commenter | None, provider: str, *, status: int
) -> Response:
    state = get_state()
    chosen = state.providers.get(provider)
    title = chosen.display_title if chosen is not None else provider
    preview = None
    if owner is not None and accounts.mergeable(owner):
        preview = state.store.merge_preview(owner, current)
    body = render_template(
        "social_auth/merge.html",
        provider_title=title,
        owner=owner,
        current=current,
        preview=preview,
        blocked=owner is not None and owner.is_blocked,
        titles=provider_titles(),
        csrf=csrf_token(),
        prefix=state.settings.url_prefix.rstrip("/"),
    )
    return no_frames(current_app.response_class(body, status=status, mimetype="text/html"))


def _merge_claim(current: Commenter) -> tuple[Commenter, str] | None:
    """The commenter the pending merge proof names, if it is still valid for ``current``."""
    raw = get_cookie(MERGE_COOKIE)
    if not raw:
        return None
    try:
        proof: Any = _merge_serializer().loads(raw, max_age=MERGE_MAX_AGE)
    except BadSignature:
        return None
    return accounts.merge_claim(get_state().store, current, proof)


@bp.get("/merge")
def merge_confirm() -> BaseResponse:
    current = require_commenter()
    claim = _merge_claim(current)
    if claim is None:
        raise InvalidInput("merge", _NO_MERGE)
    source, provider = claim
    return private(_merge_page(current, source, provider, status=200))


@bp.post("/merge")
def merge() -> BaseResponse:
    check_csrf()
    current = require_commenter()
    claim = _merge_claim(current)
    if claim is None or not accounts.mergeable(claim[0]):
        raise InvalidInput("merge", _NO_MERGE)
    get_state().store.merge(claim[0], current, actor=f"commenter:{current.public_id}")
    response = redirect_to(url_for("social_auth.connections"))
    delete_cookie(response, MERGE_COOKIE)
    set_notice(response, "merged")
    return private(response)

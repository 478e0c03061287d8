"""A commenter's own account: connected accounts (disconnect, claim a guest record), and
privacy (what is kept, export, erase)."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, jsonify, render_template, request, url_for
from flask.wrappers import Response
from werkzeug.wrappers import Response as BaseResponse

from .. import accounts, linking
from ..errors import NotFound
from ..flow import safe_next
from ..session import check_csrf, csrf_token, current_commenter, set_notice, sign_out, take_notice
from ..state import get_state
from ..store import Commenter
from .pages import (
    bp,
    done,
    message_page,
    no_frames,
    private,
    provider_titles,
    redirect_to,
    require_commenter,
    wants_json,
)

_NOT_SIGNED_IN = "You are not signed in: sign in (or comment as a guest) in this browser first."


def connections_payload(commenter: Commenter) -> dict[str, Any]:
    """The body of ``GET /auth/connections`` as JSON."""
    state = get_state()
    titles = provider_titles()
    # The last way to sign in cannot be disconnected (a verified email counts: magic links).
    can_disconnect = commenter.ways_to_sign_in > 1
    guests = linking.claimable_guests(commenter, state.store, state.linking_policy)
    return {
        "identities": [
            {
                "id": i.id,
                "provider": i.provider,
                "title": titles.get(i.provider, i.provider),
                "subject": i.subject,
                "display_name": i.display_name,
                "username": i.username,
                "email": i.email,
                "email_verified": i.email_verified,
                "created_at": i.created_at.isoformat() if i.created_at else None,
                "last_sign_in_at": i.last_sign_in_at.isoformat() if i.last_sign_in_at else None,
                "can_disconnect": can_disconnect,
            }
            for i in commenter.identities
        ],
        "providers": [{"provider": name, "title": title} for name, title in titles.items()],
        "claimable_guests": [
            {"id": g.public_id, "display_name": g.display_name, "email": g.email}
            for g in guests
        ],
        "passkeys": [p.public_json() for p in state.store.passkeys_of(commenter)],
        "can_remove_passkey": can_disconnect,
        "csrf_token": csrf_token(),
    }


@bp.get("/connections")
def connections() -> BaseResponse:
    commenter = require_commenter()
    payload = connections_payload(commenter)
    if wants_json():
        response = jsonify(payload)
    else:
        body = render_template(
            "social_auth/connections.html",
            commenter=commenter,
            notice=take_notice(),
            prefix=get_state().settings.url_prefix.rstrip("/"),
            **payload,
        )
        response = no_frames(current_app.response_class(body, mimetype="text/html"))
    return private(response)


@bp.post("/connections/<int:identity_id>/disconnect")
def disconnect(identity_id: int) -> BaseResponse:
    check_csrf()
    commenter = require_commenter()
    store = get_state().store
    # Beyond a 64-bit key it names nothing, and the database driver would refuse the number.
    identity = store.get_identity(identity_id) if identity_id < 2**63 else None
    if identity is None or identity.commenter_id != commenter.id:
        raise NotFound("You have no connected account with that id.")  # nor does it say whose
    store.unlink(identity, actor=f"commenter:{commenter.public_id}")
    response = done(url_for("social_auth.connections"))
    set_notice(None, "disconnected")
    return private(response)


@bp.post("/claim/<public_id>")
def claim(public_id: str) -> BaseResponse:
    """Merge an unverified guest record with an email the commenter proved, when they ask."""
    check_csrf()
    commenter = require_commenter()
    state = get_state()
    guest_record = state.store.get_by_public_id(public_id)
    if guest_record is None:
        raise NotFound("There is no such guest record.")
    linking.claim_guest(
        commenter,
        guest_record,
        state.store,
        state.linking_policy,
        actor=f"commenter:{commenter.public_id}",
    )
    response = redirect_to(url_for("social_auth.connections"))
    set_notice(response, "claimed")
    return private(response)


# -- privacy: what is kept, self-service export and erasure --------------------------------


def export_data(commenter: Commenter) -> dict[str, Any]:
    """Everything held about ``commenter``: the store's record plus, under ``"host"``, what
    ``SOCIAL_AUTH_EXPORT_HOOK`` returns (the host's comments, for example)."""
    state = get_state()
    return accounts.export_data(state.store, state.settings, commenter)


@bp.get("/privacy")
def privacy() -> str:
    state = get_state()
    return render_template(
        "social_auth/privacy.html",
        providers=list(state.providers.values()),
        guest_enabled=state.settings.guest,
        gravatar=state.avatars is not None and state.avatars.settings.gravatar,
        commenter=current_commenter,
        csrf=csrf_token(),
    )


@bp.post("/me/export")
def export_me() -> Response:
    check_csrf()
    commenter = require_commenter(_NOT_SIGNED_IN)
    body = json.dumps(export_data(commenter), indent=2, sort_keys=True, default=str)
    response = current_app.response_class(body, mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="comment-data-{commenter.public_id}.json"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/me/erase")
def erase_me_confirm() -> str:
    return render_template(
        "social_auth/erase_confirm.html",
        commenter=require_commenter(_NOT_SIGNED_IN),
        csrf=csrf_token(),
        next=safe_next(request.args.get("next")),
    )


@bp.post("/me/erase")
def erase_me() -> BaseResponse:
    check_csrf()
    commenter = require_commenter(_NOT_SIGNED_IN)
    get_state().store.erase(commenter, actor="commenter")
    # The erase bumped the session version, so every copy of the cookie is anonymous already;
    # signing out clears this browser's copy and rotates its CSRF secret as well.
    sign_out(None)
    message = "Your personal data was erased and you were signed out everywhere."
    if wants_json():
        return jsonify({"erased": True, "message": message})
    # The confirmation form posts to ``?next=…``, which the page links back to.
    return message_page("Your data was erased", message, 200)

"""The ``social_auth`` blueprint: thin handlers over guest, session and the store.

Public helpers for other views: ``popup_result(status, message, next_url)`` ends a sign-in,
``guest_sign_in(form)`` signs a guest in from a comment form, ``safe_next(value)`` keeps
redirects on this site, ``wants_json()`` picks the error format, ``me_payload()`` is
``/auth/me``'s body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.wrappers import Response
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from .emails import email_key
from .errors import InvalidInput, SocialAuthError
from .extension import get_state
from .guest import (
    LinkInvalid,
    MagicLinks,
    Mailer,
    clean_email,
    validate_guest,
    verification_email,
)
from .ratelimit import RateLimiter
from .session import (
    check_csrf,
    csrf_token,
    current_commenter,
    set_draft,
    sign_in,
    sign_out,
    signed_in_provider,
)
from .store import Commenter

bp = Blueprint("social_auth", __name__, template_folder="templates", static_folder="static")

PopupStatus = Literal["signed-in", "cancelled", "error"]
#: Magic-link requests allowed per email address and per client address, per window.
EMAIL_LIMIT, CLIENT_LIMIT, LIMIT_WINDOW = 3, 10, 15 * 60


class GuestDisabled(SocialAuthError):
    """Guest commenting is switched off on this site."""

    status = 403
    code = "guest_disabled"


class RateLimited(SocialAuthError):
    """Too many requests from one address or for one email."""

    status = 429
    code = "rate_limited"


# -- helpers other modules call --------------------------------------------------------------


def safe_next(value: str | None, default: str = "/") -> str:
    """``value`` when it is a path on this site, else ``default``: never an open redirect."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(ord(ch) < 32 or ch == "\\" for ch in value):
        return default
    return value


def wants_json() -> bool:
    """Whether the client asked for JSON (fetch/XHR) rather than a page."""
    if request.is_json or request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return True
    accept = request.accept_mimetypes
    return accept["application/json"] > accept["text/html"]


def me_payload() -> dict[str, Any]:
    """The body of ``GET /auth/me`` for the current request."""
    commenter = current_commenter
    body: dict[str, Any] = {
        "authenticated": False,
        "commenter": None,
        "identities": [],
        "signed_in_with": None,
        "csrf_token": csrf_token(),
    }
    if isinstance(commenter, Commenter):
        body["authenticated"] = True
        body["signed_in_with"] = signed_in_provider()
        body["commenter"] = {
            "id": commenter.public_id,
            "display_name": commenter.display_name,
            "email": commenter.email,
            "email_verified": commenter.email_verified,
            "website": commenter.website,
            "avatar_url": commenter.avatar_url,
            "guest": commenter.is_guest,
            "blocked": commenter.is_blocked,
        }
        body["identities"] = [
            {
                "provider": i.provider,
                "subject": i.subject,
                "display_name": i.display_name,
                "username": i.username,
                "email": i.email,
                "email_verified": i.email_verified,
            }
            for i in commenter.identities
        ]
    return body


def guest_sign_in(form: Mapping[str, str]) -> Commenter:
    """Validate ``name``, ``email``, ``website`` and make the browser that guest.

    A returning guest (same browser) is updated; anyone else gets a new unverified commenter,
    never an existing one with that email: typing an address proves nothing.
    """
    state = get_state()
    if not state.settings.guest:
        raise GuestDisabled("Guest commenting is switched off; sign in with an account.")
    details = validate_guest(form.get("name"), form.get("email"), form.get("website"))
    current = current_commenter
    if isinstance(current, Commenter) and current.is_guest:
        if (current.display_name, current.email, current.website) == (
            details.display_name,
            details.email,
            details.website,
        ):
            return current
        updated = state.store.update_guest(
            current, details.display_name, details.email, details.website, details.avatar_url
        )
        g._social_auth_commenter = updated
        return updated
    commenter = state.store.create_guest(
        details.display_name, details.email, details.website, details.avatar_url
    )
    sign_in(None, commenter)
    return commenter


def needs_email_verification(commenter: Commenter) -> bool:
    """True when the site requires guests to confirm their email and this one has not."""
    return (
        get_state().settings.guest_verify_email
        and commenter.is_guest
        and not commenter.email_verified
    )


def popup_result(
    status: PopupStatus, message: str | None = None, next_url: str | None = None
) -> Response:
    """The page that ends a sign-in in the popup: it tells the opener and closes.

    The message goes only to this site's own origin (or ``SOCIAL_AUTH_TRUSTED_ORIGINS``) and
    carries nothing but the outcome. Without an opener (redirect mode) it goes to ``next``.
    """
    if status not in ("signed-in", "cancelled", "error"):
        raise ValueError(f"unknown popup status {status!r}")
    origins = list(get_state().settings.trusted_origins) or [request.host_url.rstrip("/")]
    payload: dict[str, str] = {"type": "social-auth", "status": status}
    if message:
        payload["message"] = message
    data = {"payload": payload, "origins": origins, "next": safe_next(next_url)}
    body = render_template(
        "social_auth/popup_result.html",
        status=status,
        message=message,
        next_url=data["next"],
        # Escaped for a <script type="application/json"> block: no "</" can close it.
        data=Markup(  # noqa: S704 - JSON with < and > escaped, safe inside <script>
            json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e")
        ),
    )
    response = current_app.response_class(body, mimetype="text/html")
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


# -- routes ----------------------------------------------------------------------------------


def _done(default_next: str = "/") -> BaseResponse:
    if wants_json():
        response = jsonify(me_payload())
        response.headers["Cache-Control"] = "no-store"
        return response
    return redirect(safe_next(request.form.get("next") or request.args.get("next"), default_next))


@bp.get("/me")
def me() -> Response:
    response = jsonify(me_payload())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/guest")
def guest() -> BaseResponse:
    check_csrf()
    guest_sign_in(request.form)
    return _done()


@bp.post("/logout")
def logout() -> BaseResponse:
    check_csrf()
    # Without JavaScript the Log Out button submits the whole comment form: keep the draft.
    field = request.form.get("social_auth_draft_field", "")
    if field and field != "csrf_token":
        set_draft(None, request.form.get(field, ""))
    sign_out(None)
    return _done()


@bp.post("/email/start")
def email_start() -> BaseResponse:
    check_csrf()
    state = get_state()
    commenter = current_commenter
    address = (request.form.get("email") or "").strip()
    if not address and isinstance(commenter, Commenter):
        address = commenter.email or ""
    address = clean_email(address)
    _check_rate(address)
    target: Commenter | None
    if isinstance(commenter, Commenter):
        target = commenter
        if email_key(commenter.email) != email_key(address) and commenter.is_guest:
            target = state.store.update_guest(
                commenter, commenter.display_name, address, commenter.website,
                commenter.avatar_url,
            )
    else:
        # Anonymous: a sign-in link, sent only to an address someone already proved. The
        # answer is the same either way, so it reveals nothing about who is known.
        target = state.store.find_verified_by_email(address)
    if target is not None:
        send_verification_link(target, address, request.form.get("next"))
    message = "If that address can receive mail, a confirmation link is on its way to it."
    if wants_json():
        return jsonify({"sent": True, "message": message})
    return _message_page("Check your email", message, 200)


def _check_rate(address: str) -> None:
    limiter: RateLimiter = get_state().extras["rate_limiter"]
    client = request.remote_addr or "unknown"
    if not (
        limiter.hit(f"email:{email_key(address)}", EMAIL_LIMIT, LIMIT_WINDOW)
        and limiter.hit(f"client:{client}", CLIENT_LIMIT, LIMIT_WINDOW)
    ):
        raise RateLimited("Too many confirmation emails were asked for; try again later.")


def request_verification(commenter: Commenter, next_url: str | None = None) -> None:
    """Rate-limited: mail ``commenter`` a magic link confirming their current email; after
    confirming, the browser goes to ``next_url`` (a path on this site)."""
    if not commenter.email:
        raise InvalidInput("email", "Add an email address first.")
    _check_rate(commenter.email)
    send_verification_link(commenter, commenter.email, next_url)


def send_verification_link(
    commenter: Commenter, address: str, next_url: str | None = None
) -> None:
    """Mail ``address`` a magic link for ``commenter`` (no rate limit: callers apply it)."""
    state = get_state()
    token = _links().make(commenter.id, address, commenter.session_version)
    query = {"next": safe_next(next_url)} if next_url else {}
    link = url_for("social_auth.verify_email", token=token, _external=True, **query)
    subject, body = verification_email(link, request.host)
    mailer: Mailer = state.extras["mailer"]
    mailer.send(address, subject, body)


def _links() -> MagicLinks:
    app = current_app
    return MagicLinks([*(app.config.get("SECRET_KEY_FALLBACKS") or []), app.config["SECRET_KEY"]])


@bp.get("/email/verify/<token>")
def verify_email(token: str) -> Response | str:
    # Only shows a button: mail scanners that follow links must not use them up.
    claim = _links().read(token)
    return render_template(
        "social_auth/verify_email.html", token=token, email=claim.email, csrf=csrf_token()
    )


@bp.post("/email/verify/<token>")
def verify_email_confirm(token: str) -> BaseResponse:
    check_csrf()
    claim = _links().read(token)
    store = get_state().store
    commenter = store.get(claim.commenter_id)
    if (
        commenter is None
        or commenter.session_version != claim.session_version
        or commenter.erased_at is not None
        or commenter.merged_into_id is not None
        or email_key(commenter.email) != email_key(claim.email)
    ):
        raise LinkInvalid("This link was used already or is out of date; ask for a new one.")
    existing = store.find_verified_by_email(claim.email)
    # Bumping the version uses the link up and signs out every other browser of this record
    # (whoever typed the address in cannot ride on the owner's confirmation).
    store.bump_session_version(commenter)
    if existing is not None and existing.id != commenter.id:
        target = existing  # the address's owner already has a verified commenter: that one
    else:
        target = store.mark_email_verified(commenter, claim.email)
    sign_in(None, target)
    return _done()


# -- privacy: what is kept, self-service export and erasure --------------------------------


class NotSignedIn(SocialAuthError):
    """A page about the commenter's own data was asked for without a session."""

    status = 401
    code = "not_signed_in"


def export_data(commenter: Commenter) -> dict[str, Any]:
    """Everything held about ``commenter``: the store's record plus, under ``"host"``, what
    ``SOCIAL_AUTH_EXPORT_HOOK`` returns (the host's comments, for example)."""
    state = get_state()
    data = state.store.export(commenter)
    hook = state.settings.export_hook
    if hook is not None:
        data["host"] = hook(commenter)
    return data


def _own_commenter() -> Commenter:
    commenter = current_commenter
    if not isinstance(commenter, Commenter):
        raise NotSignedIn(
            "You are not signed in: sign in (or comment as a guest) in this browser first."
        )
    return commenter


@bp.get("/privacy")
def privacy() -> str:
    state = get_state()
    return render_template(
        "social_auth/privacy.html",
        providers=list(state.providers.values()),
        guest_enabled=state.settings.guest,
        commenter=current_commenter,
        csrf=csrf_token(),
    )


@bp.post("/me/export")
def export_me() -> Response:
    check_csrf()
    commenter = _own_commenter()
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
        commenter=_own_commenter(),
        csrf=csrf_token(),
        next=safe_next(request.args.get("next")),
    )


@bp.post("/me/erase")
def erase_me() -> BaseResponse:
    check_csrf()
    commenter = _own_commenter()
    get_state().store.erase(commenter, actor="commenter")
    # The erase bumped the session version, so every copy of the cookie is anonymous already;
    # signing out clears this browser's copy and rotates its CSRF secret as well.
    sign_out(None)
    message = "Your personal data was erased and you were signed out everywhere."
    if wants_json():
        return jsonify({"erased": True, "message": message})
    # The confirmation form posts to ``?next=…``, which the page links back to.
    return _message_page("Your data was erased", message, 200)


# -- errors ----------------------------------------------------------------------------------


def _message_page(title: str, message: str, status: int) -> Response:
    body = render_template(
        "social_auth/message.html",
        title=title,
        message=message,
        back_url=safe_next(request.args.get("next"), "/"),
    )
    return current_app.response_class(body, status=status, mimetype="text/html")


def handle_error(error: SocialAuthError) -> Response:
    """Every ``SocialAuthError`` becomes a 4xx page or JSON body, never a 500."""
    status = error.status if 400 <= error.status < 600 else 400
    if wants_json():
        body: dict[str, Any] = {"error": error.code, "message": error.message}
        field = getattr(error, "field", None)
        if field:
            body["field"] = field
        response = jsonify(body)
        response.status_code = status
        return response
    title = "Something went wrong" if status >= 500 else "Sorry"
    return _message_page(title, error.message, status)


def _http_error(error: HTTPException) -> Response | HTTPException:
    # Registered on the app (routing errors such as 405 never reach a blueprint's handlers),
    # but it answers only for our own URLs; the host's errors stay the host's.
    prefix = get_state().settings.url_prefix.rstrip("/") + "/"
    if not request.path.startswith(prefix):
        return error
    status = error.code or 400
    message = error.description or error.name
    if wants_json():
        response = jsonify({"error": error.name.lower().replace(" ", "_"), "message": message})
        response.status_code = status
        return response
    return _message_page(error.name, message, status)


def register(app: Flask) -> None:
    """Mount the blueprint at ``SOCIAL_AUTH_URL_PREFIX`` and route our errors."""
    prefix = get_state(app).settings.url_prefix
    app.register_blueprint(bp, url_prefix=prefix)
    app.register_error_handler(SocialAuthError, handle_error)
    app.register_error_handler(HTTPException, _http_error)

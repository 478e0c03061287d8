"""The ``social_auth`` blueprint: thin handlers over guest, session and the store.

Public helpers for other views: ``popup_result(status, message, next_url)`` ends a sign-in,
``guest_sign_in(form)`` signs a guest in from a comment form, ``safe_next(value)`` keeps
redirects on this site, ``wants_json()`` picks the error format, ``me_payload()`` is
``/auth/me``'s body.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol, cast, runtime_checkable
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    after_this_request,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.wrappers import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from . import accounts, flow, linking
from .emails import email_key
from .errors import (
    AccountConflict,
    CommenterBlocked,
    GrantRefused,
    InvalidInput,
    NotFound,
    NotSignedIn,
    SignInCancelled,
    SignInError,
    SocialAuthError,
    StateMismatch,
    StoreUnavailable,
)

# ``safe_next(value, default)``: one implementation of "a path on this site" for the package.
from .flow import FlowSettings, SignInResult, safe_next
from .guest import clean_email, validate_guest
from .linking import LinkingPolicy
from .mail import (
    TOKEN_PARAM,
    Mailer,
    confirmation_email,
    redact_tokens_in_server_logs,
    sign_in_email,
)
from .provider import Profile, Provider
from .ratelimit import RateLimiter
from .session import (
    check_csrf,
    csrf_token,
    current_commenter,
    delete_cookie,
    get_cookie,
    set_cookie,
    set_draft,
    set_notice,
    sign_in,
    sign_out,
    signed_in_provider,
    take_notice,
)
from .site import absolute_url, site_origin, site_url
from .state import get_state
from .store import Commenter
from .store.email_links import LINK_MAX_AGE, TOKEN_MAX_LENGTH, EmailLinks
from .store.store import BLOCKED_MESSAGE

bp = Blueprint("social_auth", __name__, template_folder="templates", static_folder="static")

PopupStatus = Literal["signed-in", "cancelled", "error"]
#: Magic-link requests allowed per email address and per client address, per window.
EMAIL_LIMIT, CLIENT_LIMIT, LIMIT_WINDOW = 3, 10, 15 * 60
#: Sign-ins a client address may start per window: each may cost a call to the provider
#: (an OAuth 1.0a request token, discovery), so a script must not be able to loop on it.
START_LIMIT, START_WINDOW = 100, 60


class GuestDisabled(SocialAuthError):
    """Guest commenting is switched off on this site."""

    status = 403
    code = "guest_disabled"


class RateLimited(SocialAuthError):
    """Too many requests from one address or for one email."""

    status = 429
    code = "rate_limited"


# -- helpers other modules call --------------------------------------------------------------


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
        body["commenter"] = commenter.public_json()
        body["identities"] = [i.public_json() for i in commenter.identities]
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
        return _update_guest(
            current, details.display_name, details.email, details.website, details.avatar_url
        )
    commenter = state.store.create_guest(
        details.display_name, details.email, details.website, details.avatar_url
    )
    sign_in(None, commenter)
    return commenter


def _update_guest(
    current: Commenter, name: str, email: str | None, website: str | None, avatar: str | None
) -> Commenter:
    # New details start a new session: a copy of this browser's cookie planted or taken
    # earlier (session fixation) must not follow the guest into details it never saw.
    store = get_state().store
    store.update_guest(current, name, email, website, avatar)
    store.bump_session_version(current)
    updated = store.get(current.id)
    assert updated is not None
    sign_in(None, updated)
    return updated


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
    origins = list(get_state().settings.trusted_origins) or [site_origin()]
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


# -- sign-in: start, callback, connected accounts, self-service merge ------------------------
# Everything a provider's answer touches says ``Referrer-Policy: no-referrer`` and loads nothing
# from elsewhere: a code or state in the URL must never travel on in a Referer header.

MERGE_COOKIE, MERGE_SALT, MERGE_MAX_AGE = "social_auth_merge", "social-auth.merge-proof", 600


def _redirect(location: str) -> Response:
    # Flask builds it with ``app.response_class``: a Flask response, whatever the stub says.
    return cast(Response, redirect(location))


def _provider(name: str) -> Provider:
    provider = get_state().providers.get(name)
    if provider is None:
        abort(404, description="There is no sign-in with that name on this site.")
    return provider


def _flow_settings() -> FlowSettings:
    return get_state().flow_settings


def _policy() -> LinkingPolicy:
    return get_state().linking_policy


def _prefix_path() -> str:
    return get_state().settings.url_prefix


def _callback_url(provider: Provider) -> str:
    return absolute_url("social_auth.callback", provider=provider.instance_name)


def _private(response: BaseResponse) -> BaseResponse:
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _posted_draft() -> str | None:
    """The comment a JS-off form carried: ``draft``, or the field the block names."""
    text = request.form.get("draft")
    field = request.form.get("social_auth_draft_field", "")
    if text is None and field and field not in ("csrf_token", "draft"):
        text = request.form.get(field)
    return text or None


@bp.route("/login/<provider>", methods=["GET", "POST"])
def login(provider: str) -> BaseResponse:
    """Start a sign-in: GET from a popup or link, POST from a JS-off comment form (with its
    draft, which comes back in the textarea afterwards)."""
    chosen = _provider(provider)
    next_path = safe_next(request.values.get("next"))
    popup = request.args.get("popup") == "1"
    draft = None
    if request.method == "POST":
        draft, popup = _posted_draft(), False
        try:
            # The draft lands in the commenter's textarea: only their own form may set it.
            check_csrf()
        except SocialAuthError as exc:
            return _start_failed(exc, next_path, popup, draft)
    return _start(chosen, next_path=next_path, popup=popup, draft=draft)


def _start(
    provider: Provider,
    *,
    next_path: str,
    popup: bool,
    draft: str | None,
    connect_to: str | None = None,
) -> BaseResponse:
    limiter: RateLimiter = get_state().rate_limiter
    if not limiter.hit(f"start:{request.remote_addr or 'unknown'}", START_LIMIT, START_WINDOW):
        limited = RateLimited("Too many sign-ins were started from here; wait a minute.")
        return _start_failed(limited, next_path, popup, draft)
    try:
        started = flow.start(
            provider,
            _callback_url(provider),
            settings=_flow_settings(),
            next_path=next_path,
            popup=popup,
            draft=draft,
            connect_to=connect_to,
        )
    except SocialAuthError as exc:  # the provider is down, or the draft too long to carry
        return _start_failed(exc, next_path, popup, draft)
    response = _redirect(started.url)
    # ``__Host-`` on https (path ``/``): a sibling subdomain cannot plant a flow of its own.
    set_cookie(response, flow.COOKIE_NAME, started.cookie_value, flow.MAX_AGE)
    return _private(response)


def _start_failed(
    error: SocialAuthError, next_path: str, popup: bool, draft: str | None
) -> BaseResponse:
    return _private(_failure(error, next_path, popup, draft))


def _failure(
    error: SocialAuthError, next_path: str, popup: bool, draft: str | None
) -> Response:
    """A failed sign-in: the popup tells the page, or a page explains and keeps the draft."""
    status = error.status if 400 <= error.status < 600 else 400
    if popup:
        response = popup_result("error", error.message, next_path)
    else:
        title = "Sign-in failed" if status >= 500 else "Sign-in not possible"
        response = _message_page(title, error.message, status, back_url=next_path, draft=draft)
        if draft:
            set_draft(response, draft)  # back in the textarea via "Back to where you were"
    response.status_code = status
    return response


@bp.route("/callback/<provider>", methods=["GET", "POST"])
def callback(provider: str) -> BaseResponse:
    """Finish a sign-in (or a connection) started by ``login`` or ``connect``."""
    after_this_request(_forget_flow)
    chosen = _provider(provider)
    settings = _flow_settings()
    # Read once: ``finish_read`` checks it, and a cancel still needs to know what it was for.
    cookie = flow.read_cookie(
        get_cookie(flow.COOKIE_NAME), settings=settings
    )
    params = {**request.args.to_dict(), **request.form.to_dict()}
    try:
        result = flow.finish_read(chosen, cookie, params, _callback_url(chosen), settings=settings)
    except SignInCancelled as exc:
        connecting = cookie.state is not None and cookie.state.intent == "connect"
        return _private(_cancelled(exc, connecting))
    except SignInError as exc:
        return _private(_failure(exc, exc.next_path, exc.popup, exc.draft))
    try:
        if result.intent == "connect":
            return _private(_finish_connect(result))
        return _private(_finish_sign_in(result))
    except SQLAlchemyError:
        # The database went away mid-callback: each store call rolled back its transaction,
        # and this answer carries no session cookie, only the draft.
        logging.getLogger("social_auth").exception("The identity store failed in a callback")
        unavailable = StoreUnavailable(flow.STORE_DOWN)
        return _private(_failure(unavailable, result.next_path, result.popup, result.draft))


def _forget_flow(response: Response) -> Response:
    delete_cookie(response, flow.COOKIE_NAME)
    return response


def _cancelled(error: SignInCancelled, connecting: bool) -> Response:
    if error.popup:
        return popup_result("cancelled", next_url=error.next_path)
    response = _redirect(error.next_path)
    if error.draft:
        set_draft(response, error.draft)
    set_notice(response, "connect_cancelled" if connecting else "cancelled")
    return response


def _blocked() -> CommenterBlocked:
    return CommenterBlocked(BLOCKED_MESSAGE)


def _finish_sign_in(result: SignInResult) -> Response:
    store = get_state().store
    try:
        # Refuses a blocked commenter (``CommenterBlocked``) without linking or writing.
        resolution = linking.resolve(result.profile, None, store, _policy())
    except SocialAuthError as exc:
        return _failure(exc, result.next_path, result.popup, result.draft)
    if resolution.commenter.is_blocked:  # a second guard; the store already refused it
        return _failure(_blocked(), result.next_path, result.popup, result.draft)
    if result.popup:
        response = popup_result("signed-in", next_url=result.next_path)
    else:
        response = _redirect(result.next_path)
        if result.draft:
            set_draft(response, result.draft)
    sign_in(response, resolution.commenter, resolution.identity)
    return response


def _finish_connect(result: SignInResult) -> Response:
    current = current_commenter
    if not isinstance(current, Commenter) or current.public_id != result.commenter:
        # Signed out, or someone else, since the connection started: link nothing.
        mismatch = StateMismatch(
            "This connection was started by another session; nothing was connected."
        )
        return _failure(mismatch, result.next_path, False, None)
    store = get_state().store
    try:
        resolution = linking.resolve(result.profile, current, store, _policy())
    except AccountConflict as exc:
        return _conflict(current, exc, result.profile)
    except SocialAuthError as exc:
        return _failure(exc, result.next_path, False, None)
    response = _redirect(result.next_path)
    if resolution.outcome == "connected":
        set_notice(response, "connected")
    else:  # linking.resolve treats an unverified guest's connection as a plain sign-in
        sign_in(response, resolution.commenter, resolution.identity)
    return response


def _conflict(current: Commenter, error: AccountConflict, profile: Profile) -> Response:
    """The identity is someone else's. The commenter just signed in with it, so they proved
    both: offer to merge that commenter into this one (nothing changes until they confirm)."""
    owner = get_state().store.get_by_public_id(error.owner_public_id)
    proof = None
    if owner is not None and _mergeable(owner):
        data = [current.id, current.session_version, owner.id, profile.provider, profile.subject]
        proof = _merge_serializer().dumps(data)
    response = _merge_page(current, owner, profile.provider, status=409)
    if proof is not None:
        set_cookie(response, MERGE_COOKIE, proof, MERGE_MAX_AGE)
    return response


def _mergeable(owner: Commenter) -> bool:
    # A blocked commenter merged into another would escape its block.
    return owner.merged_into_id is None and not owner.is_erased and not owner.is_blocked


def _merge_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_state().settings.secret_keys, salt=MERGE_SALT)


def _merge_page(
    current: Commenter, owner: Commenter | None, provider: str, *, status: int
) -> Response:
    state = get_state()
    chosen = state.providers.get(provider)
    title = chosen.display_title if chosen is not None else provider
    preview = None
    if owner is not None and _mergeable(owner):
        preview = state.store.merge_preview(owner, current)
    body = render_template(
        "social_auth/merge.html",
        provider_title=title,
        owner=owner,
        current=current,
        preview=preview,
        blocked=owner is not None and owner.is_blocked,
        titles=_titles(),
        csrf=csrf_token(),
        prefix=_prefix_path().rstrip("/"),
    )
    response = current_app.response_class(body, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response


def _merge_claim(current: Commenter) -> tuple[Commenter, str] | None:
    """The commenter the pending merge proof names, if it is still valid for ``current``."""
    raw = get_cookie(MERGE_COOKIE)
    if not raw:
        return None
    try:
        data: Any = _merge_serializer().loads(raw, max_age=MERGE_MAX_AGE)
        target_id, version, source_id, provider, subject = data
    except (BadSignature, ValueError, TypeError):
        return None
    if (target_id, version) != (current.id, current.session_version):
        return None  # another session's proof, or one from before a sign-out
    store = get_state().store
    identity = store.find_identity(str(provider), str(subject))
    source = store.get(int(source_id))
    if identity is None or source is None or identity.commenter_id != source.id:
        return None  # the identity moved meanwhile: the proof is about someone else now
    return source, str(provider)


@bp.get("/merge")
def merge_confirm() -> BaseResponse:
    current = _require_commenter()
    claim = _merge_claim(current)
    if claim is None:
        raise InvalidInput("merge", _NO_MERGE)
    source, provider = claim
    return _private(_merge_page(current, source, provider, status=200))


_NO_MERGE = (
    "There is nothing to merge: connect the other account again from your connected "
    "accounts page, and confirm within ten minutes."
)


@bp.post("/merge")
def merge() -> BaseResponse:
    check_csrf()
    current = _require_commenter()
    claim = _merge_claim(current)
    if claim is None or not _mergeable(claim[0]):
        raise InvalidInput("merge", _NO_MERGE)
    get_state().store.merge(claim[0], current, actor=f"commenter:{current.public_id}")
    response = _redirect(url_for("social_auth.connections"))
    delete_cookie(response, MERGE_COOKIE)
    set_notice(response, "merged")
    return _private(response)


def _require_commenter() -> Commenter:
    commenter = current_commenter
    if not isinstance(commenter, Commenter):
        raise NotSignedIn("Sign in first: this page is about your own accounts.")
    return commenter


def _titles() -> dict[str, str]:
    return {name: p.display_title for name, p in get_state().providers.items()}


def connections_payload(commenter: Commenter) -> dict[str, Any]:
    """The body of ``GET /auth/connections`` as JSON."""
    state = get_state()
    titles = _titles()
    # The last way to sign in cannot be disconnected (a verified email counts: magic links).
    methods = len(commenter.identities) + (1 if commenter.email_verified else 0)
    guests = linking.claimable_guests(commenter, state.store, _policy())
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
                "can_disconnect": methods > 1,
            }
            for i in commenter.identities
        ],
        "providers": [{"provider": name, "title": title} for name, title in titles.items()],
        "claimable_guests": [
            {"id": g.public_id, "display_name": g.display_name, "email": g.email}
            for g in guests
        ],
        "csrf_token": csrf_token(),
    }


@bp.get("/connections")
def connections() -> BaseResponse:
    commenter = _require_commenter()
    payload = connections_payload(commenter)
    if wants_json():
        response = jsonify(payload)
    else:
        body = render_template(
            "social_auth/connections.html",
            commenter=commenter,
            notice=take_notice(),
            prefix=_prefix_path().rstrip("/"),
            **payload,
        )
        response = current_app.response_class(body, mimetype="text/html")
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return _private(response)


@bp.post("/connections/<provider>")
def connect(provider: str) -> BaseResponse:
    """Start connecting another account to the signed-in commenter (POST with CSRF only: a
    link from another site cannot start one)."""
    check_csrf()
    commenter = _require_commenter()
    chosen = _provider(provider)
    if commenter.is_guest and not commenter.email_verified:
        raise InvalidInput("provider", "Guests sign in with an account from the comment form.")
    here = url_for("social_auth.connections")
    return _start(chosen, next_path=here, popup=False, draft=None, connect_to=commenter.public_id)


@bp.post("/connections/<int:identity_id>/disconnect")
def disconnect(identity_id: int) -> BaseResponse:
    check_csrf()
    commenter = _require_commenter()
    store = get_state().store
    # Beyond a 64-bit key it names nothing, and the database driver would refuse the number.
    identity = store.get_identity(identity_id) if identity_id < 2**63 else None
    if identity is None or identity.commenter_id != commenter.id:
        raise NotFound("You have no connected account with that id.")  # nor does it say whose
    store.unlink(identity, actor=f"commenter:{commenter.public_id}")
    response = _done(url_for("social_auth.connections"))
    set_notice(None, "disconnected")
    return _private(response)


@bp.post("/claim/<public_id>")
def claim(public_id: str) -> BaseResponse:
    """Merge an unverified guest record with an email the commenter proved, when they ask."""
    check_csrf()
    commenter = _require_commenter()
    store = get_state().store
    guest_record = store.get_by_public_id(public_id)
    if guest_record is None:
        raise NotFound("There is no such guest record.")
    linking.claim_guest(
        commenter, guest_record, store, _policy(), actor=f"commenter:{commenter.public_id}"
    )
    response = _redirect(url_for("social_auth.connections"))
    set_notice(response, "claimed")
    return _private(response)


# -- the dev provider's authorization server (only when it is enabled) -----------------------


@runtime_checkable
class LocalAuthorizationServer(Protocol):
    """A provider that is its own authorization server inside the app (``dev``)."""

    def authorize_request(self, params: Mapping[str, str], expected_redirect_uri: str) -> Any: ...
    def approve(self, secret_key: str | bytes, request: Any, **fields: Any) -> str: ...
    def cancel(self, request: Any) -> str: ...
    def redeem(self, secret_key: str | bytes, form: Mapping[str, str]) -> dict[str, Any]: ...
    def userinfo(self, secret_key: str | bytes, authorization: str | None) -> dict[str, Any]: ...


dev_bp = Blueprint("social_auth_dev", __name__, template_folder="templates")


def _dev_servers() -> dict[str, LocalAuthorizationServer]:
    return {
        name: p
        for name, p in get_state().providers.items()
        if isinstance(p, LocalAuthorizationServer)
    }


def _dev_authorize_request() -> tuple[LocalAuthorizationServer, Any]:
    # Its callback must be one of ours exactly: the redirect_uri picks the instance.
    wanted = request.args.get("redirect_uri", "")
    servers = _dev_servers()
    for name, server in servers.items():
        callback = absolute_url("social_auth.callback", provider=name)
        if callback == wanted:
            return server, server.authorize_request(request.args, callback)
    server = next(iter(servers.values()))
    return server, server.authorize_request(request.args, "")  # raises: unknown redirect_uri


@dev_bp.errorhandler(GrantRefused)
def _dev_refused(error: GrantRefused) -> BaseResponse:
    if request.endpoint == "social_auth_dev.authorize_page" or request.endpoint == (
        "social_auth_dev.authorize"
    ):
        return _message_page("Sign-in request refused", f"{error.message} ({error.error}).", 400)
    response = jsonify(error=error.error, error_description=error.message)
    response.status_code = 401 if error.error == "invalid_token" else 400
    return response


def _dev_page(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response


@dev_bp.get("/authorize")
def authorize_page() -> BaseResponse:
    _dev_authorize_request()
    body = render_template("social_auth/dev_authorize.html", csrf=csrf_token())
    return _private(_dev_page(current_app.response_class(body, mimetype="text/html")))


@dev_bp.post("/authorize")
def authorize() -> BaseResponse:
    check_csrf()
    server, req = _dev_authorize_request()
    if request.form.get("action") == "cancel":
        return _private(_redirect(server.cancel(req)))
    url = server.approve(
        current_app.config["SECRET_KEY"],
        req,
        subject=(request.form.get("subject") or "").strip(),
        name=(request.form.get("name") or "").strip(),
        email=(request.form.get("email") or "").strip() or None,
        email_verified=request.form.get("email_verified") == "on",
    )
    return _private(_redirect(url))


@dev_bp.post("/token")
def token() -> BaseResponse:
    server = next(iter(_dev_servers().values()))
    response = jsonify(server.redeem(current_app.config["SECRET_KEY"], request.form.to_dict()))
    response.headers["Cache-Control"] = "no-store"
    return response


@dev_bp.get("/userinfo")
def userinfo() -> BaseResponse:
    server = next(iter(_dev_servers().values()))
    secret = current_app.config["SECRET_KEY"]
    return jsonify(server.userinfo(secret, request.headers.get("Authorization")))


# -- email: confirmation and sign-in links (the rule is ``accounts``'; the links are
# ``store.email_links``; this part only carries cookies, forms and mail) --------------------

#: Our cookie binding a confirmation link to the browser that asked for it (a random value;
#: only its hash is kept with the link).
EMAIL_BINDING_COOKIE = "social_auth_email_link"
_G_BINDING = "_social_auth_email_binding"


@bp.record_once
def _keep_tokens_out_of_logs(_setup: Any) -> None:
    # The development server (``make run``) logs whole request lines, queries included.
    redact_tokens_in_server_logs()


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
    next_url = request.form.get("next")
    mail_later: Callable[[], None] | None = None
    if isinstance(commenter, Commenter):
        target = commenter
        if email_key(commenter.email) != email_key(address):
            if not commenter.is_guest:
                raise InvalidInput(
                    "email", "Only this account's own email address can be confirmed here."
                )
            target = _update_guest(
                commenter, commenter.display_name, address, commenter.website,
                commenter.avatar_url,
            )
        send_verification_link(target, address, next_url)  # a failure: 503
    else:
        # Anonymous: a sign-in link, sent only to an address someone already proved, and only
        # once the answer has gone out, so neither the answer, nor its timing, nor a mail
        # failure tells whether the address is known.
        known = state.store.find_verified_by_email(address)
        if known is not None:
            mail_later = _mail_quietly(known, next_url)
    message = "If that address can receive mail, a confirmation link is on its way to it."
    response = (
        jsonify({"sent": True, "message": message})
        if wants_json()
        else _message_page("Check your email", message, 200)
    )
    if mail_later is not None:
        response.call_on_close(mail_later)  # the WSGI server calls it after sending the body
    return response


def _check_rate(address: str) -> None:
    limiter: RateLimiter = get_state().rate_limiter
    client = request.remote_addr or "unknown"
    # The client first: a client already refused must not add a counter per address it tries.
    if not (
        limiter.hit(f"client:{client}", CLIENT_LIMIT, LIMIT_WINDOW)
        and limiter.hit(f"email:{email_key(address)}", EMAIL_LIMIT, LIMIT_WINDOW)
    ):
        raise RateLimited("Too many confirmation emails were asked for; try again later.")


def request_verification(commenter: Commenter, next_url: str | None = None) -> None:
    """Rate-limited: mail ``commenter`` a link confirming their current email; after
    confirming, the browser goes to ``next_url`` (a path on this site). The link works only
    in this request's browser, while it is signed in as ``commenter``."""
    if not commenter.email:
        raise InvalidInput("email", "Add an email address first.")
    _check_rate(commenter.email)
    send_verification_link(commenter, commenter.email, next_url)


def send_verification_link(
    commenter: Commenter, address: str, next_url: str | None = None
) -> None:
    """Mail ``address`` (``commenter``'s own email) a confirmation link bound to this
    request's browser (no rate limit: callers apply it)."""
    if email_key(address) != email_key(commenter.email) or email_key(address) is None:
        raise InvalidInput("email", "Only the commenter's own email address can be confirmed.")
    provider = signed_in_provider()
    token = accounts.confirmation_link(
        _email_links(),
        commenter,
        binding=_browser_binding(),
        signed_in_with=provider,
        next_url=safe_next(next_url) if next_url else None,
    )
    subject, body = confirmation_email(
        site=_site_name(),
        email=address,
        asker=accounts.describe(commenter, _titles(), provider),
        link=_verify_url(token),
        minutes=LINK_MAX_AGE // 60,
    )
    mailer: Mailer = get_state().mailer
    mailer.send(address, subject, body)


def _mail_quietly(owner: Commenter, next_url: str | None) -> Callable[[], None]:
    """A sign-in link for ``owner``, issued and sent after the answer, where nothing may fail
    and nothing may take time the visitor could measure; it logs rather than raises."""
    links, mailer, logger = _email_links(), get_state().mailer, current_app.logger
    address = owner.email or ""
    site, verify_url = _site_name(), absolute_url("social_auth.verify_email")
    who = accounts.describe(owner, _titles())
    safe = safe_next(next_url) if next_url else None

    def send() -> None:
        try:
            token = accounts.sign_in_link(links, owner, safe)
            link = f"{verify_url}?{urlencode({TOKEN_PARAM: token})}"
            subject, body = sign_in_email(
                site=site, owner=who, link=link, minutes=LINK_MAX_AGE // 60
            )
            mailer.send(address, subject, body)
        except Exception:  # the visitor was already answered; they can ask again
            logger.warning("social_auth: a sign-in link could not be mailed")

    return send


def _email_links() -> EmailLinks:
    return EmailLinks(get_state().store)


def _browser_binding() -> str:
    """This browser's binding value: kept while it lives (so each of its links stays bound),
    made on first use, and sent back with a fresh lifetime."""
    value = g.get(_G_BINDING) or get_cookie(EMAIL_BINDING_COOKIE)
    if not value or len(value) > TOKEN_MAX_LENGTH:
        value = secrets.token_urlsafe(32)
    setattr(g, _G_BINDING, value)
    set_cookie(None, EMAIL_BINDING_COOKIE, value, LINK_MAX_AGE)
    return value


def _site_name() -> str:
    parts = urlsplit(site_url())
    return parts.netloc + parts.path


def _verify_url(token: str) -> str:
    return absolute_url("social_auth.verify_email", **{TOKEN_PARAM: token})


def _email_proof(token: str | None) -> accounts.EmailProof:
    link = _email_links().find(token or "")
    if link is None:
        raise accounts.LinkInvalid(
            "This link is unknown, expired, used already or replaced by a newer one; "
            "ask for a new one."
        )
    holder = current_commenter
    return accounts.judge(
        link,
        holder=holder if isinstance(holder, Commenter) else None,
        binding=get_cookie(EMAIL_BINDING_COOKIE),
        store=get_state().store,
        titles=_titles(),
    )


def _no_referrer(response: BaseResponse) -> BaseResponse:
    # The page's address holds the token: it must not travel on as a Referer, nor be cached.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/email/verify")
def verify_email() -> BaseResponse:
    # Only shows what confirming would do, and a button: mail scanners that follow links must
    # not use them up, and the mailbox owner decides with the page in front of them.
    proof = _email_proof(request.args.get(TOKEN_PARAM))
    body = render_template(
        "social_auth/verify_email.html",
        proof=proof,
        token=request.args.get(TOKEN_PARAM),
        site=_site_name(),
        csrf=csrf_token(),
    )
    return _no_referrer(current_app.response_class(body, mimetype="text/html"))


@bp.post("/email/verify")
def verify_email_confirm() -> BaseResponse:
    check_csrf()
    proof = _email_proof(request.form.get(TOKEN_PARAM))
    provider = signed_in_provider() if proof.verdict == "verify" else None
    target = accounts.confirm(proof, _email_links(), get_state().store)
    identity = next((i for i in target.identities if i.provider == provider), None)
    sign_in(None, target, identity)  # a fresh session (the verified one ended every other)
    return _no_referrer(_done(proof.link.next_url or "/"))


# -- privacy: what is kept, self-service export and erasure --------------------------------


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


def _message_page(
    title: str,
    message: str,
    status: int,
    *,
    back_url: str | None = None,
    draft: str | None = None,
) -> Response:
    body = render_template(
        "social_auth/message.html",
        title=title,
        message=message,
        back_url=safe_next(back_url or request.args.get("next"), "/"),
        # Shown when it could not be carried back (too long, or the form's token was stale).
        draft=draft,
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
    state = get_state(app)
    prefix = state.settings.url_prefix
    app.register_blueprint(bp, url_prefix=prefix)
    if any(isinstance(p, LocalAuthorizationServer) for p in state.providers.values()):
        logging.getLogger("social_auth").warning(
            "The dev sign-in pages are mounted at %s/dev/: anyone can sign in as anyone. "
            "Never in production.",
            prefix.rstrip("/"),
        )
        app.register_blueprint(dev_bp, url_prefix=prefix.rstrip("/") + "/dev")
    app.register_error_handler(SocialAuthError, handle_error)
    app.register_error_handler(HTTPException, _http_error)

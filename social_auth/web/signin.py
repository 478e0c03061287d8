"""Signing in: as a guest, with a provider (start and callback), connecting another account,
the self-service merge it may offer (and its proof cookie), and signing out."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from flask import abort, after_this_request, request, url_for
from flask.wrappers import Response
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response as BaseResponse

from .. import accounts, flow, linking
from ..errors import (
    BLOCKED_MESSAGE,
    AccountConflict,
    CommenterBlocked,
    GuestDisabled,
    RateLimited,
    SignInCancelled,
    SignInError,
    SocialAuthError,
    StateMismatch,
    StoreUnavailable,
)
from ..flow import SignInResult, safe_next
from ..guest import validate_guest
from ..health import HealthRecorder
from ..provider import Provider
from ..session import (
    check_csrf,
    current_commenter,
    delete_cookie,
    get_cookie,
    set_cookie,
    set_draft,
    set_notice,
    sign_in,
    sign_out,
)
from ..site import absolute_url
from ..state import get_state
from ..store import Commenter
from .merge import conflict_page
from .pages import (
    bp,
    done,
    message_page,
    popup_result,
    private,
    redirect_to,
    require_commenter,
)

#: Sign-ins a client address may start per window: each may cost a call to the provider
#: (an OAuth 1.0a request token, discovery), so a script must not be able to loop on it.
START_LIMIT, START_WINDOW = 100, 60

# Everything a provider's answer touches is ``private`` (no Referer, no cache) and loads
# nothing from elsewhere: a code or state in the URL must never travel on.


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
    commenter, changed = accounts.guest_for(
        state.store, current if isinstance(current, Commenter) else None, details
    )
    if changed:
        sign_in(None, commenter)
    return commenter


@bp.post("/guest")
def guest() -> BaseResponse:
    check_csrf()
    guest_sign_in(request.form)
    return done()


@bp.post("/logout")
def logout() -> BaseResponse:
    check_csrf()
    # Without JavaScript the Log Out button submits the whole comment form: keep the draft.
    field = request.form.get("social_auth_draft_field", "")
    if field and field != "csrf_token":
        set_draft(None, request.form.get(field, ""))
    sign_out(None)
    return done()


def _provider(name: str) -> Provider:
    provider = get_state().providers.get(name)
    if provider is None:
        abort(404, description="There is no sign-in with that name on this site.")
    return provider


def _callback_url(provider: Provider) -> str:
    return absolute_url("social_auth.callback", provider=provider.instance_name)


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
            return private(_failure(exc, next_path, popup, draft))
    return _start(chosen, next_path=next_path, popup=popup, draft=draft)


def _start(
    provider: Provider,
    *,
    next_path: str,
    popup: bool,
    draft: str | None,
    connect_to: str | None = None,
) -> BaseResponse:
    limiter = get_state().rate_limiter
    if not limiter.hit(f"start:{request.remote_addr or 'unknown'}", START_LIMIT, START_WINDOW):
        limited = RateLimited("Too many sign-ins were started from here; wait a minute.")
        return private(_failure(limited, next_path, popup, draft))
    try:
        started = flow.start(
            provider,
            _callback_url(provider),
            settings=get_state().flow_settings,
            next_path=next_path,
            popup=popup,
            draft=draft,
            connect_to=connect_to,
        )
    except SocialAuthError as exc:  # the provider is down, or the draft too long to carry
        _health().failed(provider.instance_name, exc)
        return private(_failure(exc, next_path, popup, draft))
    _health().started(provider.instance_name)
    response = redirect_to(started.url)
    # ``__Host-`` on https (path ``/``): a sibling subdomain cannot plant a flow of its own.
    set_cookie(response, flow.COOKIE_NAME, started.cookie_value, flow.MAX_AGE)
    return private(response)


def _failure(
    error: SocialAuthError, next_path: str, popup: bool, draft: str | None
) -> Response:
    """A failed sign-in: the popup tells the page, or a page explains and keeps the draft."""
    status = error.status if 400 <= error.status < 600 else 400
    if popup:
        response = popup_result("error", error.message, next_path)
    else:
        title = "Sign-in failed" if status >= 500 else "Sign-in not possible"
        response = message_page(title, error.message, status, back_url=next_path, draft=draft)
        if draft:
            set_draft(response, draft)  # back in the textarea via "Back to where you were"
    response.status_code = status
    return response


def start_sign_in(
    provider: Provider, *, next_path: str, popup: bool, draft: str | None
) -> BaseResponse:
    """Start ``provider``'s sign-in as the icons do (the start rate limit, the flow cookie, the
    failure page); the handle sign-in (``web.handles``) starts here too."""
    return _start(provider, next_path=next_path, popup=popup, draft=draft)


def failure_page(
    error: SocialAuthError, next_path: str, popup: bool, draft: str | None
) -> BaseResponse:
    """``_failure`` for the handle sign-in: the popup's message, or a page keeping the draft."""
    return private(_failure(error, next_path, popup, draft))


#: The draft a JS-off form posted, read the icons' way (the handle sign-in's POST too).
posted_draft = _posted_draft


@bp.route("/callback/<provider>", methods=["GET", "POST"])
def callback(provider: str) -> BaseResponse:
    """Finish a sign-in (or a connection) started by ``login`` or ``connect``."""
    return finish_callback(_provider(provider))


def finish_callback(chosen: Provider) -> BaseResponse:
    """The callback of ``chosen``'s sign-in, for this route and the handle sign-ins'."""
    after_this_request(_forget_flow)
    settings = get_state().flow_settings
    # Read once: ``finish_read`` checks it, and a cancel still needs to know what it was for.
    cookie = flow.read_cookie(get_cookie(flow.COOKIE_NAME), settings=settings)
    params = {**request.args.to_dict(), **request.form.to_dict()}
    began = time.perf_counter()  # the provider's share of the callback: its round trips
    try:
        result = flow.finish_read(chosen, cookie, params, _callback_url(chosen), settings=settings)
    except SignInCancelled as exc:
        _health().failed(chosen.instance_name, exc)
        connecting = cookie.state is not None and cookie.state.intent == "connect"
        return private(_cancelled(exc, connecting))
    except SignInError as exc:
        _health().failed(chosen.instance_name, exc)
        return private(_failure(exc, exc.next_path, exc.popup, exc.draft))
    _health().finished(chosen.instance_name, time.perf_counter() - began)
    try:
        if result.intent == "connect":
            return private(_finish_connect(result))
        return private(_finish_sign_in(result))
    except SQLAlchemyError:
        # The database went away mid-callback: each store call rolled back its transaction,
        # and this answer carries no session cookie, only the draft.
        logging.getLogger("social_auth").exception("The identity store failed in a callback")
        unavailable = StoreUnavailable(flow.STORE_DOWN)
        return private(_failure(unavailable, result.next_path, result.popup, result.draft))


def _health() -> HealthRecorder:
    recorder = get_state().health
    assert recorder is not None  # built by init_app
    return recorder


def _forget_flow(response: Response) -> Response:
    delete_cookie(response, flow.COOKIE_NAME)
    return response


def _cancelled(error: SignInCancelled, connecting: bool) -> Response:
    if error.popup:
        return popup_result("cancelled", next_url=error.next_path)
    response = redirect_to(error.next_path)
    if error.draft:
        set_draft(response, error.draft)
    set_notice(response, "connect_cancelled" if connecting else "cancelled")
    return response


def _finish_sign_in(result: SignInResult) -> Response:
    state = get_state()
    try:
        # Refuses a blocked commenter (``CommenterBlocked``) without linking or writing.
        resolution = linking.resolve(result.profile, None, state.store, state.linking_policy)
    except SocialAuthError as exc:
        return _failure(exc, result.next_path, result.popup, result.draft)
    if resolution.commenter.is_blocked:  # a second guard; the store already refused it
        blocked = CommenterBlocked(BLOCKED_MESSAGE)
        return _failure(blocked, result.next_path, result.popup, result.draft)
    if result.popup:
        response = popup_result("signed-in", next_url=result.next_path)
    else:
        response = redirect_to(result.next_path)
        if result.draft:
            set_draft(response, result.draft)
    sign_in(response, resolution.commenter, resolution.identity)
    return response


@bp.post("/connections/<provider>")
def connect(provider: str) -> BaseResponse:
    """Start connecting another account to the signed-in commenter (POST with CSRF only: a
    link from another site cannot start one)."""
    check_csrf()
    commenter = require_commenter()
    chosen = _provider(provider)
    accounts.check_can_connect(commenter)
    here = url_for("social_auth.connections")
    return _start(chosen, next_path=here, popup=False, draft=None, connect_to=commenter.public_id)


def _finish_connect(result: SignInResult) -> Response:
    current = current_commenter
    # Signed out, or someone else, since the connection started: link nothing.
    if not isinstance(current, Commenter) or not accounts.still_connecting(
        current, result.commenter
    ):
        mismatch = StateMismatch(
            "This connection was started by another session; nothing was connected."
        )
        return _failure(mismatch, result.next_path, False, None)
    state = get_state()
    try:
        resolution = linking.resolve(result.profile, current, state.store, state.linking_policy)
    except AccountConflict as exc:
        return conflict_page(current, exc, result.profile)
    except SocialAuthError as exc:
        return _failure(exc, result.next_path, False, None)
    response = redirect_to(result.next_path)
    if resolution.outcome == "connected":
        set_notice(response, "connected")
    else:  # linking.resolve treats an unverified guest's connection as a plain sign-in
        sign_in(response, resolution.commenter, resolution.identity)
    return response

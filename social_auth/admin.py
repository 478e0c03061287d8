"""Admin pages under ``<prefix>/admin/``: find commenters, see their identities and audit log,
move and unlink identities, merge (after a preview) and undo, block, unblock, export, erase.

Mounted only when ``SOCIAL_AUTH_ADMIN_CHECK`` is set. Every request asks that callable first;
every POST must come from a page of this site (Origin / Sec-Fetch-Site) and carry the CSRF
token; every response forbids framing. Plain server-rendered forms: no JavaScript needed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, current_app, redirect, render_template, request, url_for
from flask.wrappers import Response
from werkzeug.wrappers import Response as BaseResponse

from .accounts import export_data, parse_until
from .errors import (
    CrossSiteRequest,
    InvalidInput,
    LastSignInMethod,
    NotAdmin,
    NotFound,
    SocialAuthError,
)
from .session import check_csrf, csrf_token
from .site import site_origin
from .state import get_state
from .store import Commenter, Identity
from .store.models import utcnow

bp = Blueprint("social_auth_admin", __name__, template_folder="templates")

#: Public ids are ``secrets.token_urlsafe`` strings; anything else is not looked up at all.
_PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_QUERY = 200
PER_PAGE = 25
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: What the page says after a redirect; ``?done=`` carries only these keys, so nobody can
#: make the admin page show text of their choosing.
NOTICES = {
    "unlinked": "The identity was unlinked.",
    "moved": "The identity was moved.",
    "merged": "The commenters were merged.",
    "unmerged": "The last merge was undone.",
    "blocked": "The commenter is blocked and was signed out everywhere.",
    "unblocked": "The block was lifted.",
    "erased": "The commenter's personal data was erased.",
}


def register(app: Flask) -> str:
    """Mount the admin blueprint at ``<SOCIAL_AUTH_URL_PREFIX>/admin``; returns that prefix.

    Every response under the prefix, a 404 or 405 included (those never reach the
    blueprint's hooks), gets ``security_headers``: the extension's one app-wide hook, which
    already tests each path against our prefix, schedules it (``extension._our_urls``).
    """
    prefix = get_state(app).settings.url_prefix.rstrip("/") + "/admin"
    app.register_blueprint(bp, url_prefix=prefix)
    return prefix


def security_headers(response: Response) -> Response:
    """No framing, no sniffing, no caching, and a CSP allowing nothing the pages do not use."""
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Not "no-referrer": with it browsers send "Origin: null" on the admin's own forms.
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.before_request
def _guard() -> None:
    check = get_state().settings.admin_check
    if check is None or not check():
        raise NotAdmin("Only the site's administrators can open this page.")
    if request.method not in SAFE_METHODS:
        _refuse_cross_site()
        check_csrf()


def _refuse_cross_site() -> None:
    """Browsers say where a form came from; a page on another site may not drive the admin.

    The CSRF token already stops forged forms; this also stops a sibling subdomain that could
    plant cookies, and costs nothing for clients (scripts, tests) that send neither header.
    ``Sec-Fetch-Site`` decides when the browser sends it (a page cannot forge it); otherwise
    ``Origin`` must be this site's.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    if fetch_site is not None:
        allowed = fetch_site in ("same-origin", "none")
    else:
        allowed = origin is None or origin.rstrip("/") == site_origin()
    if not allowed:
        raise CrossSiteRequest("Admin forms must be sent from this site's own admin pages.")


def _actor() -> str:
    """``admin:<who>`` from ``SOCIAL_AUTH_ADMIN_ACTOR``, or plain ``admin`` without one."""
    who_of = get_state().settings.admin_actor
    who = str(who_of() or "").strip() if who_of is not None else ""
    return f"admin:{who}"[:200] if who else "admin"


# -- lookups ---------------------------------------------------------------------------------


def _commenter(public_id: str) -> Commenter:
    if not _PUBLIC_ID.match(public_id):
        raise NotFound(f"No commenter with id {public_id[:40]!r}.")
    return get_state().store.require(public_id)


def _form_commenter(field: str, label: str) -> Commenter:
    value = (request.values.get(field) or "").strip()
    if not value:
        raise InvalidInput(field, f"Give the {label}'s id (as shown on their admin page).")
    return _commenter(value)


def _own_identity(commenter: Commenter, identity_id: int) -> Identity:
    for identity in commenter.identities:
        if identity.id == identity_id:
            return identity
    raise NotFound("That identity does not belong to this commenter (any more).")


def _search_text() -> str:
    query = request.args.get("q", "").strip()
    if len(query) > MAX_QUERY or any(ord(ch) < 32 for ch in query):
        raise InvalidInput("q", f"Search for a name, email, id or username (up to {MAX_QUERY} "
                           "characters, no control characters).")
    return query


def _until() -> datetime | None:
    text = (request.form.get("until") or "").strip()
    if not text:
        return None
    try:
        return parse_until(text, utcnow())
    except (InvalidInput, ValueError, OverflowError):
        raise InvalidInput(
            "until",
            f"Block until {text[:40]!r}? Give a future date such as 2030-12-31, a duration such "
            "as 7d, 12h or 2w, or leave it blank to block until unblocked.",
        ) from None


# -- pages -----------------------------------------------------------------------------------


@bp.get("/")
def index() -> str:
    query = _search_text()
    # Clamped: a huge page number would overflow the database's OFFSET type.
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 1_000_000)
    found = get_state().store.list_commenters(query, page=page, per_page=PER_PAGE)
    return render_template("social_auth/admin/index.html", query=query, found=found)


@bp.get("/commenters/<public_id>")
def commenter(public_id: str) -> Response:
    return _commenter_page(_commenter(public_id), notice=NOTICES.get(request.args.get("done", "")))


def _commenter_page(
    commenter: Commenter, *, notice: str | None = None, error: str | None = None,
    status: int = 200,
) -> Response:
    state = get_state()
    details = state.store.details(commenter)
    count = state.settings.comment_count
    body = render_template(
        "social_auth/admin/commenter.html",
        details=details,
        c=details.commenter,
        comment_count=count(details.commenter) if count is not None else None,
        providers=_provider_titles(),
        notice=notice,
        error=error,
        csrf=csrf_token(),
        json_details=_json_details,
        http_url=_http_url,
    )
    return current_app.response_class(body, status=status, mimetype="text/html")


def _provider_titles() -> dict[str, str]:
    state = get_state()
    return {**state.handles.titles(), **{n: p.display_title for n, p in state.providers.items()}}


def _json_details(details: Any) -> str:
    return json.dumps(details, sort_keys=True, default=str)


def _http_url(value: str | None) -> str | None:
    """Only http(s) addresses become links or images: never ``javascript:`` or ``data:``."""
    if value and value.lower().startswith(("https://", "http://")):
        return value
    return None


def _act(commenter: Commenter, done: str, action: Callable[[], object],
         *, go_to: Commenter | None = None) -> BaseResponse:
    """Run one admin action; a refusal re-renders the commenter page saying why."""
    try:
        action()
    except SocialAuthError as exc:
        return _commenter_page(commenter, error=_explain(exc), status=exc.status)
    target = go_to or commenter
    return redirect(url_for(".commenter", public_id=target.public_id, done=done), 303)


def _explain(error: SocialAuthError) -> str:
    if isinstance(error, LastSignInMethod):
        return (
            "Refused: this is the commenter's only way to sign in, so removing it would lock "
            "them out. Merge them into another commenter instead, or erase them."
        )
    return error.message


@bp.post("/commenters/<public_id>/identities/<int:identity_id>/unlink")
def unlink(public_id: str, identity_id: int) -> BaseResponse:
    c = _commenter(public_id)
    identity = _own_identity(c, identity_id)
    return _act(c, "unlinked", lambda: get_state().store.unlink(identity, actor=_actor()))


@bp.post("/commenters/<public_id>/identities/<int:identity_id>/move")
def move(public_id: str, identity_id: int) -> BaseResponse:
    c = _commenter(public_id)
    identity = _own_identity(c, identity_id)
    try:
        target = _form_commenter("target", "commenter to move it to")
    except SocialAuthError as exc:
        return _commenter_page(c, error=exc.message, status=exc.status)
    store = get_state().store
    return _act(c, "moved", lambda: store.move_identity(identity, target, actor=_actor()),
                go_to=target)


@bp.get("/merge")
def merge_preview() -> Response:
    source = _form_commenter("source", "commenter to merge")
    target = _form_commenter("target", "commenter to merge into")
    preview = get_state().store.merge_preview(source, target)
    body = render_template("social_auth/admin/merge.html", preview=preview, csrf=csrf_token(),
                           providers=_provider_titles())
    status = 409 if preview.problem else 200
    return current_app.response_class(body, status=status, mimetype="text/html")


@bp.post("/merge")
def merge() -> BaseResponse:
    source = _form_commenter("source", "commenter to merge")
    target = _form_commenter("target", "commenter to merge into")
    store = get_state().store
    return _act(target, "merged", lambda: store.merge(source, target, actor=_actor()))


@bp.post("/commenters/<public_id>/undo-merge")
def undo_merge(public_id: str) -> BaseResponse:
    c = _commenter(public_id)
    return _act(c, "unmerged", lambda: get_state().store.undo_last_merge(c, actor=_actor()))


@bp.post("/commenters/<public_id>/block")
def block(public_id: str) -> BaseResponse:
    c = _commenter(public_id)
    try:
        until = _until()
    except InvalidInput as exc:
        return _commenter_page(c, error=exc.message, status=exc.status)
    return _act(c, "blocked", lambda: get_state().store.block(c, until, actor=_actor()))


@bp.post("/commenters/<public_id>/unblock")
def unblock(public_id: str) -> BaseResponse:
    c = _commenter(public_id)
    return _act(c, "unblocked", lambda: get_state().store.unblock(c, actor=_actor()))


@bp.get("/commenters/<public_id>/erase")
def erase_confirm(public_id: str) -> str:
    return render_template("social_auth/admin/erase.html", c=_commenter(public_id),
                           csrf=csrf_token())


@bp.post("/commenters/<public_id>/erase")
def erase(public_id: str) -> BaseResponse:
    c = _commenter(public_id)
    return _act(c, "erased", lambda: get_state().store.erase(c, actor=_actor()))


@bp.get("/commenters/<public_id>/export")
def export(public_id: str) -> Response:
    c = _commenter(public_id)
    state = get_state()
    data = export_data(state.store, state.settings, c)
    body = json.dumps(data, indent=2, sort_keys=True, default=str)
    response = current_app.response_class(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="commenter-{c.public_id}.json"'
    return response

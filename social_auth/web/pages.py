"""The ``social_auth`` blueprint and what its views share: message and popup pages, ``/auth/me``,
the error handlers, and the headers a private answer carries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, cast

from flask import Blueprint, current_app, jsonify, redirect, render_template, request
from flask.wrappers import Response
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from ..errors import NotSignedIn, SocialAuthError
from ..flow import safe_next
from ..session import csrf_token, current_commenter, signed_in_provider
from ..site import site_origin
from ..state import get_state
from ..store import Commenter
from .avatars import avatar_url

#: The package folder: templates and static files live beside the modules, not in ``web/``.
PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)

bp = Blueprint(
    "social_auth",
    __name__,
    template_folder="templates",
    static_folder="static",
    root_path=PACKAGE_ROOT,
)

PopupStatus = Literal["signed-in", "cancelled", "error"]


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
        body["commenter"] = {**commenter.public_json(), "avatar_url": avatar_url(commenter)}
        body["identities"] = [i.public_json() for i in commenter.identities]
    return body


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


def message_page(
    title: str,
    message: str,
    status: int,
    *,
    back_url: str | None = None,
    draft: str | None = None,
) -> Response:
    """A page saying ``message``, with a way back (``back_url`` or ``?next=``)."""
    body = render_template(
        "social_auth/message.html",
        title=title,
        message=message,
        back_url=safe_next(back_url or request.args.get("next"), "/"),
        # Shown when it could not be carried back (too long, or the form's token was stale).
        draft=draft,
    )
    return current_app.response_class(body, status=status, mimetype="text/html")


def private(response: BaseResponse) -> BaseResponse:
    """Say ``no-referrer`` and ``no-store``: a code, state or token in the URL must never travel
    on in a Referer header, and an answer about one person is never cached."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def no_frames(response: Response) -> Response:
    """A page with a form no other site may frame (clickjacking)."""
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response


def redirect_to(location: str) -> Response:
    """A redirect (Flask builds it with ``app.response_class``, whatever the stub says)."""
    return cast(Response, redirect(location))


def done(default_next: str = "/") -> BaseResponse:
    """The answer to a finished form: ``/auth/me``'s body for JSON, else back to ``next``."""
    if wants_json():
        response = jsonify(me_payload())
        response.headers["Cache-Control"] = "no-store"
        return response
    return redirect(safe_next(request.form.get("next") or request.args.get("next"), default_next))


def require_commenter(
    message: str = "Sign in first: this page is about your own accounts.",
) -> Commenter:
    """The signed-in commenter; anyone else gets ``NotSignedIn`` (401) with ``message``."""
    commenter = current_commenter
    if not isinstance(commenter, Commenter):
        raise NotSignedIn(message)
    return commenter


def provider_titles() -> dict[str, str]:
    """Each sign-in's title by instance name (``github`` → ``GitHub``), handle ones too."""
    state = get_state()
    return {**state.handles.titles(), **{n: p.display_title for n, p in state.providers.items()}}


@bp.get("/me")
def me() -> Response:
    response = jsonify(me_payload())
    response.headers["Cache-Control"] = "no-store"
    return response


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
    return message_page(title, error.message, status)


def handle_http_error(error: HTTPException) -> Response | HTTPException:
    """A routing or HTTP error on one of our URLs, as our page or JSON; the host's stay its own."""
    # Registered on the app (routing errors such as 405 never reach a blueprint's handlers),
    # but it answers only for our own URLs.
    prefix = get_state().settings.url_prefix.rstrip("/") + "/"
    if not request.path.startswith(prefix):
        return error
    status = error.code or 400
    message = error.description or error.name
    if wants_json():
        response = jsonify({"error": error.name.lower().replace(" ", "_"), "message": message})
        response.status_code = status
        return response
    return message_page(error.name, message, status)

"""The dev provider's authorization server, a second blueprint mounted only when it is on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from flask import Blueprint, current_app, jsonify, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from ..errors import GrantRefused
from ..provider import Provider
from ..session import check_csrf, csrf_token
from ..site import absolute_url
from ..state import get_state
from .pages import PACKAGE_ROOT, message_page, no_frames, private, redirect_to


@runtime_checkable
class LocalAuthorizationServer(Protocol):
    """A provider that is its own authorization server inside the app (``dev``)."""

    def authorize_request(self, params: Mapping[str, str], expected_redirect_uri: str) -> Any: ...
    def approve(self, secret_key: str | bytes, request: Any, **fields: Any) -> str: ...
    def cancel(self, request: Any) -> str: ...
    def redeem(self, secret_key: str | bytes, form: Mapping[str, str]) -> dict[str, Any]: ...
    def userinfo(self, secret_key: str | bytes, authorization: str | None) -> dict[str, Any]: ...


dev_bp = Blueprint(
    "social_auth_dev", __name__, template_folder="templates", root_path=PACKAGE_ROOT
)


def serves_itself(providers: Mapping[str, Provider]) -> bool:
    """Whether one of ``providers`` is its own authorization server (the dev pages are on)."""
    return any(isinstance(p, LocalAuthorizationServer) for p in providers.values())


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
        return message_page("Sign-in request refused", f"{error.message} ({error.error}).", 400)
    response = jsonify(error=error.error, error_description=error.message)
    response.status_code = 401 if error.error == "invalid_token" else 400
    return response


@dev_bp.get("/authorize")
def authorize_page() -> BaseResponse:
    _dev_authorize_request()
    body = render_template("social_auth/dev_authorize.html", csrf=csrf_token())
    return private(no_frames(current_app.response_class(body, mimetype="text/html")))


@dev_bp.post("/authorize")
def authorize() -> BaseResponse:
    check_csrf()
    server, req = _dev_authorize_request()
    if request.form.get("action") == "cancel":
        return private(redirect_to(server.cancel(req)))
    url = server.approve(
        current_app.config["SECRET_KEY"],
        req,
        subject=(request.form.get("subject") or "").strip(),
        name=(request.form.get("name") or "").strip(),
        email=(request.form.get("email") or "").strip() or None,
        email_verified=request.form.get("email_verified") == "on",
    )
    return private(redirect_to(url))


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

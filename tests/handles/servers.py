"""Local stand-ins for a commenter's own server: an IndieAuth-shaped site with its
authorization server (IndieAuth Living Standard 2024-07-11: metadata, authorization request,
redemption at the authorization endpoint), real HTTP on 127.0.0.1."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, redirect, request

from tests.providers.servers import s256, serve


@dataclass
class IndieSite:
    """A personal site whose own IndieAuth server signs its owner in.

    ``link`` says how the page names its metadata (``"header"``, ``"html"`` or ``"none"``);
    ``me_answer`` replaces the ``me`` the redemption returns (a hostile server claiming someone
    else's site); ``iss`` replaces the callback's ``iss``; ``profile`` is the profile returned.
    """

    link: str = "html"
    me_answer: str | None = None
    iss: str | None = None
    #: The issuer the metadata names (one that is not a prefix of the metadata's URL).
    issuer_override: str | None = None
    profile: dict[str, Any] = field(
        default_factory=lambda: {"name": "Alice Example", "photo": "https://alice.example/a.jpg"}
    )
    base_url: str = ""
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def me(self) -> str:
        return f"{self.base_url}/"

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/"

    def app(self) -> Flask:
        app = Flask(__name__)
        app.add_url_rule("/", view_func=self.home)
        app.add_url_rule("/.well-known/oauth-authorization-server", view_func=self.metadata)
        app.add_url_rule("/auth", view_func=self.authorize)
        app.add_url_rule("/auth", "redeem", view_func=self.redeem, methods=["POST"])
        return app

    @contextmanager
    def running(self) -> Iterator[IndieSite]:
        with serve(self.app()) as url:
            self.base_url = url
            yield self

    def home(self) -> Response:
        metadata = "/.well-known/oauth-authorization-server"
        head = f'<link rel="indieauth-metadata" href="{metadata}">' if self.link == "html" else ""
        response = Response(f"<!doctype html><html><head>{head}</head><body>Alice</body></html>")
        if self.link == "header":
            response.headers["Link"] = f'<{self.base_url}{metadata}>; rel="indieauth-metadata"'
        return response

    def metadata(self) -> Response:
        return jsonify(
            issuer=self.issuer_override or self.issuer,
            authorization_endpoint=f"{self.base_url}/auth",
            token_endpoint=f"{self.base_url}/token",
            code_challenge_methods_supported=["S256"],
            authorization_response_iss_parameter_supported=True,
        )

    def authorize(self) -> Response:
        args = request.args.to_dict()
        self.authorize_requests.append(args)
        assert args["response_type"] == "code"
        assert args["code_challenge_method"] == "S256" and args["code_challenge"]
        assert args["client_id"] and args["redirect_uri"] and args["state"]
        code = secrets.token_urlsafe(16)
        self.codes[code] = args
        query = {"code": code, "state": args["state"], "iss": self.iss or self.issuer}
        return redirect(f"{args['redirect_uri']}?{urlencode(query)}")

    def redeem(self) -> Response | tuple[Response, int]:
        form = request.form.to_dict()
        asked = self.codes.pop(form.get("code", ""), None)
        if (
            asked is None
            or form.get("grant_type") != "authorization_code"
            or form.get("client_id") != asked["client_id"]
            or form.get("redirect_uri") != asked["redirect_uri"]
            or s256(form.get("code_verifier", "")) != asked["code_challenge"]
        ):
            return jsonify(error="invalid_grant"), 400
        return jsonify(me=self.me_answer or self.me, profile=self.profile)

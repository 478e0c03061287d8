"""A Mastodon-shaped server on 127.0.0.1 speaking the documented payloads: WebFinger, OAuth
server metadata (4.3+; ``legacy`` answers 404 as older servers do), ``POST /api/v1/apps``,
``/oauth/authorize``, ``/oauth/token``, ``/oauth/userinfo`` (4.4+) and
``verify_credentials``."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, abort, jsonify, redirect, request

from tests.providers.servers import s256, serve


@dataclass
class MastodonServer:
    """``legacy``: no metadata and no userinfo (before 4.3). ``sub_override``: the account
    URI the server claims (a hostile server naming another server's account)."""

    user: str = "alice"
    legacy: bool = False
    sub_override: str | None = None
    base_url: str = ""
    apps: dict[str, dict[str, Any]] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    registrations: int = 0
    forget_apps: bool = False
    #: Where the metadata says tokens are made (a hostile server pointing elsewhere).
    token_endpoint: str | None = None

    @property
    def host(self) -> str:
        return self.base_url.split("://", 1)[1]

    @property
    def actor(self) -> str:
        return f"{self.base_url}/users/{self.user}"

    def app(self) -> Flask:
        app = Flask(__name__)
        app.add_url_rule("/.well-known/webfinger", view_func=self.webfinger)
        app.add_url_rule("/.well-known/oauth-authorization-server", view_func=self.metadata)
        app.add_url_rule("/api/v1/apps", view_func=self.register, methods=["POST"])
        app.add_url_rule("/oauth/authorize", view_func=self.authorize)
        app.add_url_rule("/oauth/token", view_func=self.token, methods=["POST"])
        app.add_url_rule("/oauth/userinfo", view_func=self.userinfo)
        app.add_url_rule("/api/v1/accounts/verify_credentials", view_func=self.credentials)
        return app

    @contextmanager
    def running(self) -> Iterator[MastodonServer]:
        with serve(self.app()) as url:
            self.base_url = url
            yield self

    def webfinger(self) -> Response:
        if request.args.get("resource") != f"acct:{self.user}@{self.host}":
            abort(404)
        return jsonify(
            subject=f"acct:{self.user}@{self.host}",
            aliases=[self.actor],
            links=[
                {
                    "rel": "http://webfinger.net/rel/profile-page",
                    "type": "text/html",
                    "href": f"{self.base_url}/@{self.user}",
                },
                {"rel": "self", "type": "application/activity+json", "href": self.actor},
            ],
        )

    def metadata(self) -> Response:
        if self.legacy:
            abort(404)
        base = self.base_url
        return jsonify(
            issuer=f"{base}/",
            authorization_endpoint=f"{base}/oauth/authorize",
            token_endpoint=self.token_endpoint or f"{base}/oauth/token",
            app_registration_endpoint=f"{base}/api/v1/apps",
            revocation_endpoint=f"{base}/oauth/revoke",
            userinfo_endpoint=f"{base}/oauth/userinfo",
            scopes_supported=["read", "write", "read:accounts", "profile"],
            response_types_supported=["code"],
            code_challenge_methods_supported=["S256"],
            grant_types_supported=["authorization_code", "client_credentials"],
            token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
        )

    def register(self) -> Response:
        body = request.get_json()
        self.registrations += 1
        client_id, secret = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        self.apps[client_id] = {**body, "client_secret": secret}
        return jsonify(
            id=str(self.registrations),
            name=body["client_name"],
            website=body.get("website"),
            scopes=body["scopes"].split(),
            redirect_uri="\n".join(body["redirect_uris"]),
            redirect_uris=body["redirect_uris"],
            client_id=client_id,
            client_secret=secret,
            client_secret_expires_at=0,
        )

    def authorize(self) -> Response:
        args = request.args.to_dict()
        app = self.apps.get(args.get("client_id", ""))
        assert app is not None and args["redirect_uri"] in app["redirect_uris"]
        assert args["scope"] == ("read:accounts" if self.legacy else "profile")
        assert args["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(12)
        self.codes[code] = args
        query = urlencode({"code": code, "state": args["state"]})
        return redirect(f"{args['redirect_uri']}?{query}")

    def token(self) -> Response | tuple[Response, int]:
        form = request.form.to_dict()
        app = self.apps.get(form.get("client_id", ""))
        if self.forget_apps or app is None or app["client_secret"] != form.get("client_secret"):
            return jsonify(
                error="invalid_client", error_description="Client authentication failed"
            ), 401
        asked = self.codes.pop(form.get("code", ""), None)
        if asked is None or s256(form.get("code_verifier", "")) != asked["code_challenge"]:
            return jsonify(error="invalid_grant"), 400
        token = secrets.token_urlsafe(16)
        self.tokens[token] = self.user
        return jsonify(access_token=token, token_type="Bearer", scope=asked["scope"], created_at=1)

    def _user(self) -> str:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            abort(401)
        return self.tokens[token]

    def userinfo(self) -> Response:
        if self.legacy:
            abort(404)
        user = self._user()
        return jsonify(
            iss=f"{self.base_url}/",
            sub=self.sub_override or self.actor,
            name="Alice Mastodon",
            preferred_username=user,
            profile=f"{self.base_url}/@{user}",
            picture=f"{self.base_url}/avatars/{user}.png",
        )

    def credentials(self) -> Response:
        user = self._user()
        return jsonify(
            id="109",
            username=user,
            acct=user,
            display_name="Alice Legacy",
            uri=self.sub_override or self.actor,
            url=f"{self.base_url}/@{user}",
            avatar=f"{self.base_url}/avatars/{user}.png",
        )

"""A FedCM identity provider on its own loopback origin: the OpenID issuer of the provider
tests (discovery, keys, ID tokens) plus the FedCM endpoints a browser calls
(``/.well-known/web-identity``, the config, accounts, client metadata, ID assertion)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, request

from tests.providers.servers import FakeProvider

ACCOUNT = {"id": "fed-1", "name": "Fran Fedcm", "email": "fran@idp.example",
           "given_name": "Fran"}


@dataclass
class FedcmIdP(FakeProvider):
    """Hands out, at the ID assertion endpoint, an ID token for the nonce the page passed."""

    account: dict[str, Any] = field(default_factory=lambda: dict(ACCOUNT))
    assertions: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> Flask:
        app = super().app()
        app.add_url_rule("/.well-known/web-identity", view_func=self.web_identity)
        app.add_url_rule("/fedcm.json", view_func=self.config)
        app.add_url_rule("/fedcm/accounts", view_func=self.accounts)
        app.add_url_rule("/fedcm/client", view_func=self.client_metadata)
        app.add_url_rule("/fedcm/assert", view_func=self.assertion, methods=["POST"])
        return app

    @property
    def config_url(self) -> str:
        return f"{self.base_url}/fedcm.json"

    def web_identity(self) -> Response:
        return jsonify(provider_urls=[self.config_url])

    def config(self) -> Response:
        return jsonify(accounts_endpoint="/fedcm/accounts", client_metadata_endpoint=
                       "/fedcm/client", id_assertion_endpoint="/fedcm/assert",
                       login_url="/fedcm/login")

    def accounts(self) -> Response:
        return jsonify(accounts=[self.account])

    def client_metadata(self) -> Response:
        return jsonify(privacy_policy_url=f"{self.base_url}/privacy",
                       terms_of_service_url=f"{self.base_url}/terms")

    def assertion(self) -> Response:
        form = request.form.to_dict()
        self.assertions.append(form)
        nonce = json.loads(form.get("params") or "{}").get("nonce")
        self.id_token_claims = {"sub": form["account_id"], "name": self.account["name"],
                                "email": self.account["email"], "email_verified": True}
        response = jsonify(token=self.make_id_token(nonce=nonce))
        response.headers["Access-Control-Allow-Origin"] = request.headers.get("Origin", "")
        response.headers["Access-Control-Allow-Credentials"] = "true"
        return response

"""An atproto-shaped account host on 127.0.0.1: a PLC directory, a PDS and its authorization
server in one app, checking what the atproto OAuth profile requires of a client (PAR, PKCE
S256, DPoP proofs signed by their embedded ES256 key with the server's nonce, the same DPoP key
at PAR and token, our ``private_key_jwt`` assertion) and answering as the reference does."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, abort, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import ECKey

from tests.providers.servers import s256, serve

DID = "did:plc:abcdefghijklmnopqrstuvwx"


@dataclass
class AtprotoHost:
    """``client_key``: the public key our client assertions must verify with. Faults:
    ``sub_override`` (the token names another DID), ``pds_override`` (the DID document names
    another PDS), ``issuer_override`` (the metadata names another issuer), ``nonce_loop``
    (every answer demands a fresh nonce)."""

    client_key: ECKey
    handle: str = "alice.test"
    sub_override: str | None = None
    pds_override: str | None = None
    issuer_override: str | None = None
    nonce_loop: bool = False
    base_url: str = ""
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(8))
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    par_calls: int = 0
    par_forms: list[dict[str, str]] = field(default_factory=list)
    discovery_calls: int = 0
    #: ``getSession``'s email and whether the PDS confirmed it (``transition:email``).
    email: str = "alice@example.com"
    email_confirmed: bool = True
    pds_nonce: str = field(default_factory=lambda: secrets.token_urlsafe(8))
    tokens: dict[str, str] = field(default_factory=dict)

    def app(self) -> Flask:
        app = Flask(__name__)
        app.add_url_rule("/plc/<did>", view_func=self.plc)
        app.add_url_rule("/.well-known/oauth-protected-resource", view_func=self.resource)
        app.add_url_rule("/.well-known/oauth-authorization-server", view_func=self.metadata)
        app.add_url_rule("/oauth/par", view_func=self.par, methods=["POST"])
        app.add_url_rule("/oauth/authorize", view_func=self.authorize)
        app.add_url_rule("/oauth/token", view_func=self.token, methods=["POST"])
        app.add_url_rule("/xrpc/com.atproto.repo.getRecord", view_func=self.record)
        app.add_url_rule("/xrpc/com.atproto.server.getSession", view_func=self.session)
        return app

    @contextmanager
    def running(self) -> Iterator[AtprotoHost]:
        with serve(self.app()) as url:
            self.base_url = url
            yield self

    @property
    def plc_url(self) -> str:
        return f"{self.base_url}/plc"

    def plc(self, did: str) -> Response:
        self.discovery_calls += 1
        if did != DID:
            abort(404)
        return jsonify(
            {
                "@context": ["https://www.w3.org/ns/did/v1"],
                "id": DID,
                "alsoKnownAs": [f"at://{self.handle}"],
                "service": [
                    {
                        "id": "#atproto_pds",
                        "type": "AtprotoPersonalDataServer",
                        "serviceEndpoint": self.pds_override or self.base_url,
                    }
                ],
            }
        )

    def resource(self) -> Response:
        self.discovery_calls += 1
        return jsonify(resource=self.base_url, authorization_servers=[self.base_url])

    def metadata(self) -> Response:
        base = self.base_url
        return jsonify(
            issuer=self.issuer_override or base,
            authorization_endpoint=f"{base}/oauth/authorize",
            token_endpoint=f"{base}/oauth/token",
            pushed_authorization_request_endpoint=f"{base}/oauth/par",
            require_pushed_authorization_requests=True,
            response_types_supported=["code"],
            grant_types_supported=["authorization_code", "refresh_token"],
            code_challenge_methods_supported=["S256"],
            token_endpoint_auth_methods_supported=["none", "private_key_jwt"],
            token_endpoint_auth_signing_alg_values_supported=["ES256"],
            scopes_supported=["atproto", "transition:generic"],
            authorization_response_iss_parameter_supported=True,
            dpop_signing_alg_values_supported=["ES256"],
            client_id_metadata_document_supported=True,
        )

    def _dpop(self, path: str) -> tuple[str | None, Response | None]:
        """The proof's key thumbprint, or a refusal (asking for the nonce)."""
        proof = request.headers.get("DPoP", "")
        key = _embedded(proof)
        token = jwt.decode(proof, key, algorithms=["ES256"])
        header, claims = token.header, token.claims
        assert header["typ"] == "dpop+jwt"
        assert claims["htm"] == "POST" and claims["htu"] == f"{self.base_url}{path}"
        if self.nonce_loop:
            self.nonce = secrets.token_urlsafe(8)
        if claims.get("nonce") != self.nonce or self.nonce_loop:
            refusal = jsonify(
                error="use_dpop_nonce",
                error_description="Authorization server requires nonce in DPoP proof",
            )
            refusal.status_code = 400
            refusal.headers["DPoP-Nonce"] = self.nonce
            return None, refusal
        return key.thumbprint(), None

    def _client(self, form: dict[str, str]) -> None:
        if form["client_id"].startswith("http://localhost?"):  # the development client
            assert "client_assertion" not in form
            return
        assert (
            form["client_assertion_type"]
            == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        )
        claims = jwt.decode(form["client_assertion"], self.client_key, algorithms=["ES256"]).claims
        assert claims["iss"] == claims["sub"] == form["client_id"]
        assert claims["aud"] == self.base_url

    def par(self) -> Response:
        self.par_calls += 1
        thumb, refusal = self._dpop("/oauth/par")
        if refusal is not None:
            return refusal
        form = request.form.to_dict()
        self.par_forms.append(form)
        self._client(form)
        assert form["scope"] in ("atproto", "atproto transition:email")
        assert form["code_challenge_method"] == "S256"
        uri = f"urn:ietf:params:oauth:request_uri:{secrets.token_urlsafe(8)}"
        self.requests[uri] = {**form, "jkt": thumb}
        answer = jsonify(request_uri=uri, expires_in=299)
        answer.status_code = 201
        answer.headers["DPoP-Nonce"] = self.nonce
        return answer

    def authorize(self) -> Response:
        asked = self.requests.pop(request.args["request_uri"])
        assert asked["client_id"] == request.args["client_id"]
        code = secrets.token_urlsafe(12)
        self.codes[code] = asked
        query = urlencode(
            {"code": code, "state": asked["state"], "iss": self.issuer_override or self.base_url}
        )
        return redirect(f"{asked['redirect_uri']}?{query}")

    def token(self) -> Response | tuple[Response, int]:
        thumb, refusal = self._dpop("/oauth/token")
        if refusal is not None:
            return refusal
        form = request.form.to_dict()
        self._client(form)
        asked = self.codes.pop(form["code"], None)
        if (
            asked is None
            or asked["jkt"] != thumb
            or s256(form["code_verifier"]) != asked["code_challenge"]
        ):
            return jsonify(error="invalid_grant"), 400
        access = secrets.token_urlsafe(16)
        self.tokens[access] = thumb or ""
        answer = jsonify(
            access_token=access,
            token_type="DPoP",
            expires_in=300,
            refresh_token=secrets.token_urlsafe(16),
            scope=asked["scope"],
            sub=self.sub_override or DID,
        )
        answer.headers["DPoP-Nonce"] = self.nonce
        return answer

    def session(self) -> Response:
        """The PDS's ``getSession``: DPoP-bound (the token's key, ``ath``), its own nonce."""
        scheme, _, access = request.headers.get("Authorization", "").partition(" ")
        assert scheme == "DPoP" and access in self.tokens
        proof = request.headers["DPoP"]
        key = _embedded(proof)
        claims = jwt.decode(proof, key, algorithms=["ES256"]).claims
        assert key.thumbprint() == self.tokens[access]
        assert claims["htm"] == "GET" and claims["ath"]
        if claims.get("nonce") != self.pds_nonce:
            refusal = jsonify(error="use_dpop_nonce")
            refusal.status_code = 401
            refusal.headers["WWW-Authenticate"] = 'DPoP error="use_dpop_nonce"'
            refusal.headers["DPoP-Nonce"] = self.pds_nonce
            return refusal
        return jsonify(
            handle=self.handle, did=DID, email=self.email, emailConfirmed=self.email_confirmed
        )

    def record(self) -> Response:
        assert (
            request.args["repo"] == DID and request.args["collection"] == "app.bsky.actor.profile"
        )
        return jsonify(
            uri=f"at://{DID}/app.bsky.actor.profile/self",
            cid="bafyreib",
            value={
                "$type": "app.bsky.actor.profile",
                "displayName": "Alice Sky",
                "avatar": {
                    "$type": "blob",
                    "ref": {"$link": "bafkreiavatar"},
                    "mimeType": "image/jpeg",
                    "size": 1000,
                },
            },
        )


def _embedded(proof: str) -> ECKey:
    """The key a DPoP proof carries in its header (checked by the signature it verifies)."""
    import base64
    import json

    head = proof.split(".", 1)[0]
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    return ECKey.import_key(header["jwk"])

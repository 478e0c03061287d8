"""OpenID issuers for the attack tests: one that counts which of its endpoints were called (to
prove a refused token went no further) and can hand out a forged ID token, and the helpers that
forge one."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from flask import Flask, Response
from joserfc.jwk import RSAKey

from social_auth.provider import Provider
from social_auth_providers.oidc import OpenIDConnect
from tests.providers.servers import FakeProvider, payload


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_rs256(key: RSAKey, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """An RS256 JWS signed by hand, so headers a JOSE library would refuse to emit can be sent."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = key.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


@dataclass
class CountingIssuer(FakeProvider):
    """An OpenID issuer that counts hits per endpoint; ``forge`` turns the claims it would sign
    into the ID token it hands out instead (a hostile or broken issuer)."""

    forge: Callable[[dict[str, Any]], str] | None = None
    hits: Counter[str] = field(default_factory=Counter)
    #: endpoint ("userinfo", "jwks", "openid-configuration") -> a fault of ``FakeProvider.fail``,
    #: or "empty" / "garbage-keys" for a key set with no or unusable keys.
    endpoint_faults: dict[str, str] = field(default_factory=dict)

    def app(self) -> Flask:
        app = super().app()

        @app.before_request
        def count() -> Response | None:
            from flask import request

            endpoint = request.path.rsplit("/", 1)[-1] or "/"
            self.hits[endpoint] += 1
            fault = self.endpoint_faults.get(endpoint)
            if fault == "empty":
                return json_response({"keys": []})
            if fault == "garbage-keys":
                return json_response(
                    {"keys": [{"kty": "RSA", "kid": "k1", "n": "??", "e": "AQAB"}]}
                )
            if fault:
                response: Response = self.fail(fault)
                return response
            return None

        return app

    def make_id_token(
        self, *, nonce: str | None, key: RSAKey | None = None, access_token: str | None = None
    ) -> str:
        if self.forge is None:
            return super().make_id_token(nonce=nonce, key=key, access_token=access_token)
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.base_url,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 600,
            **(self.id_token_claims or {}),
            "nonce": nonce,
        }
        if "at_hash" in claims and access_token is not None:
            digest = hashlib.sha256(access_token.encode()).digest()[:16]
            claims["at_hash"] = b64(digest)
        return self.forge(claims)


def signed_token_forge(**changes: Any) -> Callable[[dict[str, Any]], str]:
    """A forge that signs the claims correctly after changing some (None removes one)."""
    from joserfc import jwt

    from tests.providers.servers import signing_key

    def forge(claims: dict[str, Any]) -> str:
        for name, value in changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, signing_key("k1"))

    return forge


def google_like_claims() -> dict[str, Any]:
    return dict(payload("google_id_token.json"), aud="client-1", azp="client-1")


def oidc_provider(fake: FakeProvider, name: str = "corp", **extra: Any) -> Provider:
    return OpenIDConnect(
        name,
        {
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
            "server_metadata_url": f"{fake.base_url}/.well-known/openid-configuration",
            **extra,
        },
    )


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")

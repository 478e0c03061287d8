"""Forged and broken ID tokens (OIDC Core §3.1.3.7, the OpenID RP tests ``rp-id_token-*``,
``rp-nonce-invalid``, ``rp-userinfo-bad-sub-claim``), each through a whole sign-in against a
local issuer that counts its endpoints: a refused token goes no further than the token call."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from flask import Flask, jsonify
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from social_auth import flow
from social_auth.errors import ProviderError
from social_auth.flow import FlowSettings, SignInResult
from social_auth.provider import MAX_ID_TOKEN_BYTES, Provider
from tests.issuers import CountingIssuer, b64, oidc_provider, raw_rs256
from tests.providers.conftest import callback_url
from tests.providers.servers import consent, serve, signing_key

Forge = Callable[[dict[str, Any]], str]


def sign_in(
    issuer: CountingIssuer, settings: FlowSettings, provider: Provider | None = None
) -> SignInResult:
    provider = provider or oidc_provider(issuer)
    started = flow.start(provider, callback_url(provider), settings=settings, draft="kept")
    params = consent(started.url)
    return flow.finish(
        provider, started.cookie_value, params, callback_url(provider), settings=settings
    )


def refused(
    issuer: CountingIssuer,
    settings: FlowSettings,
    forge: Forge,
    match: str,
    provider: Provider | None = None,
) -> None:
    issuer.forge = forge
    with pytest.raises(ProviderError, match=match) as info:
        sign_in(issuer, settings, provider)
    assert info.value.status == 502 and info.value.draft == "kept"
    assert issuer.hits["token"] == 1, "the token endpoint is called exactly once"
    assert issuer.hits["userinfo"] == 0, "nothing is asked about a user no valid token named"


def signed(key_id: str = "k1", header: dict[str, Any] | None = None, **changes: Any) -> Forge:
    def forge(claims: dict[str, Any]) -> str:
        for name, value in changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        key = signing_key(key_id)
        return jwt.encode({"alg": "RS256", "kid": "k1", **(header or {})}, claims, key)

    return forge


def test_a_valid_token_signs_in_and_then_asks_userinfo(issuer, settings):
    result = sign_in(issuer, settings)
    assert result.profile.subject == "110169484474386276334"
    assert issuer.hits["token"] == 1 and issuer.hits["userinfo"] == 1


def test_token_signed_by_another_key_under_the_issuers_kid_is_refused(issuer, settings):
    refused(issuer, settings, signed("k-attacker"), "signature does not verify")


def test_alg_none_token_is_refused(issuer, settings):
    def forge(claims: dict[str, Any]) -> str:
        header = {"alg": "none", "kid": "k1"}
        return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."

    refused(issuer, settings, forge, "algorithm we do not accept")


def test_hs256_token_keyed_with_the_issuers_public_key_is_refused(issuer, settings):
    public_pem = signing_key("k1").public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def forge(claims: dict[str, Any]) -> str:
        signing_input = (
            f"{b64(json.dumps({'alg': 'HS256', 'kid': 'k1'}).encode())}."
            f"{b64(json.dumps(claims).encode())}"
        )
        mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64(mac)}"

    refused(issuer, settings, forge, "algorithm we do not accept")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"iss": "https://attacker.example"}, "another issuer"),
        ({"aud": "someone-else"}, "another client"),
        ({"aud": ["client-1", "someone-else"]}, "other clients"),
        ({"azp": "someone-else"}, "authorised for another client"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"iat": None}, "issue time"),
        ({"nonce": "a-nonce-from-another-sign-in"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"sub": None}, "without a subject"),
        ({"sub": ""}, "without a subject"),
    ],
    ids=[
        "wrong-iss",
        "wrong-aud",
        "extra-aud",
        "azp-mismatch",
        "expired",
        "no-iat",
        "wrong-nonce",
        "no-nonce",
        "no-sub",
        "empty-sub",
    ],
)
def test_token_with_bad_claims_is_refused(issuer, settings, changes, match):
    refused(issuer, settings, signed(**changes), match)


def test_replayed_id_token_from_an_earlier_sign_in_is_refused(issuer, settings):
    sign_in(issuer, settings)
    captured = issuer.issued_id_tokens[-1]
    issuer.hits.clear()
    refused(issuer, settings, lambda claims: captured, "at_hash|nonce")


def test_embedded_jwk_header_is_not_trusted(issuer, settings):
    attacker = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    jwk = attacker.as_dict(private=False)

    def forge(claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": "ES256", "kid": "k1", "jwk": jwk}, claims, attacker)

    refused(issuer, settings, forge, "signature does not verify")


def test_embedded_rsa_jwk_header_is_not_trusted(issuer, settings):
    attacker = signing_key("k-attacker")
    jwk = attacker.as_dict(private=False)

    def forge(claims: dict[str, Any]) -> str:
        return raw_rs256(attacker, {"alg": "RS256", "kid": "k1", "jwk": jwk}, claims)

    # joserfc refuses headers over 512 bytes before anything else: refused as malformed.
    refused(issuer, settings, forge, "signature does not verify|malformed")


def test_jku_header_pointing_elsewhere_is_never_fetched(issuer, settings):
    attacker = signing_key("k-attacker")
    attacker_app = Flask("attacker")
    fetched: list[str] = []

    @attacker_app.get("/jwks")
    def jwks() -> Any:
        fetched.append("jwks")
        return jsonify(KeySet([attacker]).as_dict(private=False))

    with serve(attacker_app) as base:

        def forge(claims: dict[str, Any]) -> str:
            header = {"alg": "RS256", "kid": "k-attacker", "jku": f"{base}/jwks"}
            return raw_rs256(attacker, header, claims)

        refused(issuer, settings, forge, "signature does not verify")
    assert fetched == []


@pytest.mark.parametrize(
    "extension",
    [
        {"crit": ["exp"], "exp": 1},
        {"crit": ["x-unknown"], "x-unknown": 1},
        {"crit": ["b64"], "b64": False},
    ],
    ids=["crit-exp", "crit-unknown", "unencoded-payload"],
)
def test_critical_header_extensions_are_refused(issuer, settings, extension):
    key = signing_key("k1")
    refused(
        issuer,
        settings,
        lambda claims: raw_rs256(key, {"alg": "RS256", "kid": "k1", **extension}, claims),
        # joserfc refuses unknown critical headers itself; ours names the problem for all three.
        "header extensions",
    )


def test_oversized_token_is_refused_before_it_is_parsed(issuer, settings):
    started = time.perf_counter()
    refused(
        issuer,
        settings,
        signed(padding="x" * (MAX_ID_TOKEN_BYTES + 1)),
        "oversized",
    )
    assert time.perf_counter() - started < 5


def test_unknown_kid_refetches_the_keys_once_then_refuses(issuer, settings):
    provider = oidc_provider(issuer)  # one long-lived instance, as in an app
    sign_in(issuer, settings, provider)
    assert issuer.hits["jwks"] == 1
    unknown = signed("k-attacker", header={"kid": "k-unknown"})
    issuer.hits.clear()
    refused(issuer, settings, unknown, "signature", provider)
    assert issuer.hits["jwks"] == 1, "one refetch for a kid it has not seen"
    issuer.hits.clear()
    refused(issuer, settings, signed("k-attacker", header={"kid": "k-2"}), "signature", provider)
    assert issuer.hits["jwks"] == 0, "a flood of made-up kids costs one fetch a minute"


def test_at_hash_for_another_access_token_is_refused(issuer, settings):
    refused(issuer, settings, signed(at_hash="AAAAAAAAAAAAAAAAAAAAAA"), "at_hash")


def test_userinfo_for_another_subject_is_refused(issuer, settings):
    issuer.userinfo = {"sub": "someone-else", "email": "victim@example.com", "email_verified": True}
    with pytest.raises(ProviderError, match="userinfo is for another user"):
        sign_in(issuer, settings)


def test_userinfo_cannot_override_the_tokens_claims(issuer, settings):
    issuer.userinfo = {
        "sub": "110169484474386276334",
        "email": "victim@example.com",
        "email_verified": True,
    }
    result = sign_in(issuer, settings)
    assert result.profile.email != "victim@example.com"

"""ID-token validation (OIDC Core §3.1.3.7) against a local issuer with a real JWKS endpoint."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from social_auth.errors import ProviderError, StateMismatch
from social_auth.provider import LEEWAY, MAX_KNOWN_HEADERS, Provider
from social_auth_providers.google import Google
from social_auth_providers.oidc import OpenIDConnect
from tests.providers.conftest import make_fake, make_provider, sign_in
from tests.providers.servers import FakeProvider, signing_key

NONCE = "n-0S6_WzA2Mj"


@pytest.fixture
def issuer() -> Iterator[FakeProvider]:
    with make_fake("google").running() as fake:
        yield fake


def oidc(fake: FakeProvider, cls: type[Provider] = OpenIDConnect, **extra: Any) -> Provider:
    settings = {
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "server_metadata_url": f"{fake.base_url}/.well-known/openid-configuration",
        **extra,
    }
    return cls("corp", settings)


def token(fake: FakeProvider, *, header: dict[str, Any] | None = None, **claims: Any) -> str:
    """A token the issuer signs, with claims changed (a value of None removes the claim)."""

    def hook(h: dict[str, Any], c: dict[str, Any]) -> None:
        h.update(header or {})
        for name, value in claims.items():
            if value is None:
                c.pop(name, None)
            else:
                c[name] = value

    fake.id_token_hook = hook
    try:
        return fake.make_id_token(nonce=NONCE)
    finally:
        fake.id_token_hook = None


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"


def claims_of(fake: FakeProvider) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": fake.base_url, "aud": fake.client_id, "iat": now, "exp": now + 600}
    return {**base, **(fake.id_token_claims or {}), "nonce": NONCE}


def test_a_valid_token_gives_its_claims(issuer):
    claims = oidc(issuer).validate_id_token(token(issuer), NONCE)
    assert claims["sub"] == "110169484474386276334" and claims["email_verified"] is True


def test_bad_signature_is_refused(issuer):
    other = signing_key("k-other")
    forged = issuer.make_id_token(nonce=NONCE, key=other).split(".")
    header = b64(json.dumps({"alg": "RS256", "kid": "k1"}).encode())
    with pytest.raises(ProviderError, match="signature"):
        oidc(issuer).validate_id_token(".".join([header, forged[1], forged[2]]), NONCE)


def test_a_known_header_on_a_tampered_payload_is_refused(issuer):
    provider = oidc(issuer)
    header, payload, signature = token(issuer).split(".")
    assert provider.validate_id_token(f"{header}.{payload}.{signature}", NONCE)["sub"]
    claims = {**claims_of(issuer), "sub": "someone-else"}
    tampered = b64(json.dumps(claims).encode())
    with pytest.raises(ProviderError, match="signature"):
        provider.validate_id_token(f"{header}.{tampered}.{signature}", NONCE)


def test_a_not_before_within_the_leeway_is_accepted(issuer):
    value = token(issuer, nbf=int(time.time()) + LEEWAY // 2)
    assert oidc(issuer).validate_id_token(value, NONCE)["sub"]


def test_headers_are_remembered_up_to_a_bound_and_all_still_verify(issuer):
    provider = oidc(issuer)
    for n in range(MAX_KNOWN_HEADERS + 8):  # an issuer varying its headers endlessly
        value = token(issuer, header={"typ": f"JWT{n}"})
        assert provider.validate_id_token(value, NONCE)["sub"]
    assert len(provider._verifiers) == MAX_KNOWN_HEADERS


def test_alg_none_is_refused(issuer):
    value = unsigned({"alg": "none", "kid": "k1"}, claims_of(issuer)) + "."
    with pytest.raises(ProviderError, match="algorithm"):
        oidc(issuer).validate_id_token(value, NONCE)


def test_hs256_signed_with_the_public_key_is_refused(issuer):
    public_pem = signing_key("k1").as_pem(private=False)
    body = unsigned({"alg": "HS256", "kid": "k1"}, claims_of(issuer))
    signature = hmac.new(public_pem, body.encode(), hashlib.sha256).digest()
    provider = oidc(issuer, id_token_algorithms=["HS256", "RS256"])  # even if a site asks
    with pytest.raises(ProviderError, match="algorithm"):
        provider.validate_id_token(f"{body}.{b64(signature)}", NONCE)


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"iss": "https://evil.example"}, "another issuer"),
        ({"iss": "accounts.google.com"}, "another issuer"),  # only the google adapter takes it
        ({"aud": "someone-else"}, "another client"),
        ({"aud": ["client-1", "someone-else"], "azp": "client-1"}, "other clients"),
        ({"azp": "someone-else"}, "authorised for another client"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"exp": None}, "expired"),
        ({"iat": None}, "issue time"),
        ({"iat": int(time.time()) + 3600}, "issue time"),
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
        ({"nbf": "soon"}, "not valid yet"),
        ({"nonce": "another-flow"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"sub": None}, "without a subject"),
        ({"sub": ""}, "without a subject"),
    ],
)
def test_bad_claims_are_refused(issuer, claims, message):
    with pytest.raises(ProviderError, match=message) as info:
        oidc(issuer).validate_id_token(token(issuer, **claims), NONCE)
    assert info.value.status == 502


def test_padded_or_plain_base64_segments_are_refused(issuer):
    good = token(issuer)
    header, payload, signature = good.split(".")
    provider = oidc(issuer)
    for bad in (
        f"{header}.{payload}.{signature}==",
        f"{header}=.{payload}.{signature}",
        f"{header}.{payload}.{signature.replace('-', '+').replace('_', '/')}",
        f"{header}.{payload}",
        f"{good}.{signature}",
        "ü" + good,
    ):
        with pytest.raises(ProviderError, match=r"malformed|signature"):
            provider.validate_id_token(bad, NONCE)
    assert provider.validate_id_token(good, NONCE)["sub"]


def signed_raw(header: dict[str, Any], claims: dict[str, Any], kid: str = "k1") -> str:
    """RS256 over whatever header we like (joserfc would refuse to make some of these)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    body = unsigned(header, claims)
    private = signing_key(kid).private_key
    assert private is not None
    signature = private.sign(body.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{body}.{b64(signature)}"


def test_a_critical_header_we_do_not_understand_is_refused(issuer):
    header = {"alg": "RS256", "kid": "k1", "crit": ["x-custom"], "x-custom": True}
    provider = oidc(issuer)
    assert provider.validate_id_token(signed_raw({"alg": "RS256", "kid": "k1"},
                                                 claims_of(issuer)), NONCE)["sub"]
    with pytest.raises(ProviderError, match="header extensions"):
        provider.validate_id_token(signed_raw(header, claims_of(issuer)), NONCE)


def test_a_header_with_more_than_alg_kid_typ_still_verifies_through_joserfc(issuer):
    provider = oidc(issuer)
    assert provider.validate_id_token(token(issuer, header={"cty": "JWT"}), NONCE)["sub"]
    forged = token(issuer, header={"cty": "JWT"}).rsplit(".", 1)[0] + "." + b64(b"x" * 256)
    with pytest.raises(ProviderError, match="signature"):
        provider.validate_id_token(forged, NONCE)


def test_a_key_published_for_encryption_or_another_algorithm_verifies_nothing(issuer):
    key = signing_key("k1")
    value = token(issuer)
    for params in ({"use": "enc"}, {"alg": "RS512"}):
        public = {**key.as_dict(private=False), "kid": "k1", **params}
        issuer.keys[:] = [type(key).import_key(public)]
        with pytest.raises(ProviderError, match="signature"):
            oidc(issuer).validate_id_token(value, NONCE)


def test_a_key_dropped_from_the_jwks_stops_verifying_after_the_refetch(issuer):
    provider = oidc(issuer)
    old = token(issuer)
    assert provider.validate_id_token(old, NONCE)["sub"]
    issuer.keys[:] = [signing_key("k2")]  # k1 retired, k2 in
    rotated = issuer.make_id_token(nonce=NONCE, key=signing_key("k2"))
    assert provider.validate_id_token(rotated, NONCE)["sub"]  # refetched
    with pytest.raises(ProviderError, match="signature"):
        provider.validate_id_token(old, NONCE)


def test_google_accepts_its_legacy_issuer_and_only_google(issuer):
    google = oidc(issuer, Google, issuer=issuer.base_url)
    assert google.validate_id_token(token(issuer, iss="accounts.google.com"), NONCE)["sub"]


def test_unknown_kid_refetches_the_keys_exactly_once(issuer):
    provider = oidc(issuer)
    provider.validate_id_token(token(issuer), NONCE)
    assert issuer.jwks_fetches == 1
    rotated = issuer.make_id_token(nonce=NONCE, key=signing_key("k-unpublished"))
    with pytest.raises(ProviderError, match="signature"):
        provider.validate_id_token(rotated, NONCE)
    assert issuer.jwks_fetches == 2
    with pytest.raises(ProviderError):  # a flood of unknown kids costs no more fetches
        provider.validate_id_token(rotated, NONCE)
    assert issuer.jwks_fetches == 2


def test_a_rotated_key_is_picked_up_by_the_refetch(issuer):
    provider = oidc(issuer)
    provider.validate_id_token(token(issuer), NONCE)
    issuer.keys.append(signing_key("k2"))
    rotated = issuer.make_id_token(nonce=NONCE, key=signing_key("k2"))
    assert provider.validate_id_token(rotated, NONCE)["sub"]
    assert issuer.jwks_fetches == 2
    provider.validate_id_token(token(issuer), NONCE)  # cached key set: no further fetch
    assert issuer.jwks_fetches == 2


def test_jwks_failure_is_a_provider_error(issuer):
    issuer.faults["jwks"] = "500"
    with pytest.raises(ProviderError, match=r"HTTP 500") as info:
        oidc(issuer).validate_id_token(token(issuer), NONCE)
    assert info.value.status == 502


def test_discovery_for_another_issuer_is_refused(issuer):
    provider = oidc(issuer, issuer=issuer.base_url + "/")  # trailing slashes count
    with pytest.raises(ProviderError, match="another issuer"):
        provider.validate_id_token(token(issuer), NONCE)


def test_a_replayed_id_token_is_refused(settings):
    fake = make_fake("google")
    assert fake.id_token_claims is not None
    del fake.id_token_claims["at_hash"]  # without it, only the nonce tells the flows apart
    with fake.running():
        provider = make_provider("google", fake)
        sign_in(provider, settings)
        fake.id_token_override = fake.issued_id_tokens[-1]  # an attacker replays it
        with pytest.raises(ProviderError, match="nonce"):
            sign_in(provider, settings)


def test_an_at_hash_for_another_access_token_is_refused(settings):
    fake = make_fake("google")
    fake.id_token_hook = lambda header, claims: claims.update(at_hash="HK6E_P6Dh8Y93mRNtsDB1Q")
    with fake.running(), pytest.raises(ProviderError, match="at_hash"):
        sign_in(make_provider("google", fake), settings)


def test_userinfo_for_another_subject_is_refused(settings):
    fake = make_fake("google")
    fake.userinfo = {"sub": "someone-else", "email": "mallory@example.com"}
    with fake.running(), pytest.raises(ProviderError, match="another user"):
        sign_in(oidc(fake), settings)


def test_an_issuer_advertising_rfc9207_must_send_iss(settings):
    fake = make_fake("google")
    fake.discovery_extra = {"authorization_response_iss_parameter_supported": True}
    with fake.running():
        with pytest.raises(StateMismatch, match="who issued it"):
            sign_in(make_provider("google", fake), settings)
        fake.response_iss = fake.base_url
        assert sign_in(make_provider("google", fake), settings).profile.subject

"""ID token: Authlib's ``parse_id_token`` vs a bare RS256 signature check, on the same token.

The bare check is what no validator can beat: one RSA-2048 PKCS#1 v1.5 verification with
``cryptography`` over the token's signing input. Authlib's side is its real
``OpenIDMixin.parse_id_token`` (JWKS import, JWS decode, ``CodeIDToken`` claims validation with
issuer, audience, nonce and expiry), fed by a client whose metadata already holds the JWKS, so no
network is involved.

Ours (``ours()``) is ``Provider.validate_id_token`` of an instance built from the same issuer,
client id and JWKS, as after its first sign-in: every check runs per call (alphabet, size, alg
allow-list, signature, iss, aud/azp, exp/iat/nbf, nonce, sub); what it keeps between calls is what
a provider instance keeps (the key set, and each JOSE header with the key resolved for it).
"""

from __future__ import annotations

import base64
import time
import warnings
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .harness import Context, interleave, ratio_of

ISSUER = "https://issuer.example"
CLIENT_ID = "blog-client"
NONCE = "n-0S6_WzA2Mj"


def make_token() -> tuple[str, rsa.RSAPublicKey, dict[str, Any]]:
    """A signed ID token, the public key, and the JWKS publishing it."""
    from joserfc import jwt
    from joserfc.jwk import KeySet, RSAKey

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key = RSAKey.import_key(pem, {"kid": "k1", "use": "sig", "alg": "RS256"})
    now = int(time.time())
    claims = {
        "iss": ISSUER, "aud": CLIENT_ID, "sub": "110169484474386276334", "nonce": NONCE,
        "iat": now, "exp": now + 3600, "email": "jane@example.com", "email_verified": True,
        "name": "Jane Doe",
    }
    token = jwt.encode({"alg": "RS256", "kid": "k1", "typ": "JWT"}, claims, key)
    jwks = KeySet([key]).as_dict(private=False)
    return token, private.public_key(), jwks


def bare_rs256(public_key: rsa.RSAPublicKey) -> Callable[[str], None]:
    def verify(token: str) -> None:
        signing_input, _, signature = token.rpartition(".")
        sig = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        public_key.verify(sig, signing_input.encode("ascii"), padding.PKCS1v15(),
                          hashes.SHA256())

    return verify


def authlib_parse_id_token(jwks: dict[str, Any]) -> Callable[[str], Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from authlib.integrations.base_client.sync_openid import OpenIDMixin

    class Client(OpenIDMixin):  # type: ignore[misc]
        client_id = CLIENT_ID
        server_metadata = {
            "issuer": ISSUER,
            "jwks": jwks,
            "id_token_signing_alg_values_supported": ["RS256"],
        }

        def load_server_metadata(self) -> dict[str, Any]:
            return self.server_metadata

    client = Client()

    def parse(token: str) -> Any:
        return client.parse_id_token({"access_token": "at", "id_token": token}, nonce=NONCE)

    return parse


def ours(jwks: dict[str, Any]) -> Callable[[str], Any] | None:
    """``Provider.validate_id_token`` of an ``oidc`` provider instance whose discovery document
    and key set are already cached (as after its first sign-in), so no network is involved."""
    from joserfc.jwk import KeySet

    from social_auth.provider import Provider

    class Issuer(Provider):
        name = "bench-oidc"
        protocol = "oidc"

    provider = Issuer("corp", {"client_id": CLIENT_ID, "client_secret": "s",
                               "server_metadata_url": f"{ISSUER}/.well-known/openid-configuration"})
    provider._metadata = {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks"}
    provider._keys = KeySet.import_key_set(jwks)

    def validate(token: str) -> Any:
        return provider.validate_id_token(token, NONCE)

    return validate


def run(ctx: Context) -> None:
    token, public_key, jwks = make_token()
    bare = bare_rs256(public_key)
    authlib = authlib_parse_id_token(jwks)
    claims = authlib(token)
    assert claims["sub"] == "110169484474386276334"
    fns: dict[str, Callable[[], Any]] = {
        "rs256": lambda: bare(token),
        "authlib": lambda: authlib(token),
    }
    mine = ours(jwks)
    if mine is not None:
        fns["ours"] = lambda: mine(token)
    timings = interleave(fns, rounds=ctx.rounds(25), calls=ctx.calls(100))
    authlib_vs_bare = ratio_of("authlib/rs256", timings["authlib"], timings["rs256"])
    ctx.detail("id_token_authlib_vs_rs256", authlib_vs_bare.as_json())
    ctx.record("authlib_parse_id_token_us", timings["authlib"].median * 1e6,
               low=min(timings["authlib"].per_round) * 1e6,
               high=max(timings["authlib"].per_round) * 1e6,
               note=f"bare RS256 {timings['rs256'].median * 1e6:.1f} µs; "
                    f"{authlib_vs_bare.ratio:.1f}x it")
    ctx.record("rs256_verify_us", timings["rs256"].median * 1e6,
               low=min(timings["rs256"].per_round) * 1e6,
               high=max(timings["rs256"].per_round) * 1e6)
    if "ours" in timings:
        ratio = ratio_of("ours/rs256", timings["ours"], timings["rs256"])
        ctx.record("id_token_us", timings["ours"].median * 1e6,
                   low=min(timings["ours"].per_round) * 1e6,
                   high=max(timings["ours"].per_round) * 1e6, target="<= 50")
        ctx.record("id_token_ratio_to_rs256", ratio, target="<= 2.5")

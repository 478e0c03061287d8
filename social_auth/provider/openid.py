"""OpenID Connect on the provider base: discovery, the issuer's key set (kept as its
Cache-Control says) and ID-token validation (joserfc, the JOSE library Authlib is built on)."""

from __future__ import annotations

import binascii
import math
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from authlib.oidc.core.util import create_half_hash
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from werkzeug.datastructures import ResponseCacheControl
from werkzeug.http import parse_cache_control_header

from .core import ProviderBase, decode_json

#: Algorithms an ID token may be signed with unless an adapter narrows the list. Asymmetric only:
#: ``none`` and HS* (which would let anyone holding the public key forge a token) never appear.
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
#: Clock skew tolerated on ``exp``, ``iat`` and ``nbf``.
LEEWAY = 60
#: An unknown ``kid`` refetches the JWKS at most once per this many seconds.
JWKS_REFETCH_INTERVAL = 60.0
#: Seconds a fetched JWKS is kept: its ``Cache-Control: max-age`` (less its ``Age``), or the
#: default when it names none; never less than the floor (``no-store`` or ``max-age=0`` would
#: otherwise mean a fetch per sign-in), never more than the cap (a year's max-age would keep a
#: withdrawn key verifying all that time).
JWKS_MAX_AGE_DEFAULT = 3600.0
JWKS_MAX_AGE_FLOOR = 60.0
JWKS_MAX_AGE_CAP = 86400.0
#: Larger ID tokens are refused before parsing (real ones are 1-8 KiB, even with many claims).
MAX_ID_TOKEN_BYTES = 64 * 1024
#: JOSE headers remembered with their resolved key, per provider instance.
MAX_KNOWN_HEADERS = 32


class OpenIDMixin(ProviderBase):
    """What ``protocol = "oidc"`` adds: endpoints from the discovery document, the ``nonce``,
    and the ID token that must come with the access token. Other protocols pass through."""

    #: Further accepted ``iss`` values besides the discovered issuer (Google's legacy one).
    legacy_issuers: ClassVar[tuple[str, ...]] = ()
    #: The algorithms an ID token may use.
    id_token_algorithms: ClassVar[tuple[str, ...]] = ASYMMETRIC_ALGORITHMS
    #: How long the issuer's keys are kept, and how often an unknown ``kid`` may
    #: refetch them (seconds; the ``JWKS_*`` constants).
    jwks_max_age_default: ClassVar[float] = JWKS_MAX_AGE_DEFAULT
    jwks_max_age_floor: ClassVar[float] = JWKS_MAX_AGE_FLOOR
    jwks_max_age_cap: ClassVar[float] = JWKS_MAX_AGE_CAP
    jwks_refetch_interval: ClassVar[float] = JWKS_REFETCH_INTERVAL

    def __init__(self, instance_name: str, settings: Mapping[str, Any]) -> None:
        super().__init__(instance_name, settings)
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        # When the keys go stale (``time.monotonic()``); each fetch sets it. Until the first
        # there are no keys to expire.
        self._keys_expire_at = math.inf
        self._keys_refetched_at = -self.jwks_refetch_interval
        self._registry: jws.JWSRegistry | None = None
        #: A JOSE header segment seen before -> its alg, joserfc's algorithm and the key.
        self._verifiers: dict[bytes, tuple[str, Any, Any]] = {}
        self._algorithms = self.allowed_algorithms()

    # -- where the protocol differs from plain OAuth 2.0 ----------------------------------

    def oidc_endpoint(self, setting: str, metadata_key: str) -> str:
        if self.protocol == "oidc" and not self.settings.get(setting):
            return str(self.metadata().get(metadata_key) or "")
        return super().oidc_endpoint(setting, metadata_key)

    def authorization_params(
        self, redirect_uri: str, state: str, code_verifier: str, nonce: str
    ) -> dict[str, str]:
        params = super().authorization_params(redirect_uri, state, code_verifier, nonce)
        if self.protocol == "oidc":
            params["nonce"] = nonce
        return params

    def expected_response_issuer(self) -> tuple[str, bool]:
        if self.protocol == "oidc":
            metadata = self.metadata()
            return metadata["issuer"], bool(
                metadata.get("authorization_response_iss_parameter_supported")
            )
        return super().expected_response_issuer()

    def token_claims(self, token: Mapping[str, Any], nonce: str) -> dict[str, Any]:
        if self.protocol != "oidc":
            return super().token_claims(token, nonce)
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise self.error("did not return an ID token")
        return self.validate_id_token(id_token, nonce, str(token["access_token"]))

    # -- discovery and keys ---------------------------------------------------------------

    def expected_issuer(self) -> str:
        """The issuer the discovery document must name exactly (OIDC Discovery 1.0 §4.3)."""
        configured = str(self.settings.get("issuer") or "")
        if configured:
            return configured
        suffix = "/.well-known/openid-configuration"
        url = self.endpoint("server_metadata_url")
        return url[: -len(suffix)] if url.endswith(suffix) else url

    def metadata(self) -> dict[str, Any]:
        """The discovery document, fetched once per provider instance."""
        if self._metadata is None:
            document = self.json_of(self.request("GET", self.endpoint("server_metadata_url")))
            if not isinstance(document, dict):
                raise self.error("published a malformed discovery document")
            if document.get("issuer") != self.expected_issuer():
                raise self.error("published a discovery document for another issuer")
            self._metadata = document
        return self._metadata

    def key_set(self, kid: str | None) -> KeySet:
        """The issuer's keys, kept as long as their ``Cache-Control`` says (``jwks_lifetime``),
        so a key the issuer withdrew stops verifying once that time is up; an unknown ``kid``
        refetches them sooner, rate-limited, so a key rotation is picked up at once while a
        flood of made-up kids costs one fetch a minute. A failed refetch fails the sign-in:
        expired keys are never used."""
        with self._lock:
            keys, now = self._keys, time.monotonic()
            if keys is not None and now < self._keys_expire_at:
                if kid is None or any(k.kid == kid for k in keys):
                    return keys
                if now - self._keys_refetched_at < self.jwks_refetch_interval:
                    return keys  # the token's kid stays unknown and it is refused
                self._keys_refetched_at = now
        jwks_uri = str(self.metadata().get("jwks_uri") or "")
        if not jwks_uri:
            raise self.error("publishes no signing keys")
        answer = self.request("GET", jwks_uri)
        document = self.json_of(answer)
        try:
            keys = KeySet.import_key_set(document)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise self.error("published malformed signing keys") from exc
        lifetime = self.jwks_lifetime(answer.headers)
        with self._lock:
            self._keys = keys
            self._keys_expire_at = time.monotonic() + lifetime
            self._verifiers = {}
        return keys

    def jwks_lifetime(self, headers: Mapping[str, str]) -> float:
        """Seconds a key set stays fresh (RFC 9111 §4.2): ``max-age`` less ``Age``, nothing for
        ``no-store`` or ``no-cache``, ``jwks_max_age_default`` without either; always within
        ``jwks_max_age_floor`` and ``jwks_max_age_cap``."""
        control = parse_cache_control_header(headers.get("Cache-Control"), cls=ResponseCacheControl)
        if control.no_store or control.no_cache:
            fresh = 0.0
        elif control.max_age is None:
            fresh = self.jwks_max_age_default
        else:
            age = headers.get("Age", "")  # a cache on the way held it this long already
            fresh = control.max_age - (int(age) if _SECONDS.fullmatch(age) else 0)
        return min(max(fresh, self.jwks_max_age_floor), self.jwks_max_age_cap)

    def allowed_algorithms(self) -> tuple[str, ...]:
        """The adapter's list, narrowed by the ``id_token_algorithms`` setting; whatever is
        configured, only asymmetric algorithms survive."""
        wanted = self.settings.get("id_token_algorithms") or self.id_token_algorithms
        return tuple(a for a in wanted if a in ASYMMETRIC_ALGORITHMS)

    def validate_id_token(
        self, id_token: str, nonce: str, access_token: str | None = None
    ) -> dict[str, Any]:
        """The claims of a valid ID token (OIDC Core §3.1.3.7), else a ``ProviderError``.
        With ``access_token``, an ``at_hash`` claim must match it (§3.1.3.8)."""
        if len(id_token) > MAX_ID_TOKEN_BYTES:
            raise self.error("returned an oversized ID token")
        try:
            raw = id_token.encode("ascii")
            # Only unpadded base64url and the two dots (RFC 7515 §2, §7.1), in one pass.
            if raw.translate(None, _COMPACT_ALPHABET):
                raise ValueError("not base64url")
            header_segment, payload_segment, signature_segment = raw.split(b".")
        except ValueError as exc:  # UnicodeEncodeError included
            raise self.error("returned a malformed ID token") from exc
        try:
            # Headers seen before keep their key only while the key set is fresh.
            fresh = time.monotonic() < self._keys_expire_at
            known = self._verifiers.get(header_segment) if fresh else None
            verifier = known or self._verifier_for(header_segment)
            if verifier is None:
                alg, valid, payload = self._verify_fully(raw)
            else:
                alg, algorithm, key = verifier
                signing_input = raw[: len(header_segment) + 1 + len(payload_segment)]
                valid = algorithm.verify(signing_input, _b64url(signature_segment), key)
                payload = _b64url(payload_segment)
        except (JoseError, ValueError) as exc:
            raise self.error("returned an ID token whose signature does not verify") from exc
        if not valid:
            raise self.error("returned an ID token whose signature does not verify")
        try:
            claims = decode_json(payload.decode())
        except ValueError as exc:
            raise self.error("returned a malformed ID token") from exc
        if not isinstance(claims, dict):
            raise self.error("returned a malformed ID token")
        if access_token is not None and "at_hash" in claims:
            expected = create_half_hash(access_token, alg)
            if expected is None or not secrets.compare_digest(
                str(claims["at_hash"]), expected.decode()
            ):
                raise self.error("returned an ID token for another access token (at_hash)")
        return self.check_id_token_claims(claims, nonce)

    def _verifier_for(self, header_segment: bytes) -> tuple[str, Any, Any] | None:
        """Check a JOSE header seen for the first time. A header of only ``alg``, ``kid`` and
        ``typ`` strings leaves joserfc's header checks nothing to refuse: its key is resolved and
        checked against the algorithm (use "sig", key type, the key's own ``alg``) by joserfc
        once, and kept with the header until the keys change, so a token only costs its
        signature. Any other header gives None: joserfc checks each such token in full."""
        try:
            header = decode_json(_b64url(header_segment).decode())
        except ValueError as exc:
            raise self.error("returned a malformed ID token") from exc
        if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
            raise self.error("returned a malformed ID token")
        alg = header["alg"]
        if alg not in self._algorithms:
            raise self.error("signed its ID token with an algorithm we do not accept")
        # An ID token never needs critical extensions (RFC 7515 §4.1.11) nor an unencoded
        # payload (RFC 7797); refusing them keeps the payload exactly what was signed.
        if "crit" in header or "b64" in header:
            raise self.error("used JOSE header extensions we do not accept in its ID token")
        if not (
            header.keys() <= _PLAIN_HEADER and all(isinstance(v, str) for v in header.values())
        ):
            return None  # jku, x5u, jwk, cty…: joserfc's full parsing and header checks
        kid = header.get("kid")
        keys = self.key_set(kid)
        key = keys.get_by_kid(kid) if kid else _only_key(keys)
        algorithm = self._jws_registry().get_alg(alg)
        algorithm.check_key(key)
        verifier = (alg, algorithm, key)
        with self._lock:
            # Not if a refetch replaced the keys meanwhile; and a bounded number, whatever the
            # issuer sends (real ones use a handful of headers: one per signing key).
            if self._keys is keys and len(self._verifiers) < MAX_KNOWN_HEADERS:
                self._verifiers[header_segment] = verifier
        return verifier

    def _verify_fully(self, raw: bytes) -> tuple[str, bool, bytes]:
        """joserfc's own checks and verification: the algorithm, whether it verifies, the
        payload."""
        signed = jws.extract_compact(raw)
        kid = signed.headers().get("kid")
        keys = self.key_set(kid)
        key = keys.get_by_kid(kid) if kid else _only_key(keys)
        valid = jws.validate_compact(signed, key, registry=self._jws_registry())
        return str(signed.headers()["alg"]), valid, signed.payload

    def _jws_registry(self) -> jws.JWSRegistry:
        """Built once: constructing it costs as much as a verification."""
        if self._registry is None:
            self._registry = jws.JWSRegistry(algorithms=list(self._algorithms))
        return self._registry

    def check_id_token_claims(self, claims: dict[str, Any], nonce: str) -> dict[str, Any]:
        if claims.get("iss") not in (self.metadata()["issuer"], *self.legacy_issuers):
            raise self.error("returned an ID token from another issuer")
        client_id = self.client_id
        audience = claims.get("aud")
        if audience != client_id:  # else the usual single audience, ours
            if not isinstance(audience, list) or client_id not in audience:
                raise self.error("returned an ID token meant for another client")
            # Audiences we do not know of could use the same token to act as this user elsewhere.
            if any(a != client_id for a in audience):
                raise self.error("returned an ID token that is also meant for other clients")
        if "azp" in claims and claims["azp"] != client_id:
            raise self.error("returned an ID token authorised for another client")
        now = time.time()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, _NUMBER) or exp + LEEWAY < now:
            raise self.error("returned an expired ID token")
        if not isinstance(iat, _NUMBER) or iat - LEEWAY > now:
            raise self.error("returned an ID token without a valid issue time")
        if "nbf" in claims and (
            not isinstance(claims["nbf"], _NUMBER) or claims["nbf"] - LEEWAY > now
        ):
            raise self.error("returned an ID token that is not valid yet (nbf)")
        if not nonce or not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise self.error("returned an ID token for another sign-in (nonce)")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise self.error("returned an ID token without a subject")
        return claims


#: An ``Age`` header worth reading (RFC 9111 §5.1: digits; longer ones are nonsense).
_SECONDS = re.compile(r"[0-9]{1,10}")
#: What a JSON number is once parsed.
_NUMBER = (int, float)
#: Header parameters a token may carry and still skip joserfc's per-token header checks.
_PLAIN_HEADER = frozenset({"alg", "kid", "typ"})
#: What a JWS compact serialisation is made of: base64url characters and dots.
_COMPACT_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
_TO_STANDARD_B64 = bytes.maketrans(b"-_", b"+/")


def _b64url(segment: bytes) -> bytes:
    """Unpadded base64url (RFC 7515 §2) of a segment already known to hold only base64url
    characters; a length one over a multiple of 4 raises (``binascii.Error``, a ValueError)."""
    return binascii.a2b_base64(segment.translate(_TO_STANDARD_B64) + b"==")


def _only_key(keys: KeySet) -> Any:
    """A token without ``kid`` is accepted only when the issuer publishes exactly one key."""
    candidates = list(keys)
    if len(candidates) != 1:
        raise ValueError("no kid and several keys")
    return candidates[0]

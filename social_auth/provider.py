"""Provider base, the normalised ``Profile`` every adapter returns, and the calls to providers.

An adapter is data (endpoints, scopes, capabilities) plus one ``profile(token, api)`` function.
This module does the protocol around it: the authorization URL (state, PKCE S256, nonce), the
OAuth 2.0 code exchange (RFC 6749 §4.1.3), OAuth 1.0a request tokens and signatures (signed by
Authlib's transport-free ``ClientAuth``), OpenID Connect discovery and ID-token validation
(joserfc, the JOSE library Authlib is built on, with a cached key set). Every call goes through
one ``Transport`` per provider instance (urllib3 connection pools: keep-alive, TLS verified, our
timeout), and every failure of the provider becomes a ``ProviderError`` with status 502 (or 504
for a timeout).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urljoin

from authlib.oauth1 import ClientAuth
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core.util import create_half_hash
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from urllib3.exceptions import HTTPError, NewConnectionError
from urllib3.exceptions import TimeoutError as HTTPTimeoutError
from werkzeug.datastructures import ResponseCacheControl
from werkzeug.http import parse_cache_control_header

from .errors import ConfigError, ProviderError
from .profile import Capabilities as Capabilities
from .profile import EmailVerification as EmailVerification
from .profile import Profile as Profile
from .profile import web_url as web_url
from .transport import MAX_ANSWER_BYTES, Answer, AnswerTooLarge, Transport

Protocol = Literal["oauth1", "oauth2", "oidc", "local"]

#: Settings every adapter accepts so sites behind proxies, and tests, can point it elsewhere.
ENDPOINT_OVERRIDES = (
    "authorize_url",
    "access_token_url",
    "request_token_url",
    "api_base_url",
    "server_metadata_url",
    "userinfo_endpoint",
)

#: Algorithms an ID token may be signed with unless an adapter narrows the list. Asymmetric only:
#: ``none`` and HS* (which would let anyone holding the public key forge a token) never appear.
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
DEFAULT_TIMEOUT = 5.0
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
#: How long (seconds) a provider that failed to answer is shown as unavailable in the block.
UNAVAILABLE_FOR = 60.0
#: Larger ID tokens are refused before parsing (real ones are 1-8 KiB, even with many claims).
MAX_ID_TOKEN_BYTES = 64 * 1024
#: JOSE headers remembered with their resolved key, per provider instance.
MAX_KNOWN_HEADERS = 32
USER_AGENT = "flask-social-auth"
TOKEN_REQUEST_FAILED = "could not be reached or refused the token request"
#: How a client may authenticate at the token endpoint (RFC 6749 §2.3.1; OIDC Core §9).
TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")


@dataclass(frozen=True)
class AuthorizationRequest:
    """What ``Provider.authorization_request`` made: where to send the browser, and what the
    callback must echo (``state``, or an OAuth 1.0a request token) plus secrets to keep."""

    url: str
    state: str
    extra: Mapping[str, str] = field(default_factory=dict)


class Api:
    """What an adapter's ``profile`` function may use: the token, validated ID-token claims, and
    GET helpers that authenticate, time out and turn any failure into a ``ProviderError``."""

    def __init__(
        self,
        provider: Provider,
        token: Mapping[str, Any],
        claims: Mapping[str, Any],
        base_url: str = "",
    ) -> None:
        self.provider = provider
        self.token = token
        #: Relative endpoints (the ``dev`` provider's) resolve against this (the callback URL).
        self.base_url = base_url
        #: Claims of the validated ID token (empty for plain OAuth).
        self.claims = claims

    def get_json(
        self, url: str, params: Mapping[str, str] | None = None, *, optional: bool = False
    ) -> Any:
        """GET an API URL (absolute, or relative to ``api_base_url``) with the user's token;
        ``optional``: a 4xx answer gives ``None`` instead of failing the sign-in."""
        absolute = self.provider.api_url(url, self.base_url)
        return self.provider.get_json(absolute, self.token, params, optional=optional)

    def userinfo(self) -> dict[str, Any]:
        """The OIDC userinfo response; its ``sub`` must be the ID token's (OIDC Core §5.3.2)."""
        url = self.provider.userinfo_url()
        if not url:
            return {}
        info = self.get_json(urljoin(self.base_url, url))
        if not isinstance(info, dict) or info.get("sub") != self.claims.get("sub"):
            raise self.provider.error("its userinfo is for another user than its ID token")
        return info


class Provider:
    """One configured provider instance: class data from the adapter, settings from the app."""

    #: Adapter name used in ``SOCIAL_AUTH_PROVIDERS[...]["provider"]`` and entry points.
    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    icon: ClassVar[str] = ""
    protocol: ClassVar[Protocol] = "oauth2"
    capabilities: ClassVar[Capabilities] = Capabilities(returns_email=False, email_verified="never")
    #: Settings without which the adapter cannot work.
    required_settings: ClassVar[tuple[str, ...]] = ("client_id", "client_secret")
    #: Settings the adapter understands beyond the required ones and the endpoint overrides.
    optional_settings: ClassVar[tuple[str, ...]] = ("scope", "title", "timeout")

    # Endpoints; each can be overridden by the setting of the same name.
    authorize_url: ClassVar[str] = ""
    access_token_url: ClassVar[str] = ""
    request_token_url: ClassVar[str] = ""
    api_base_url: ClassVar[str] = ""
    server_metadata_url: ClassVar[str] = ""
    userinfo_endpoint: ClassVar[str] = ""

    scope: ClassVar[str] = ""
    #: Send a PKCE S256 challenge (every provider that accepts it).
    pkce: ClassVar[bool] = True
    #: How the client authenticates at the token endpoint.
    token_endpoint_auth_method: ClassVar[str] = "client_secret_basic"
    #: Extra query parameters of the authorization URL.
    authorize_params: ClassVar[Mapping[str, str]] = {}
    #: The RFC 9207 ``iss`` a plain OAuth 2.0 provider puts on its callback, if any.
    response_issuer: ClassVar[str] = ""
    #: OIDC: further accepted ``iss`` values besides the discovered issuer (Google's legacy one).
    legacy_issuers: ClassVar[tuple[str, ...]] = ()
    #: OIDC: the algorithms an ID token may use.
    id_token_algorithms: ClassVar[tuple[str, ...]] = ASYMMETRIC_ALGORITHMS
    #: OIDC: how long the issuer's keys are kept, and how often an unknown ``kid`` may
    #: refetch them (seconds; the ``JWKS_*`` constants).
    jwks_max_age_default: ClassVar[float] = JWKS_MAX_AGE_DEFAULT
    jwks_max_age_floor: ClassVar[float] = JWKS_MAX_AGE_FLOOR
    jwks_max_age_cap: ClassVar[float] = JWKS_MAX_AGE_CAP
    jwks_refetch_interval: ClassVar[float] = JWKS_REFETCH_INTERVAL

    def __init__(self, instance_name: str, settings: Mapping[str, Any]) -> None:
        self.instance_name = instance_name
        self.settings = dict(settings)
        self.settings.pop("provider", None)
        self._validate_settings()
        self._lock = threading.Lock()
        self._http: Transport | None = None
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
        self._failed_at: float | None = None

    @property
    def available(self) -> bool:
        """False for a while after the provider failed to answer (unreachable, timeout, 5xx),
        so the comment block can say so; the next successful call clears it. Per process."""
        failed_at = self._failed_at
        return failed_at is None or time.monotonic() - failed_at > UNAVAILABLE_FOR

    @property
    def display_title(self) -> str:
        """The name shown on the icon: a site may rename an instance (``"title"``)."""
        return str(self.settings.get("title") or self.title or self.instance_name)

    def _validate_settings(self) -> None:
        key = f"SOCIAL_AUTH_PROVIDERS[{self.instance_name!r}]"
        for required in self.required_settings:
            if not self.settings.get(required):
                raise ConfigError(key, f"the {self.name!r} provider needs {required!r}")
        known = set(self.required_settings) | set(self.optional_settings) | set(ENDPOINT_OVERRIDES)
        unknown = sorted(set(self.settings) - known)
        if unknown:
            raise ConfigError(key, f"unknown setting(s) {', '.join(map(repr, unknown))}")
        if self.token_endpoint_auth_method not in TOKEN_ENDPOINT_AUTH_METHODS:
            raise ConfigError(
                key, f"the {self.name!r} adapter's token_endpoint_auth_method is unknown"
            )
        timeout = self.settings.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigError(key, "'timeout' must be a positive number of seconds")

    # -- the adapter's part ---------------------------------------------------------------

    def profile(self, token: Mapping[str, Any], api: Api) -> Profile:
        """Turn what the provider returned into a ``Profile``; every adapter implements this."""
        raise NotImplementedError

    # -- settings and HTTP ----------------------------------------------------------------

    @property
    def client_id(self) -> str:
        return str(self.settings.get("client_id", ""))

    @property
    def client_secret(self) -> str:
        return str(self.settings.get("client_secret", ""))

    @property
    def timeout(self) -> float:
        """Seconds one whole call may take (connect, send, headers, body): a provider hanging
        or trickling never holds a worker longer."""
        return float(self.settings.get("timeout", DEFAULT_TIMEOUT))

    def endpoint(self, name: str) -> str:
        """An endpoint URL: the setting of that name when a site overrides it, else the default."""
        return str(self.settings.get(name) or getattr(self, name))

    def requested_scope(self) -> str:
        return str(self.settings.get("scope") or self.scope)

    @property
    def http(self) -> Transport:
        """The provider instance's connections, shared by every sign-in (keep-alive)."""
        with self._lock:
            if self._http is None:
                self._http = Transport(self.timeout)
            return self._http

    def error(self, problem: str, *, status: int = 502) -> ProviderError:
        return ProviderError(self.instance_name, f"{self.display_title} {problem}.", status=status)

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        failure: str = "",
    ) -> Answer:
        """One call to the provider within its deadline, the answer read whole (up to
        ``MAX_ANSWER_BYTES``); network failures and 5xx raise, saying ``failure`` if given
        (else "could not be reached" or "failed (HTTP n)")."""
        sent = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        try:
            response = self.http.request(method, url, body, sent)
        except AnswerTooLarge as exc:
            raise self.error(f"answered with more than {MAX_ANSWER_BYTES / 2**20:g} MiB") from exc
        except ValueError as exc:
            # http.client refuses a header or URL with control characters in it: an access
            # token or endpoint the provider sent us with a newline, say.
            raise self.error("sent a token or address that cannot be used") from exc
        except (HTTPError, OSError) as exc:
            self._failed_at = time.monotonic()
            # A refused connection is a NewConnectionError, which urllib3 derives from its
            # connect-timeout error: only a real timeout is a 504.
            if isinstance(exc, HTTPTimeoutError) and not isinstance(exc, NewConnectionError):
                raise self.error("did not answer in time", status=504) from exc
            raise self.error(failure or "could not be reached") from exc
        if response.status >= 500:
            self._failed_at = time.monotonic()
            raise self.error(failure or f"failed (HTTP {response.status})")
        self._failed_at = None
        return response

    def json_of(self, response: Answer) -> Any:
        """The JSON body of a successful answer; HTML, errors and malformed JSON raise."""
        if response.status >= 400:
            raise self.error(f"refused the request (HTTP {response.status})")
        if response.status >= 300:
            raise self.error(f"answered with a redirect (HTTP {response.status}), not followed")
        if "json" not in response.headers.get("Content-Type", ""):
            raise self.error("answered with something other than JSON")
        try:
            return decode_json(response.data)
        except ValueError as exc:
            raise self.error("answered with malformed JSON") from exc

    def get_json(
        self,
        url: str,
        token: Mapping[str, Any],
        params: Mapping[str, str] | None = None,
        *,
        optional: bool = False,
    ) -> Any:
        """GET ``url`` authenticated with ``token`` (Bearer, or OAuth 1.0a signature)."""
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params, quote_via=quote)}"
        headers: dict[str, str] = {}
        if self.protocol == "oauth1":
            signer = ClientAuth(
                self.client_id,
                client_secret=self.client_secret,
                token=token.get("oauth_token"),
                token_secret=token.get("oauth_token_secret"),
            )
            url, headers, _ = signer.prepare("GET", url, headers, b"")
        else:
            headers["Authorization"] = f"Bearer {token['access_token']}"
        response = self.request("GET", url, headers=headers)
        if optional and 400 <= response.status < 500:
            return None
        return self.json_of(response)

    def api_url(self, url: str, base_url: str = "") -> str:
        """``url`` resolved against ``api_base_url`` (which ends with a slash), itself resolved
        against ``base_url`` when relative (the ``dev`` provider's)."""
        return urljoin(urljoin(base_url, self.endpoint("api_base_url")), url)

    # -- OpenID Connect -------------------------------------------------------------------

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

    def oidc_endpoint(self, setting: str, metadata_key: str) -> str:
        if self.settings.get(setting):
            return str(self.settings[setting])
        if self.protocol == "oidc":
            return str(self.metadata().get(metadata_key) or "")
        return str(getattr(self, setting))

    def userinfo_url(self) -> str:
        return self.oidc_endpoint("userinfo_endpoint", "userinfo_endpoint")

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

    # -- the protocol ---------------------------------------------------------------------

    def authorization_request(
        self, redirect_uri: str, state: str, code_verifier: str, nonce: str
    ) -> AuthorizationRequest:
        """Where to send the browser to ask the user's consent (``response_type=code``)."""
        if self.protocol == "oauth1":
            return self._oauth1_authorization_request(redirect_uri)
        endpoint = self.oidc_endpoint("authorize_url", "authorization_endpoint")
        # The adapter's extras first: none of them can replace a parameter the protocol needs.
        params: dict[str, str] = {
            **self.authorize_params,
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
        }
        scope = self.requested_scope()
        if scope:
            params["scope"] = scope
        params["state"] = state
        if self.pkce:
            params["code_challenge"] = create_s256_code_challenge(code_verifier)
            params["code_challenge_method"] = "S256"
        if self.protocol == "oidc":
            params["nonce"] = nonce
        return AuthorizationRequest(_with_query(urljoin(redirect_uri, endpoint), params), state)

    def _oauth1_authorization_request(self, redirect_uri: str) -> AuthorizationRequest:
        signer = ClientAuth(self.client_id, self.client_secret, redirect_uri=redirect_uri)
        token = self._oauth1_token(self.endpoint("request_token_url"), signer)
        request_token, secret = token.get("oauth_token"), token.get("oauth_token_secret")
        if not request_token or not secret:
            raise self.error("did not return a request token")
        params = {"oauth_token": request_token, "oauth_callback": redirect_uri}
        url = _with_query(self.endpoint("authorize_url"), params)
        return AuthorizationRequest(url, request_token, {"token_secret": secret})

    def expected_response_issuer(self) -> tuple[str, bool]:
        """RFC 9207: the ``iss`` the callback may carry, and whether it must carry it."""
        if self.protocol == "oidc":
            metadata = self.metadata()
            return metadata["issuer"], bool(
                metadata.get("authorization_response_iss_parameter_supported")
            )
        return self.response_issuer, False

    def complete(
        self,
        params: Mapping[str, str],
        redirect_uri: str,
        *,
        code_verifier: str,
        nonce: str,
        extra: Mapping[str, str],
    ) -> Profile:
        """Exchange what the callback carried for a token and turn it into a ``Profile``."""
        if self.protocol == "oauth1":
            return self._oauth1_complete(params, extra)
        code = params.get("code")
        if not code:
            raise self.error("sent no authorization code")
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if self.pkce:
            form["code_verifier"] = code_verifier
        endpoint = self.oidc_endpoint("access_token_url", "token_endpoint")
        token = self.fetch_token(urljoin(redirect_uri, endpoint), form)
        if not token.get("access_token"):
            raise self.error("did not return an access token")
        claims: dict[str, Any] = {}
        if self.protocol == "oidc":
            id_token = token.get("id_token")
            if not isinstance(id_token, str):
                raise self.error("did not return an ID token")
            claims = self.validate_id_token(id_token, nonce, str(token["access_token"]))
        return self.profile(token, Api(self, token, claims, redirect_uri))

    def fetch_token(self, url: str, form: Mapping[str, str]) -> dict[str, Any]:
        """POST a token request (RFC 6749 §4.1.3), the client authenticated the adapter's way,
        and return the token response; refusals and unreadable answers raise."""
        form = dict(form)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        method = self.token_endpoint_auth_method
        if method == "client_secret_basic":
            # RFC 6749 §2.3.1: each part form-urlencoded before joining and base64.
            pair = f"{quote_plus(self.client_id)}:{quote_plus(self.client_secret)}"
            headers["Authorization"] = f"Basic {base64.b64encode(pair.encode()).decode()}"
        elif method == "client_secret_post":
            form.update(client_id=self.client_id, client_secret=self.client_secret)
        else:  # "none": a public client names itself (checked at init)
            form["client_id"] = self.client_id
        response = self.request(
            "POST",
            url,
            body=urlencode(form).encode(),
            headers=headers,
            failure=TOKEN_REQUEST_FAILED,
        )
        try:
            token = decode_json(response.data)
        except ValueError:
            token = None
        # GitHub answers a refusal with HTTP 200 and an error; others with 400 or 401.
        if isinstance(token, dict) and "error" in token:
            error = token["error"] if isinstance(token["error"], str) else "error"
            raise self.error(f"refused the sign-in ({error[:100]})")
        if not isinstance(token, dict) or response.status >= 300:
            raise self.error("refused the token request or answered it unreadably")
        return token

    def _oauth1_complete(self, params: Mapping[str, str], extra: Mapping[str, str]) -> Profile:
        verifier = params.get("oauth_verifier")
        if not verifier:
            raise self.error("sent no OAuth verifier")
        signer = ClientAuth(
            self.client_id,
            self.client_secret,
            token=params.get("oauth_token"),
            token_secret=extra.get("token_secret"),
            verifier=verifier,
        )
        token = self._oauth1_token(self.endpoint("access_token_url"), signer)
        if not token.get("oauth_token") or not token.get("oauth_token_secret"):
            raise self.error("did not return an access token")
        return self.profile(token, Api(self, token, {}))

    def _oauth1_token(self, url: str, signer: Any) -> dict[str, Any]:
        """POST a signed OAuth 1.0a token request (RFC 5849 §2.1, §2.3); the answer is a form
        (or, from some servers, JSON)."""
        url, headers, _ = signer.prepare("POST", url, {}, b"")
        response = self.request("POST", url, headers=headers, failure=TOKEN_REQUEST_FAILED)
        try:
            if response.status >= 300:
                raise ValueError(f"HTTP {response.status}")
            text = response.data.decode().strip()
            token = (
                decode_json(text)
                if text.startswith("{")
                else dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True))
            )
            if not isinstance(token, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            raise self.error("refused the token request or answered it unreadably") from exc
        return token


#: An ``Age`` header worth reading (RFC 9111 §5.1: digits; longer ones are nonsense).
_SECONDS = re.compile(r"[0-9]{1,10}")
#: What a JSON number is once parsed.
_NUMBER = (int, float)
#: Header parameters a token may carry and still skip joserfc's per-token header checks.
_PLAIN_HEADER = frozenset({"alg", "kid", "typ"})
#: What a JWS compact serialisation is made of: base64url characters and dots.
_COMPACT_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
_TO_STANDARD_B64 = bytes.maketrans(b"-_", b"+/")
#: JSON text to a value; what ``json.loads`` does for a str, without its checks per call.
_json_decode = json.JSONDecoder().decode


def decode_json(text: str | bytes) -> Any:
    """A provider's JSON (an answer, an ID token's header or payload); malformed text raises
    ValueError, and so does JSON nested past the parser's recursion limit (a thousand ``[``
    make the C parser raise RecursionError, which nothing above would catch)."""
    try:
        return _json_decode(text) if isinstance(text, str) else json.loads(text)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


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


def _with_query(url: str, params: Mapping[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params, quote_via=quote)}"


def new_secret() -> str:
    """A random value for state, nonce and PKCE verifiers: 48 URL-safe characters, 288 bits
    (RFC 7636 §4.1 asks 43 to 128 unreserved characters of a verifier)."""
    return secrets.token_urlsafe(36)

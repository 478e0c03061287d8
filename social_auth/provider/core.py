"""The provider base: settings and their checks, the OAuth 2.0 authorization URL and code
exchange, calls through the transport, and the ``Api`` an adapter reads from. OpenID Connect
and OAuth 1.0a extend it through the methods marked "Hook" (``openid``, ``oauth1``)."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from urllib.parse import quote, quote_plus, urlencode, urljoin

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from urllib3.exceptions import HTTPError, NewConnectionError
from urllib3.exceptions import TimeoutError as HTTPTimeoutError

from ..errors import ConfigError, ProviderError
from ..profile import Capabilities, Profile
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
DEFAULT_TIMEOUT = 5.0
#: How long (seconds) a provider that failed to answer is shown as unavailable in the block.
UNAVAILABLE_FOR = 60.0
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
        provider: ProviderBase,
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


class ProviderBase:
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

    def __init__(self, instance_name: str, settings: Mapping[str, Any]) -> None:
        self.instance_name = instance_name
        self.settings = dict(settings)
        self.settings.pop("provider", None)
        self._validate_settings()
        self._lock = threading.Lock()
        self._http: Transport | None = None
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
        known |= {"fedcm", "one_tap"}  # browser-run sign-ins, checked by web.fedcm
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
            url = with_query(url, params)
        url, headers = self.authenticated_get(url, token)
        response = self.request("GET", url, headers=headers)
        if optional and 400 <= response.status < 500:
            return None
        return self.json_of(response)

    def authenticated_get(self, url: str, token: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
        """Hook: URL and headers of a GET with the user's token (Bearer; OAuth 1.0a signs)."""
        return url, {"Authorization": f"Bearer {token['access_token']}"}

    def api_url(self, url: str, base_url: str = "") -> str:
        """``url`` resolved against ``api_base_url`` (which ends with a slash), itself resolved
        against ``base_url`` when relative (the ``dev`` provider's)."""
        return urljoin(urljoin(base_url, self.endpoint("api_base_url")), url)

    def oidc_endpoint(self, setting: str, metadata_key: str) -> str:
        """Hook: the ``setting`` a site overrides, else the adapter's (OpenID: discovered)."""
        if self.settings.get(setting):
            return str(self.settings[setting])
        return str(getattr(self, setting))

    def userinfo_url(self) -> str:
        return self.oidc_endpoint("userinfo_endpoint", "userinfo_endpoint")

    # -- the protocol ---------------------------------------------------------------------

    def authorization_request(
        self, redirect_uri: str, state: str, code_verifier: str, nonce: str
    ) -> AuthorizationRequest:
        """Where to send the browser to ask the user's consent (``response_type=code``)."""
        endpoint = self.oidc_endpoint("authorize_url", "authorization_endpoint")
        params = self.authorization_params(redirect_uri, state, code_verifier, nonce)
        return AuthorizationRequest(with_query(urljoin(redirect_uri, endpoint), params), state)

    def authorization_params(
        self, redirect_uri: str, state: str, code_verifier: str, nonce: str
    ) -> dict[str, str]:
        """Hook: the query of the authorization URL (OpenID adds its ``nonce``)."""
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
        return params

    def expected_response_issuer(self) -> tuple[str, bool]:
        """RFC 9207: the ``iss`` the callback may carry, and whether it must carry it."""
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
        claims = self.token_claims(token, nonce)
        return self.profile(token, Api(self, token, claims, redirect_uri))

    def token_claims(self, token: Mapping[str, Any], nonce: str) -> dict[str, Any]:
        """Hook: the validated claims that came with a token (OpenID's ID token); none here."""
        return {}

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
        body = urlencode(form).encode()
        response = self.request(
            "POST", url, body=body, headers=headers, failure=TOKEN_REQUEST_FAILED
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


def with_query(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` added to its query string (percent-encoded, spaces as %20)."""
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params, quote_via=quote)}"


def new_secret() -> str:
    """A random value for state, nonce and PKCE verifiers: 48 URL-safe characters, 288 bits
    (RFC 7636 §4.1 asks 43 to 128 unreserved characters of a verifier)."""
    return secrets.token_urlsafe(36)

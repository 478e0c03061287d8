"""OAuth 1.0a on the provider base: request and access tokens (RFC 5849 §2) and signed GETs,
signed by Authlib's transport-free ``ClientAuth``. Other protocols pass through."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import parse_qsl

from authlib.oauth1 import ClientAuth

from ..profile import Profile
from .core import (
    TOKEN_REQUEST_FAILED,
    Api,
    AuthorizationRequest,
    ProviderBase,
    decode_json,
    with_query,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's own from Python 3.12


class KeptForCallback(TypedDict):
    """What the flow kept for the callback, as ``ProviderBase.complete`` names it; OAuth 1.0a
    reads only ``extra`` (the request token's secret)."""

    code_verifier: str
    nonce: str
    extra: Mapping[str, str]


class OAuth1Mixin(ProviderBase):
    """What ``protocol = "oauth1"`` replaces: the request token before the browser leaves, the
    verifier exchanged for an access token, and a signature on every API call."""

    def authorization_request(
        self, redirect_uri: str, state: str, code_verifier: str, nonce: str
    ) -> AuthorizationRequest:
        if self.protocol != "oauth1":
            return super().authorization_request(redirect_uri, state, code_verifier, nonce)
        signer = ClientAuth(self.client_id, self.client_secret, redirect_uri=redirect_uri)
        token = self._oauth1_token(self.endpoint("request_token_url"), signer)
        request_token, secret = token.get("oauth_token"), token.get("oauth_token_secret")
        if not request_token or not secret:
            raise self.error("did not return a request token")
        params = {"oauth_token": request_token, "oauth_callback": redirect_uri}
        url = with_query(self.endpoint("authorize_url"), params)
        return AuthorizationRequest(url, request_token, {"token_secret": secret})

    def complete(
        self, params: Mapping[str, str], redirect_uri: str, **kept: Unpack[KeptForCallback]
    ) -> Profile:
        if self.protocol != "oauth1":
            return super().complete(params, redirect_uri, **kept)
        extra = kept["extra"]
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

    def authenticated_get(self, url: str, token: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
        if self.protocol != "oauth1":
            return super().authenticated_get(url, token)
        signer = ClientAuth(
            self.client_id,
            client_secret=self.client_secret,
            token=token.get("oauth_token"),
            token_secret=token.get("oauth_token_secret"),
        )
        signed_url, headers, _ = signer.prepare("GET", url, {}, b"")
        return signed_url, headers

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

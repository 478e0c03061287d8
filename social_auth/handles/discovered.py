"""A provider found by discovery for one sign-in (``Discovered``): what discovery found is its
settings, which travel in the flow cookie (signed) to the callback, and every call it makes
goes through the safe fetcher, never the provider transport (the server is the visitor's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from urllib3 import HTTPHeaderDict

from ..errors import FetchRefused, ProviderError
from ..fetch import SafeFetcher
from ..provider import USER_AGENT, Answer, AuthorizationRequest, Provider


class Discovered(Provider):
    """Base of the handle protocols' providers; ``name`` is the identities' provider name."""

    required_settings: ClassVar[tuple[str, ...]] = ()
    #: Settings discovery fills in beyond the endpoint overrides (all strings).
    optional_settings: ClassVar[tuple[str, ...]] = (
        "client_id",
        "issuer",
        "me",
        "server",
        "scope",
        "title",
        "timeout",
    )
    token_endpoint_auth_method: ClassVar[str] = "none"  # noqa: S105 - a method name

    def __init__(self, settings: Mapping[str, Any], fetcher: SafeFetcher) -> None:
        super().__init__(self.name, {k: v for k, v in settings.items() if v != ""})
        self.fetcher = fetcher

    def discovered(self) -> dict[str, str]:
        """What the callback needs to rebuild this provider (``flow`` signs it in)."""
        return {k: str(v) for k, v in self.settings.items() if k != "timeout"}

    def authorization_request(
        self, redirect_uri: str, state: str, code_verifier: str, nonce: str
    ) -> AuthorizationRequest:
        made = super().authorization_request(redirect_uri, state, code_verifier, nonce)
        return AuthorizationRequest(made.url, made.state, self.discovered())

    def code_form(
        self, params: Mapping[str, str], redirect_uri: str, code_verifier: str
    ) -> dict[str, str]:
        """The code-redemption form of a callback (RFC 6749 §4.1.3 with PKCE's verifier)."""
        code = params.get("code")
        if not code:
            raise self.error("sent no authorization code")
        return {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        failure: str = "",
    ) -> Answer:
        """One call through the safe fetcher (a GET with a token follows no redirect)."""
        sent = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        try:
            if method == "GET":
                follow = "Authorization" not in sent
                fetched = self.fetcher.get(
                    url, headers=sent, deadline=self.timeout, follow_redirects=follow
                )
            else:
                fetched = self.fetcher.post(
                    url, data=body or b"", headers=sent, deadline=self.timeout
                )
        except FetchRefused as exc:
            raise ProviderError(self.instance_name, exc.message, status=exc.status) from exc
        if fetched.status >= 500:
            raise self.error(failure or f"failed (HTTP {fetched.status})")
        return Answer(fetched.status, HTTPHeaderDict(fetched.headers), fetched.body)

"""Google (OpenID Connect).

Follows developers.google.com/identity/openid-connect/reference as of 2026-09: discovery at
``accounts.google.com``, ID-token claims ``sub email email_verified name picture hd``. Google
also issues ``iss=accounts.google.com`` (no scheme) "for legacy implementations", accepted here
and only here. ``sub`` is the key; the email is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from social_auth.provider import Api, Capabilities, Profile, Provider


class Google(Provider):
    name = "google"
    title = "Google"
    icon = "google"
    protocol = "oidc"
    capabilities = Capabilities(returns_email=True, email_verified="claim")
    optional_settings = ("scope", "title", "timeout", "issuer")
    server_metadata_url = "https://accounts.google.com/.well-known/openid-configuration"
    scope = "openid email profile"
    legacy_issuers = ("accounts.google.com",)
    id_token_algorithms = ("RS256",)

    def expected_issuer(self) -> str:
        return str(self.settings.get("issuer") or "https://accounts.google.com")

    def profile(self, token: Mapping[str, Any], api: Api) -> Profile:
        claims = dict(api.claims)
        if "email" not in claims or "name" not in claims:
            # Google puts both in the ID token for these scopes; an issuer standing in for it
            # (a proxy, a test server) may keep them at userinfo.
            claims = {**api.userinfo(), **claims}
        email = claims.get("email") or None
        return Profile(
            provider=self.instance_name,
            subject=str(claims["sub"]),
            display_name=str(claims.get("name") or ""),
            email=email,
            email_verified=bool(email and claims.get("email_verified") is True),
            avatar_url=claims.get("picture"),
            raw=claims,
        )

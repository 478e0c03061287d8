"""Any OpenID Connect issuer, found through its discovery document (``server_metadata_url``).

Follows OpenID Connect Core 1.0 (errata set 2) and Discovery 1.0: the document's ``issuer`` must
equal the configured issuer exactly (by default, ``server_metadata_url`` without
``/.well-known/openid-configuration``). Claims come from the ID token, completed by userinfo.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from social_auth.provider import Api, Capabilities, Profile, Provider


class OpenIDConnect(Provider):
    name = "oidc"
    title = "OpenID Connect"
    icon = "openid"
    protocol = "oidc"
    capabilities = Capabilities(returns_email=True, email_verified="claim")
    required_settings = ("client_id", "client_secret", "server_metadata_url")
    optional_settings = ("scope", "title", "timeout", "issuer", "id_token_algorithms")
    scope = "openid email profile"

    def profile(self, token: Mapping[str, Any], api: Api) -> Profile:
        claims = {**api.userinfo(), **api.claims}
        email = claims.get("email") or None
        return Profile(
            provider=self.instance_name,
            subject=str(claims["sub"]),
            display_name=str(claims.get("name") or claims.get("preferred_username") or ""),
            email=email,
            email_verified=bool(email and claims.get("email_verified") is True),
            username=claims.get("preferred_username"),
            avatar_url=claims.get("picture"),
            profile_url=claims.get("profile"),
            raw=claims,
        )

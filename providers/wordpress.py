"""WordPress.com (OAuth 2.0, ``/rest/v1.1/me``).

Payload shapes follow developer.wordpress.com/docs/oauth2/ and the v1.1 ``/me`` reference as of
2026-09. ``email_verified`` is the email flag; ``verified`` only means a Connect-verified account.
The legacy ``/oauth2/`` endpoints do not document PKCE, so none is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from social_auth.provider import Api, Capabilities, Profile, Provider


class WordPress(Provider):
    name = "wordpress"
    title = "WordPress.com"
    icon = "wordpress"
    protocol = "oauth2"
    capabilities = Capabilities(returns_email=True, email_verified="api_field")
    authorize_url = "https://public-api.wordpress.com/oauth2/authorize"
    access_token_url = "https://public-api.wordpress.com/oauth2/token"
    api_base_url = "https://public-api.wordpress.com/rest/v1.1/"
    scope = "auth"
    pkce = False
    token_endpoint_auth_method = "client_secret_post"

    def profile(self, token: Mapping[str, Any], api: Api) -> Profile:
        me = api.get_json("me")
        if not isinstance(me, dict) or me.get("ID") in (None, ""):
            raise self.error("returned a profile without an ID")
        email = me.get("email") or None
        return Profile(
            provider=self.instance_name,
            subject=str(me["ID"]),
            display_name=str(me.get("display_name") or me.get("username") or ""),
            email=email,
            email_verified=bool(email and me.get("email_verified") is True),
            username=me.get("username"),
            avatar_url=me.get("avatar_URL"),
            profile_url=me.get("profile_URL"),
            raw=me,
        )

"""X through OAuth 2.0 with PKCE (``/2/users/me``).

Follows the X developer docs (xdevplatform/docs, 2026-08: ``oauth-2-0/user-access-token.mdx``,
``changelog.mdx`` 2025-04-03 for ``confirmed_email``). PKCE is mandatory; confidential clients
authenticate with HTTP Basic. Email comes only as ``confirmed_email`` (scope ``users.email``,
plus the app's "Request email" setting); nothing else is ever taken as an email.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from social_auth.provider import Api, Capabilities, Profile, Provider


class X(Provider):
    name = "x"
    title = "X"
    icon = "x"
    protocol = "oauth2"
    # Pay-per-use since 2026-02-06: each sign-in's /2/users/me is a billed "User: Read".
    capabilities = Capabilities(
        returns_email=True, email_verified="api_field", paid_tier=True, api_version="2"
    )
    authorize_url = "https://x.com/i/oauth2/authorize"
    access_token_url = "https://api.x.com/2/oauth2/token"
    api_base_url = "https://api.x.com/2/"
    scope = "tweet.read users.read users.email"
    token_endpoint_auth_method = "client_secret_basic"

    def profile(self, token: Mapping[str, Any], api: Api) -> Profile:
        fields = {"user.fields": "profile_image_url,verified,confirmed_email"}
        body = api.get_json("users/me", fields)
        user = body.get("data") if isinstance(body, dict) else None
        if not isinstance(user, dict) or not user.get("id"):
            raise self.error("returned a profile without an id")
        email = user.get("confirmed_email") or None
        username = user.get("username")
        return Profile(
            provider=self.instance_name,
            subject=str(user["id"]),
            display_name=str(user.get("name") or username or ""),
            email=email,
            email_verified=bool(email),
            username=username,
            avatar_url=user.get("profile_image_url"),
            profile_url=f"https://x.com/{username}" if username else None,
            raw=user,
        )

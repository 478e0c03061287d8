"""GitHub OAuth apps.

Follows docs.github.com REST v2022-11-28 (``/user``, ``/user/emails``) and the GitHub changelog:
PKCE S256 since 2025-07-14, and since 2026-04 the callback carries RFC 9207
``iss=https://github.com/login/oauth``. The key is the numeric ``id`` (``login`` can change); the
email is the entry of ``/user/emails`` that is both primary and verified.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from social_auth.provider import Api, Capabilities, Profile, Provider


class GitHub(Provider):
    name = "github"
    title = "GitHub"
    icon = "github"
    protocol = "oauth2"
    capabilities = Capabilities(returns_email=True, email_verified="api_field")
    authorize_url = "https://github.com/login/oauth/authorize"
    access_token_url = "https://github.com/login/oauth/access_token"
    api_base_url = "https://api.github.com/"
    scope = "read:user user:email"
    token_endpoint_auth_method = "client_secret_post"
    response_issuer = "https://github.com/login/oauth"

    def profile(self, token: Mapping[str, Any], api: Api) -> Profile:
        user = api.get_json("user")
        if not isinstance(user, dict) or user.get("id") in (None, ""):
            raise self.error("returned a profile without an id")
        # Optional: a 404 or 403 happens without the user:email grant; sign in without an email.
        emails = api.get_json("user/emails", optional=True)
        verified = [
            e
            for e in (emails if isinstance(emails, list) else [])
            if isinstance(e, dict) and e.get("primary") and e.get("verified") is True
        ]
        primary = verified[0] if verified else None
        return Profile(
            provider=self.instance_name,
            subject=str(user["id"]),
            display_name=str(user.get("name") or user.get("login") or ""),
            email=primary["email"] if primary else None,
            email_verified=primary is not None,
            username=user.get("login"),
            avatar_url=user.get("avatar_url"),
            profile_url=user.get("html_url"),
            raw=user,
        )

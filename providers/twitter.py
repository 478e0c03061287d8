"""Twitter / X through OAuth 1.0a ("Sign in with X").

Follows the X developer docs (xdevplatform/docs, 2026-08): ``api.x.com/oauth/request_token``,
``/oauth/authenticate``, ``/oauth/access_token`` and ``1.1/account/verify_credentials.json`` with
``include_email=true``. The key is ``id_str`` (``id`` overflows 53-bit JSON numbers). X returns an
email only when the app has "Request email addresses" on, and only a verified one. v1.1 is marked
for deprecation and may need paid access: prefer the ``x`` adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from social_auth.provider import Api, Capabilities, Profile, Provider


class Twitter(Provider):
    name = "twitter"
    title = "X (Twitter)"
    icon = "x"
    protocol = "oauth1"
    capabilities = Capabilities(
        returns_email=True, email_verified="api_field", deprecated=True, paid_tier=True,
        api_version="1.1",
    )
    request_token_url = "https://api.x.com/oauth/request_token"
    authorize_url = "https://api.x.com/oauth/authenticate"
    access_token_url = "https://api.x.com/oauth/access_token"
    api_base_url = "https://api.x.com/1.1/"

    def profile(self, token: Mapping[str, Any], api: Api) -> Profile:
        params = {"include_email": "true", "skip_status": "true"}
        user = api.get_json("account/verify_credentials.json", params)
        if not isinstance(user, dict) or not user.get("id_str"):
            raise self.error("returned a profile without an id_str")
        email = user.get("email") or None
        screen_name = user.get("screen_name")
        return Profile(
            provider=self.instance_name,
            subject=str(user["id_str"]),
            display_name=str(user.get("name") or screen_name or ""),
            email=email,
            # X returns null unless the address is verified, so a value is a verified one.
            email_verified=bool(email),
            username=screen_name,
            avatar_url=user.get("profile_image_url_https"),
            profile_url=f"https://x.com/{screen_name}" if screen_name else None,
            raw=user,
        )

"""Facebook Login (Graph API, version configurable, default v25.0).

Follows developers.facebook.com Graph API v25.0 (2026): dialog at ``www.facebook.com/<v>/dialog/
oauth``, token at ``graph.facebook.com/<v>/oauth/access_token``, ``/me?fields=id,name,email,
picture`` with ``appsecret_proof`` (HMAC-SHA256 of the token keyed by the app secret). Facebook
has no email-verified flag, so its email is never taken as verified. The key is the app-scoped
``id``. The manual OIDC-with-PKCE flow is "still in testing", so the classic flow is used.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from social_auth.provider import Api, Capabilities, Profile, Provider

DEFAULT_VERSION = "v25.0"


class Facebook(Provider):
    name = "facebook"
    title = "Facebook"
    icon = "facebook"
    protocol = "oauth2"
    capabilities = Capabilities(
        returns_email=True, email_verified="never", business_verification=True,
        api_version=DEFAULT_VERSION, version_setting="graph_version",
        # Meta's changelog: v19.0 until 2026-05-21, v20.0 until 2026-09-24, v25.0 until 2028-07-29.
        end_of_life=(("v19.0", "2026-05-21"), ("v20.0", "2026-09-24"), ("v25.0", "2028-07-29")),
    )
    optional_settings = ("scope", "title", "timeout", "graph_version")
    scope = "email public_profile"
    pkce = False
    token_endpoint_auth_method = "client_secret_post"

    def endpoint(self, name: str) -> str:
        version = str(self.settings.get("graph_version") or DEFAULT_VERSION)
        defaults = {
            "authorize_url": f"https://www.facebook.com/{version}/dialog/oauth",
            "access_token_url": f"https://graph.facebook.com/{version}/oauth/access_token",
            "api_base_url": f"https://graph.facebook.com/{version}/",
        }
        return str(self.settings.get(name) or defaults.get(name) or super().endpoint(name))

    def profile(self, token: Mapping[str, Any], api: Api) -> Profile:
        access_token = str(token["access_token"])
        proof = hmac.new(self.client_secret.encode(), access_token.encode(), hashlib.sha256)
        params = {"fields": "id,name,email,picture", "appsecret_proof": proof.hexdigest()}
        me = api.get_json("me", params)
        if not isinstance(me, dict) or not me.get("id"):
            raise self.error("returned a profile without an id")
        picture = (me.get("picture") or {}).get("data") or {}
        return Profile(
            provider=self.instance_name,
            subject=str(me["id"]),
            display_name=str(me.get("name") or ""),
            email=me.get("email") or None,
            email_verified=False,
            avatar_url=None if picture.get("is_silhouette") else picture.get("url"),
            raw=me,
        )

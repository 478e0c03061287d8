"""Sign in with a Mastodon (or compatible) account: ``@user@server``.

WebFinger (RFC 7033) finds the account's actor URI, whose origin is the server. The server's
OAuth metadata (``/.well-known/oauth-authorization-server``, Mastodon 4.3+) names its
endpoints; older servers get the documented fixed ones. This site registers itself once per
server (``POST /api/v1/apps``, kept in ``store.mastodon_apps``, at most ``max_servers`` of
them, allow and deny lists first) and reuses that registration. The flow is the ordinary
authorization-code flow with PKCE S256; the identity comes from ``/oauth/userinfo`` (4.4+)
or ``verify_credentials``, and its subject is the actor URI, which must be on that server.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from ..errors import InvalidInput, ProviderError
from ..fetch import SafeFetcher
from ..profile import Capabilities, Profile
from ..provider import Api, decode_json
from ..store import IdentityStore
from ..store.mastodon_apps import MastodonApps, Registration
from .discovered import Discovered

NAME = "mastodon"
ACTIVITY_TYPES = ("application/activity+json", "application/ld+json")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def listed(host: str, domains: tuple[str, ...]) -> bool:
    """Whether ``host`` is one of ``domains`` or under one of them."""
    return any(host == d or host.endswith(f".{d}") for d in domains)


class Mastodon(Discovered):
    """One sign-in at one Mastodon server; settings from discovery, the secret from the store."""

    name = NAME
    title = "Mastodon"
    protocol = "oauth2"
    token_endpoint_auth_method: ClassVar[str] = "client_secret_post"  # noqa: S105
    capabilities: ClassVar[Capabilities] = Capabilities(returns_email=False, email_verified="never")
    apps: MastodonApps | None = None

    @classmethod
    def with_store(
        cls, settings: Mapping[str, Any], fetcher: SafeFetcher, store: IdentityStore
    ) -> Mastodon:
        made = cls(settings, fetcher)
        made.apps = MastodonApps(store)
        return made

    @property
    def client_secret(self) -> str:
        found = self.apps.find(str(self.settings.get("server"))) if self.apps else None
        if found is None or found.client_id != self.client_id:
            raise self.error("no longer knows this site's registration; please try again")
        return found.client_secret

    def expected_response_issuer(self) -> tuple[str, bool]:
        return str(self.settings.get("issuer", "")), False

    def complete(
        self,
        params: Mapping[str, str],
        redirect_uri: str,
        *,
        code_verifier: str,
        nonce: str,
        extra: Mapping[str, str],
    ) -> Profile:
        try:
            return super().complete(
                params, redirect_uri, code_verifier=code_verifier, nonce=nonce, extra=extra
            )
        except ProviderError as exc:
            if "invalid_client" in exc.message and self.apps is not None:
                self.apps.forget(str(self.settings.get("server")))  # re-registered next time
            raise

    def profile(self, token: Mapping[str, Any], api: Api) -> Profile:
        server = str(self.settings["server"])
        userinfo = self.settings.get("userinfo_endpoint")
        if userinfo:
            info = api.get_json(str(userinfo))
            issuer = self.settings.get("issuer")
            if not isinstance(info, dict) or (info.get("iss") and info.get("iss") != issuer):
                raise self.error("answered for another server")
            subject, name = info.get("sub"), info.get("name")
            username, url, avatar = (
                info.get("preferred_username"),
                info.get("profile"),
                info.get("picture"),
            )
        else:
            info = api.get_json("accounts/verify_credentials")
            if not isinstance(info, dict):
                raise self.error("sent an unreadable account")
            subject, name = info.get("uri"), info.get("display_name")
            username, url, avatar = info.get("username"), info.get("url"), info.get("avatar")
        if not isinstance(subject, str) or origin_of(subject) != server:
            # A server may only vouch for its own accounts, never another server's.
            raise self.error("named an account that is not on that server")
        host = urlsplit(server).netloc
        handle = f"{username}@{host}" if isinstance(username, str) and username else None
        return Profile(
            provider=NAME,
            subject=subject,
            display_name=str(name or handle or subject),
            username=handle,
            avatar_url=avatar if isinstance(avatar, str) else None,
            profile_url=url if isinstance(url, str) else None,
            raw={"server": server},
        )


def start(
    fetcher: SafeFetcher,
    store: IdentityStore,
    handle: str,
    options: Mapping[str, Any],
    *,
    redirect_uri: str,
    website: str,
) -> Mastodon:
    """Discover ``user@domain``'s server, make sure we are registered there, and return the
    sign-in's provider."""
    user, _, domain = handle.partition("@")
    if (":" in domain or "." not in domain) and not fetcher.allow_private:
        raise InvalidInput("handle", f"{domain} is not a Mastodon server's name.")
    scheme = "http" if fetcher.allow_private else "https"  # tests' local servers are plain HTTP
    _check_lists(domain, options)
    server = _webfinger(fetcher, f"{scheme}://{domain}", user, domain)
    _check_lists(urlsplit(server).hostname or "", options)
    settings = _metadata(fetcher, server)
    scopes = str(settings.pop("scope"))
    registration = _registration(
        fetcher,
        MastodonApps(store),
        server,
        settings.pop("app_registration_endpoint"),
        scopes=scopes,
        redirect_uri=redirect_uri,
        website=website,
        limit=int(options.get("max_servers", 1000)),
    )
    settings.update(scope=scopes, client_id=registration.client_id, server=server)
    return Mastodon.with_store(settings, fetcher, store)


def _check_lists(host: str, options: Mapping[str, Any]) -> None:
    host = host.lower().partition(":")[0]
    allow, deny = options.get("allow"), options.get("deny") or ()
    if listed(host, tuple(deny)) or (allow is not None and not listed(host, tuple(allow))):
        raise InvalidInput("handle", f"This site does not accept sign-ins from {host}.")


def _json(fetcher: SafeFetcher, url: str, accept: str = "application/json") -> Any:
    fetched = fetcher.get(url, headers={"Accept": accept})
    if not fetched.ok:
        return None
    try:
        return decode_json(fetched.body)
    except ValueError:
        return None


def _webfinger(fetcher: SafeFetcher, base: str, user: str, domain: str) -> str:
    """The origin of the server hosting ``user@domain``'s actor (WebFinger ``self`` link)."""
    resource = quote(f"acct:{user}@{domain}", safe=":@")
    jrd = _json(
        fetcher, f"{base}/.well-known/webfinger?resource={resource}", "application/jrd+json"
    )
    links = jrd.get("links") if isinstance(jrd, dict) else None
    for link in links if isinstance(links, list) else []:
        if (
            isinstance(link, dict)
            and link.get("rel") == "self"
            and link.get("type") in ACTIVITY_TYPES
        ):
            href = link.get("href")
            if isinstance(href, str) and href.startswith(("https://", "http://")):
                return origin_of(href)
    raise InvalidInput("handle", f"@{user}@{domain} was not found (no WebFinger answer).")


def _metadata(fetcher: SafeFetcher, server: str) -> dict[str, Any]:
    """The server's endpoints: its OAuth metadata (4.3+), or the documented older ones."""
    meta = _json(fetcher, f"{server}/.well-known/oauth-authorization-server")
    if not isinstance(meta, dict):
        return {
            "authorize_url": f"{server}/oauth/authorize",
            "access_token_url": f"{server}/oauth/token",
            "app_registration_endpoint": f"{server}/api/v1/apps",
            "api_base_url": f"{server}/api/v1/",
            "scope": "read:accounts",
        }
    found = {
        "issuer": meta.get("issuer"),
        "authorize_url": meta.get("authorization_endpoint"),
        "access_token_url": meta.get("token_endpoint"),
        "app_registration_endpoint": meta.get("app_registration_endpoint")
        or f"{server}/api/v1/apps",
        "userinfo_endpoint": meta.get("userinfo_endpoint") or "",
    }
    for value in found.values():
        # Endpoints on the server itself: a server cannot send our code or secret elsewhere.
        if value and (not isinstance(value, str) or origin_of(value) != server):
            raise ProviderError(NAME, f"The server {server} sent endpoints of another site.")
    if not (found["authorize_url"] and found["access_token_url"]):
        raise ProviderError(NAME, f"The server {server} sent incomplete OAuth metadata.")
    supported = meta.get("scopes_supported")
    profile = isinstance(supported, list) and "profile" in supported
    return {
        **found,
        "api_base_url": f"{server}/api/v1/",
        "scope": "profile" if profile else "read:accounts",
    }


def _registration(
    fetcher: SafeFetcher,
    apps: MastodonApps,
    server: str,
    endpoint: str,
    *,
    scopes: str,
    redirect_uri: str,
    website: str,
    limit: int,
) -> Registration:
    known = apps.find(server)
    if known is not None and known.usable(scopes, redirect_uri):
        return known
    if known is None and apps.count() >= limit:
        raise InvalidInput("handle", "This site cannot sign in with any more Mastodon servers.")
    body = {
        "client_name": urlsplit(website).netloc,
        "redirect_uris": [redirect_uri],
        "scopes": scopes,
        "website": website,
    }
    answer = fetcher.post(
        endpoint,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        made = decode_json(answer.body) if answer.ok else None
    except ValueError:
        made = None
    if not isinstance(made, dict) or not all(
        isinstance(made.get(k), str) and made.get(k) for k in ("client_id", "client_secret")
    ):
        raise ProviderError(NAME, f"The server {server} refused to register this site.")
    expires = made.get("client_secret_expires_at")
    expires_at = (
        datetime.fromtimestamp(expires, UTC) if isinstance(expires, int) and expires > 0 else None
    )
    if known is not None:
        apps.forget(server)
    return apps.keep(
        Registration(
            server, made["client_id"], made["client_secret"], scopes, redirect_uri, expires_at
        )
    )

"""Sign in with your own website: IndieAuth (Living Standard 2024-07-11).

Discovery (§4.1): the profile URL is fetched (redirects followed), its ``indieauth-metadata``
link (``Link`` header first, then HTML ``<link>``) names the server metadata, whose ``issuer``
must be a prefix of the metadata URL (§3.1) and which must offer PKCE S256. The sign-in is an
authorization-code flow with PKCE and the profile URL as ``me``; the callback's ``iss`` is
required and must be that issuer (§5.2.1, checked by ``flow``). The code is redeemed at the
authorization endpoint (§5.3.2), and the ``me`` it returns is discovered again: it must name
the same issuer and authorization endpoint (§5.4), or nothing is kept. Subject: that ``me``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from ..errors import InvalidInput, ProviderError
from ..fetch import SafeFetcher
from ..profile import Capabilities, Profile
from ..provider import decode_json
from .discovered import Discovered
from .links import find_link

NAME = "indieauth"
NO_SERVER = (
    "{site} does not name an IndieAuth server (a rel=\"indieauth-metadata\" link); "
    "sign in another way, or add one to your site."
)


@dataclass(frozen=True)
class SiteServer:
    """What discovery found for a profile URL."""

    me: str
    issuer: str
    authorization_endpoint: str


def profile_url(value: Any, *, relaxed: bool = False) -> str:
    """``value`` as a canonical IndieAuth profile URL (§3.2, §3.4), or ``InvalidInput``:
    http(s), a path (``/`` at least), no dot segments, fragment, user or password, port or IP
    address (the last two only with ``relaxed``, the tests' local servers)."""
    text = str(value or "").strip()
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    bad = (
        parts.scheme.lower() not in ("http", "https")
        or not host
        or parts.fragment
        or "#" in text
        or parts.username is not None
        or parts.password is not None
        or any(seg in (".", "..") for seg in parts.path.split("/"))
    )
    try:
        port = parts.port
    except ValueError:
        bad, port = True, None
    if bad or (not relaxed and (port is not None or _is_ip(host))):
        raise InvalidInput("handle", f"{text[:80]} is not an address IndieAuth can use.")
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def discover(fetcher: SafeFetcher, me: str) -> SiteServer:
    """The IndieAuth server a profile URL names (§4.1, §4.1.1)."""
    host = urlsplit(me).hostname or me
    page = fetcher.get(me, headers={"Accept": "text/html, application/xhtml+xml;q=0.9"})
    if not page.ok:
        raise InvalidInput("handle", f"{host} answered HTTP {page.status}; is the address right?")
    metadata_url = find_link(page, "indieauth-metadata")
    if metadata_url is None:
        raise InvalidInput("handle", NO_SERVER.format(site=host))
    answer = fetcher.get(metadata_url, headers={"Accept": "application/json"})
    try:
        metadata = decode_json(answer.body) if answer.ok else None
    except ValueError:
        metadata = None
    if not isinstance(metadata, dict):
        raise ProviderError(NAME, f"The IndieAuth server of {host} sent no readable metadata.")
    issuer, endpoint = metadata.get("issuer"), metadata.get("authorization_endpoint")
    methods = metadata.get("code_challenge_methods_supported") or []
    secure = fetcher.allow_private or str(issuer).startswith("https://")
    if not (isinstance(issuer, str) and isinstance(endpoint, str) and secure):
        raise ProviderError(NAME, f"The IndieAuth server of {host} sent incomplete metadata.")
    if not metadata_url.startswith(issuer) or urlsplit(issuer).query or "#" in issuer:
        raise ProviderError(NAME, f"The IndieAuth server of {host} names another issuer.")
    if not isinstance(methods, list) or "S256" not in methods:
        raise ProviderError(NAME, f"The IndieAuth server of {host} does not offer PKCE S256.")
    return SiteServer(me, issuer, endpoint)


class IndieAuth(Discovered):
    """One IndieAuth sign-in; settings: ``me``, ``issuer``, ``authorize_url``, ``client_id``."""

    name = NAME
    title = "website (IndieAuth)"
    protocol = "oauth2"
    scope = "profile"
    capabilities: ClassVar[Capabilities] = Capabilities(
        returns_email=False, email_verified="never"
    )

    @classmethod
    def start(cls, fetcher: SafeFetcher, typed: str, client_id: str) -> IndieAuth:
        me = profile_url(typed, relaxed=fetcher.allow_private)
        found = discover(fetcher, me)
        settings = {
            "me": me,
            "issuer": found.issuer,
            "authorize_url": found.authorization_endpoint,
            "client_id": client_id,
        }
        return cls(settings, fetcher)

    def expected_response_issuer(self) -> tuple[str, bool]:
        return str(self.settings.get("issuer", "")), True  # §5.2.1: always sent, always checked

    def authorization_params(
        self, redirect_uri: str, state: str, code_verifier: str, nonce: str
    ) -> dict[str, str]:
        params = super().authorization_params(redirect_uri, state, code_verifier, nonce)
        params["me"] = str(self.settings["me"])
        return params

    def complete(
        self,
        params: Mapping[str, str],
        redirect_uri: str,
        *,
        code_verifier: str,
        nonce: str,
        extra: Mapping[str, str],
    ) -> Profile:
        form = self.code_form(params, redirect_uri, code_verifier)
        answer = self.fetch_token(str(self.settings["authorize_url"]), form)
        try:
            me = profile_url(answer.get("me"), relaxed=self.fetcher.allow_private)
        except InvalidInput as exc:
            raise self.error("returned a profile address that is not valid") from exc
        self._confirm(me)
        return self._profile(me, answer.get("profile"))

    def _confirm(self, me: str) -> None:
        """§5.4: the returned ``me`` must itself name this server, whatever was typed."""
        try:
            found = discover(self.fetcher, me)
        except (InvalidInput, ProviderError) as exc:
            raise self.error(f"signed you in as {me}, which could not be confirmed") from exc
        same = (found.issuer, found.authorization_endpoint) == (
            self.settings.get("issuer"),
            self.settings.get("authorize_url"),
        )
        if not same:
            raise self.error(f"signed you in as {me}, but {me} names another server")

    def _profile(self, me: str, info: Any) -> Profile:
        host = urlsplit(me).hostname or me
        info = info if isinstance(info, dict) else {}
        name = info.get("name") if isinstance(info.get("name"), str) else ""
        photo = info.get("photo") if isinstance(info.get("photo"), str) else None
        short = me.split("://", 1)[1].rstrip("/")
        return Profile(
            provider=NAME,
            subject=me,
            display_name=name or short,
            username=short or host,
            avatar_url=photo,
            profile_url=me,
            raw={"me": me, "issuer": self.settings.get("issuer", "")},
        )

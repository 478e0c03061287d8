"""``SOCIAL_AUTH_HANDLES``: which handle sign-ins a site offers, read once at init.

``{"indieauth": {}, "mastodon": {"allow": [...], "deny": [...], "max_servers": 1000}}``: each
key switches one protocol on (the default is none, and then the block shows no field).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..config import config_key
from ..errors import ConfigError
from ..profile import Capabilities
from .cache import DiscoveryCache
from .parse import PROTOCOLS, Protocol

KEY = config_key("handles")
#: What each protocol is called on pages, and what it says about email.
TITLES: Mapping[Protocol, str] = {
    "bluesky": "Bluesky",
    "mastodon": "Mastodon",
    "indieauth": "website (IndieAuth)",
}
CAPABILITIES: Mapping[str, Capabilities] = {
    "bluesky": Capabilities(returns_email=True, email_verified="api_field"),
    "mastodon": Capabilities(returns_email=False, email_verified="never"),
    # IndieAuth's profile email is whatever the site's owner typed (spec §5.3.4): never trusted.
    "indieauth": Capabilities(returns_email=False, email_verified="never"),
}
_OPTIONS: Mapping[Protocol, frozenset[str]] = {
    "bluesky": frozenset({"plc_url", "private_key", "nameservers", "email"}),
    "mastodon": frozenset({"allow", "deny", "max_servers"}),
    "indieauth": frozenset(),
}
DEFAULT_MAX_SERVERS = 1000


@dataclass(frozen=True)
class HandleSettings:
    """The handle sign-ins a site offers and their options."""

    enabled: tuple[Protocol, ...] = ()
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Recent discoveries (per app; a few minutes each).
    cache: DiscoveryCache = field(default_factory=DiscoveryCache, compare=False, repr=False)

    def offers(self, protocol: str) -> bool:
        return protocol in self.enabled

    def titles(self) -> dict[str, str]:
        return {name: TITLES[name] for name in self.enabled}

    def option(self, protocol: Protocol, name: str, default: Any = None) -> Any:
        return self.options.get(protocol, {}).get(name, default)


def handle_settings(config: Mapping[str, Any], *, debug: bool = False) -> HandleSettings:
    """``SOCIAL_AUTH_HANDLES`` checked: known protocols, known options, lists of domains.
    Bluesky without a ``private_key`` is the atproto localhost development client: debug only."""
    value = config.get(KEY) or {}
    if not isinstance(value, Mapping):
        raise ConfigError(KEY, "must be a dict such as {'indieauth': {}, 'mastodon': {}}")
    enabled: list[Protocol] = []
    options: dict[str, Mapping[str, Any]] = {}
    for protocol in PROTOCOLS:
        if protocol not in value:
            continue
        chosen = value[protocol] if value[protocol] is not None else {}
        if not isinstance(chosen, Mapping):
            raise ConfigError(KEY, f"[{protocol!r}] must be a dict of options")
        unknown = sorted(set(chosen) - _OPTIONS[protocol])
        if unknown:
            raise ConfigError(KEY, f"[{protocol!r}] has unknown option(s) {unknown}")
        enabled.append(protocol)
        options[protocol] = _checked(protocol, dict(chosen), debug)
    extra = sorted(set(value) - set(PROTOCOLS))
    if extra:
        raise ConfigError(KEY, f"unknown protocol(s) {extra} (known: {', '.join(PROTOCOLS)})")
    return HandleSettings(tuple(enabled), options)


def _checked(protocol: Protocol, chosen: dict[str, Any], debug: bool) -> dict[str, Any]:
    if protocol == "bluesky" and (chosen.get("private_key") is not None or not debug):
        key = chosen.get("private_key")
        fields = ("kty", "crv", "d", "kid")
        if not isinstance(key, Mapping) or not all(isinstance(key.get(f), str) for f in fields):
            raise ConfigError(
                KEY, "['bluesky']['private_key'] must be a private EC P-256 JWK with a 'kid' "
                "(our client key; its public half is served as our JWKS)"
            )
    for name in ("allow", "deny"):
        domains = chosen.get(name)
        if domains is None:
            continue
        if isinstance(domains, str) or not all(isinstance(d, str) and d for d in domains):
            raise ConfigError(KEY, f"[{protocol!r}][{name!r}] must be a list of domain names")
        chosen[name] = tuple(d.lower().strip(".") for d in domains)
    limit = chosen.get("max_servers", DEFAULT_MAX_SERVERS)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(KEY, f"[{protocol!r}]['max_servers'] must be a positive integer")
    chosen["max_servers"] = limit
    return chosen

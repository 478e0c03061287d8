"""Provider base class and the normalised ``Profile`` every adapter returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from .errors import ConfigError

Protocol = Literal["oauth1", "oauth2", "oidc", "local"]
EmailVerification = Literal["claim", "api_field", "never"]

#: Settings every adapter accepts so sites behind proxies, and tests, can point it elsewhere.
ENDPOINT_OVERRIDES = (
    "authorize_url",
    "access_token_url",
    "request_token_url",
    "api_base_url",
    "server_metadata_url",
    "userinfo_endpoint",
)


@dataclass(frozen=True)
class Profile:
    """What the rest of the system knows of a person a provider vouched for."""

    provider: str
    subject: str
    display_name: str
    email: str | None = None
    email_verified: bool = False
    username: str | None = None
    avatar_url: str | None = None
    profile_url: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.subject:
            raise ValueError("a profile needs the provider's subject")
        if self.email_verified and not self.email:
            raise ValueError("email_verified without an email")


@dataclass(frozen=True)
class Capabilities:
    """What a provider tells us about email, and whether it is on its way out."""

    returns_email: bool
    email_verified: EmailVerification
    deprecated: bool = False


class Provider:
    """One configured provider instance: class data from the adapter, settings from the app."""

    #: Adapter name used in ``SOCIAL_AUTH_PROVIDERS[...]["provider"]`` and entry points.
    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    icon: ClassVar[str] = ""
    protocol: ClassVar[Protocol] = "oauth2"
    capabilities: ClassVar[Capabilities] = Capabilities(returns_email=False, email_verified="never")
    #: Settings without which the adapter cannot work.
    required_settings: ClassVar[tuple[str, ...]] = ("client_id", "client_secret")
    #: Settings the adapter understands beyond the required ones and the endpoint overrides.
    optional_settings: ClassVar[tuple[str, ...]] = ("scope", "title", "timeout")

    def __init__(self, instance_name: str, settings: Mapping[str, Any]) -> None:
        self.instance_name = instance_name
        self.settings = dict(settings)
        self.settings.pop("provider", None)
        self._validate_settings()

    @property
    def display_title(self) -> str:
        """The name shown on the icon: a site may rename an instance (``"title"``)."""
        return str(self.settings.get("title") or self.title or self.instance_name)

    def _validate_settings(self) -> None:
        key = f"SOCIAL_AUTH_PROVIDERS[{self.instance_name!r}]"
        for required in self.required_settings:
            if not self.settings.get(required):
                raise ConfigError(key, f"the {self.name!r} provider needs {required!r}")
        known = set(self.required_settings) | set(self.optional_settings) | set(ENDPOINT_OVERRIDES)
        unknown = sorted(set(self.settings) - known)
        if unknown:
            raise ConfigError(key, f"unknown setting(s) {', '.join(map(repr, unknown))}")

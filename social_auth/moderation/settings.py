"""The moderation settings, read once from ``app.config`` (``SOCIAL_AUTH_AKISMET_*`` and
``SOCIAL_AUTH_HOLD_FIRST_GUEST_COMMENT``) and checked with messages naming the key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

from ..config import config_key
from ..errors import ConfigError

DEFAULT_AKISMET_URL = "https://rest.akismet.com"


@dataclass(frozen=True)
class ModerationSettings:
    """Each field ``foo`` is read from ``SOCIAL_AUTH_FOO``."""

    #: None: no spam check (the trust tiers still apply, and the block says nothing of Akismet).
    akismet_key: str | None = None
    akismet_url: str = DEFAULT_AKISMET_URL
    #: Seconds the whole Akismet call may take; past it the comment is held, kept.
    akismet_timeout: float = 3.0
    #: Send ``is_test=1`` (default: ``app.debug``), so test traffic does not train Akismet.
    akismet_test: bool = False
    #: Hold a guest's comments until the site approved one of theirs (WordPress's default).
    hold_first_guest_comment: bool = True

    @property
    def akismet_on(self) -> bool:
        return self.akismet_key is not None


#: The config keys these settings read, for ``config.load_settings``' check of unknown keys.
KEYS = frozenset(config_key(f.name) for f in fields(ModerationSettings))


def load_moderation_settings(config: Mapping[str, Any], *, debug: bool) -> ModerationSettings:
    values: dict[str, Any] = {"akismet_test": debug}
    key = config.get(config_key("akismet_key"))
    if key is not None and (not isinstance(key, str) or not key.strip()):
        raise ConfigError(config_key("akismet_key"), "must be an Akismet API key or None")
    values["akismet_key"] = key.strip() if key else None
    if config_key("akismet_url") in config:
        values["akismet_url"] = _url(config[config_key("akismet_url")])
    if config_key("akismet_timeout") in config:
        timeout = config[config_key("akismet_timeout")]
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigError(config_key("akismet_timeout"), f"must be seconds, not {timeout!r}")
        values["akismet_timeout"] = float(timeout)
    for name in ("akismet_test", "hold_first_guest_comment"):
        if config_key(name) in config:
            value = config[config_key(name)]
            if not isinstance(value, bool):
                raise ConfigError(config_key(name), f"must be True or False, not {value!r}")
            values[name] = value
    return ModerationSettings(**values)


def _url(value: Any) -> str:
    key = config_key("akismet_url")
    if not isinstance(value, str):
        raise ConfigError(key, f"must be an address such as {DEFAULT_AKISMET_URL!r}")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ConfigError(key, f"{value!r} is not an address such as {DEFAULT_AKISMET_URL!r}")
    return value.rstrip("/")

"""``AvatarSettings``: the avatar and health keys, read once from ``app.config``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any, Literal

from ..config import config_key
from ..errors import ConfigError

ImageFormat = Literal["webp", "png"]


@dataclass(frozen=True)
class AvatarSettings:
    """Each field ``foo`` is read from ``SOCIAL_AUTH_FOO``."""

    #: Fetch, store and serve commenters' pictures (False: identicons only, nothing fetched).
    avatars: bool = True
    #: A directory for the picture files (None: in the database).
    avatar_dir: str | None = None
    #: A later sign-in fetches the picture again when the stored one is older than this.
    avatar_max_age: timedelta = timedelta(days=7)
    #: What the stored pictures are encoded as.
    avatar_format: ImageFormat = "webp"
    #: Fetch a Gravatar (server-side) for commenters with an email and no provider picture.
    gravatar: bool = False
    gravatar_url: str = "https://www.gravatar.com/avatar/"
    #: Seconds between writes of this worker's provider-health counters (0: at every event).
    health_flush: float = 10.0


#: The keys ``AvatarSettings`` reads (``config.load_settings(feature_keys=…)``).
KEYS = frozenset(config_key(f.name) for f in fields(AvatarSettings))


def load_avatar_settings(config: Mapping[str, Any]) -> AvatarSettings:
    """``AvatarSettings`` from a Flask config; ``ConfigError`` naming the first bad key."""
    values: dict[str, Any] = {}
    for f in fields(AvatarSettings):
        key = config_key(f.name)
        if key in config:
            values[f.name] = _coerce(key, f.name, config[key])
    return AvatarSettings(**values)


def _coerce(key: str, name: str, value: Any) -> Any:
    if name in ("avatars", "gravatar"):
        if not isinstance(value, bool):
            raise ConfigError(key, f"must be True or False, not {value!r}")
        return value
    if name == "avatar_dir":
        if value is not None and (not isinstance(value, str) or not value):
            raise ConfigError(key, "must be a directory path or None")
        return value
    if name == "avatar_max_age":
        seconds = value.total_seconds() if isinstance(value, timedelta) else value
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
            raise ConfigError(key, "must be a positive timedelta or number of seconds")
        return timedelta(seconds=seconds)
    if name == "avatar_format":
        if value not in ("webp", "png"):
            raise ConfigError(key, f"must be 'webp' or 'png', not {value!r}")
        return value
    if name == "gravatar_url":
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise ConfigError(key, "must be an http(s) URL such as https://www.gravatar.com/avatar/")
        return value if value.endswith("/") else value + "/"
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(key, "must be a number of seconds (0 or more)")
    return float(value)

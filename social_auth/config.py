"""Typed settings read once from ``app.config`` and validated with messages naming the key."""

from __future__ import annotations

import difflib
import importlib
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError

PREFIX = "SOCIAL_AUTH_"


@dataclass(frozen=True)
class Settings:
    """Each field ``foo_bar`` is read from ``SOCIAL_AUTH_FOO_BAR``."""

    database_uri: str
    providers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    url_prefix: str = "/auth"
    guest: bool = True
    guest_verify_email: bool = False
    link_by_verified_email: bool = False
    dev_provider: bool = False
    session_lifetime: timedelta = timedelta(days=30)
    session_idle: timedelta = timedelta(days=7)
    mailer: str | object = "console"
    mail_server: str = "localhost"
    mail_port: int = 25
    mail_sender: str = "no-reply@localhost"
    #: Called with no arguments during a request: is it an admin's? (resolved at init)
    admin_check: Callable[[], Any] | None = None
    #: Called with no arguments during an admin request: who is it, for the audit log.
    admin_actor: Callable[[], Any] | None = None
    #: Called with a ``Commenter``: how many comments the host holds for it (admin pages).
    comment_count: Callable[[Any], Any] | None = None
    #: Called with a ``Commenter``: the host's JSON-ready data about it, for exports.
    export_hook: Callable[[Any], Any] | None = None
    redis_url: str | None = None
    trusted_origins: tuple[str, ...] = ()
    database_engine_options: Mapping[str, Any] = field(default_factory=dict)
    #: The site's canonical address (``https://blog.example``, maybe with a path prefix), from
    #: which every absolute URL is made; resolved by ``load_settings`` (``site_url``).
    site_url: str | None = None
    #: ``SECRET_KEY_FALLBACKS`` then ``SECRET_KEY``: itsdangerous signs with the last and
    #: accepts each. Read and checked once, here (``secret_keys``).
    secret_keys: tuple[bytes, ...] = ()


def config_key(field_name: str) -> str:
    return PREFIX + field_name.upper()


KNOWN_KEYS = frozenset(config_key(f.name) for f in fields(Settings))
#: Keys read by the capability modules' own settings (the safe fetcher, handle sign-in).
KNOWN_KEYS |= {config_key(n) for n in ("fetch_allow_private", "handles")}


def load_settings(
    config: Mapping[str, Any], *, debug: bool, instance_path: str, feature_keys: Iterable[str] = ()
) -> Settings:
    """Build ``Settings`` from a Flask config, raising ``ConfigError`` for the first bad key.

    ``feature_keys``: keys a feature reads with its own settings class (``avatars.settings``,
    ``moderation.settings``)."""
    keys = secret_keys(config)
    _refuse_unknown_keys(config, KNOWN_KEYS | frozenset(feature_keys))
    values: dict[str, Any] = {
        "database_uri": "sqlite:///" + os.path.join(instance_path, "social_auth.sqlite3"),
        "dev_provider": debug,
        "mailer": "console" if debug else "smtp",
    }
    for f in fields(Settings):
        key = config_key(f.name)
        if key in config and f.name not in _DERIVED:
            values[f.name] = _coerce(key, f.name, config[key])
    _check_prefix(values.get("url_prefix", "/auth"))
    values["secret_keys"] = keys
    values["site_url"] = resolve_site_url(config, values.get("site_url"), debug=debug)
    return Settings(**values)


def resolve_site_url(
    config: Mapping[str, Any], configured: str | None, *, debug: bool
) -> str | None:
    """The canonical site address: ``SOCIAL_AUTH_SITE_URL``, else one made of ``SERVER_NAME``
    (with ``PREFERRED_URL_SCHEME`` and ``APPLICATION_ROOT``). Without either, only a debug app
    may go on (``None``: the request's own address serves, ``site.site_url``); elsewhere a
    forged ``Host`` would choose where mailed sign-in links point."""
    if configured:
        return configured
    server_name = config.get("SERVER_NAME")
    if server_name:
        scheme = config.get("PREFERRED_URL_SCHEME") or "http"
        root = str(config.get("APPLICATION_ROOT") or "/")
        return _site_url("SERVER_NAME", f"{scheme}://{server_name}{root}")
    if debug:
        logging.getLogger("social_auth").warning(
            "%s is not set: in debug mode links and callbacks use the request's own address. "
            "Set it before serving the site to anyone.",
            config_key("site_url"),
        )
        return None
    raise ConfigError(
        config_key("site_url"),
        "is required (or SERVER_NAME): the site's public address, such as "
        "'https://blog.example', from which mailed links and OAuth callbacks are made. "
        "Never taken from the request, whose Host a visitor chooses.",
    )


#: Fields computed from other config, never set directly.
_DERIVED = {"secret_keys"}

#: Shorter secret keys are refused: a key a person could guess forges every cookie and link.
MIN_SECRET_KEY_BYTES = 16


def secret_keys(config: Mapping[str, Any]) -> tuple[bytes, ...]:
    """``SECRET_KEY_FALLBACKS`` (oldest first) then ``SECRET_KEY``, each checked: the one place
    the package reads its signing keys. ``ConfigError`` for a missing or short key, or for
    fallbacks that are not a list (a string would otherwise be read as one key per character).
    """
    key = config.get("SECRET_KEY")
    if not key:
        raise ConfigError("SECRET_KEY", "is required: it signs the commenter's cookies and links")
    _check_key("SECRET_KEY", key)
    fallbacks = config.get("SECRET_KEY_FALLBACKS")
    if fallbacks is None:
        fallbacks = []
    if not isinstance(fallbacks, list | tuple):
        raise ConfigError(
            "SECRET_KEY_FALLBACKS", f"must be a list of keys, not {type(fallbacks).__name__}"
        )
    for index, old in enumerate(fallbacks):
        _check_key(f"SECRET_KEY_FALLBACKS[{index}]", old)
    return tuple(k.encode() if isinstance(k, str) else k for k in (*fallbacks, key))


def _check_key(name: str, key: Any) -> None:
    if not isinstance(key, str | bytes):
        raise ConfigError(name, f"must be a string or bytes, not {type(key).__name__}")
    size = len(key.encode() if isinstance(key, str) else key)
    if size < MIN_SECRET_KEY_BYTES:
        raise ConfigError(
            name,
            f"must be at least {MIN_SECRET_KEY_BYTES} bytes long (it is {size}); make one with "
            "python -c 'import secrets; print(secrets.token_hex(32))'",
        )


def _refuse_unknown_keys(config: Mapping[str, Any], known: frozenset[str]) -> None:
    for key in config:
        if isinstance(key, str) and key.startswith(PREFIX) and key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigError(key, f"is not a Flask-Social-Auth setting{hint}")


_BOOLS = {"guest", "guest_verify_email", "link_by_verified_email", "dev_provider"}
_DURATIONS = {"session_lifetime", "session_idle"}
_STRINGS = {"database_uri", "url_prefix", "mail_server", "mail_sender"}
_OPTIONAL_STRINGS = {"redis_url"}
_CALLABLES = {"admin_check", "admin_actor", "comment_count", "export_hook"}


def _coerce(key: str, name: str, value: Any) -> Any:
    if name in _BOOLS:
        if not isinstance(value, bool):
            raise ConfigError(key, f"must be True or False, not {value!r}")
        return value
    if name in _DURATIONS:
        return _duration(key, value)
    if name in _STRINGS:
        if not isinstance(value, str) or not value:
            raise ConfigError(key, f"must be a non-empty string, not {value!r}")
        return value
    if name in _OPTIONAL_STRINGS:
        if value is not None and not isinstance(value, str):
            raise ConfigError(key, f"must be a string or None, not {value!r}")
        return value or None
    if name == "mail_port":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
            raise ConfigError(key, f"must be a port number, not {value!r}")
        return value
    if name in ("providers", "database_engine_options"):
        return _mapping_of(key, value, nested=name == "providers")
    if name == "trusted_origins":
        return _origins(key, value)
    if name == "site_url":
        return _site_url(key, value)
    if name == "mailer":
        if isinstance(value, str) and value not in ("console", "smtp"):
            raise ConfigError(key, f"must be 'console', 'smtp' or a Mailer object, not {value!r}")
        return value
    if name in _CALLABLES:
        return _callable(key, value)
    return value  # pragma: no cover - every field is handled above


def _callable(key: str, value: Any) -> Callable[..., Any] | None:
    """``value`` itself, or the object a ``"package.module:name"`` string names, imported once
    here so a typo fails at start-up rather than on the first admin request."""
    if value is None:
        return None
    if callable(value):
        resolved: Callable[..., Any] = value
        return resolved
    if not isinstance(value, str) or ":" not in value:
        raise ConfigError(key, "must be a callable or a 'module:function' string")
    module_name, _, attr_path = value.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
        for attr in attr_path.split("."):
            found = getattr(found, attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(key, f"cannot import {value!r}: {exc}") from exc
    if not callable(found):
        raise ConfigError(key, f"{value!r} is not callable")
    return found  # type: ignore[no-any-return]


def _duration(key: str, value: Any) -> timedelta:
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise ConfigError(key, f"must be a timedelta or a number of seconds, not {value!r}")
    if seconds <= 0:
        raise ConfigError(key, "must be positive")
    return timedelta(seconds=seconds)


def _mapping_of(key: str, value: Any, *, nested: bool) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(key, f"must be a dict, not {type(value).__name__}")
    if nested:
        for name, settings in value.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ConfigError(key, f"provider name {name!r} must be a simple identifier")
            if not isinstance(settings, Mapping):
                raise ConfigError(f"{key}[{name!r}]", "must be a dict of settings")
    return dict(value)


def _origins(key: str, value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple | set | frozenset):
        raise ConfigError(key, "must be a list of origins such as 'https://blog.example'")
    origins = []
    for origin in items:
        if (
            not isinstance(origin, str)
            or not origin.startswith(("https://", "http://"))
            or (origin.count("/") != 2)
        ):
            raise ConfigError(key, f"{origin!r} is not an origin such as 'https://blog.example'")
        origins.append(origin)
    return tuple(origins)


def _site_url(key: str, value: Any) -> str | None:
    """``https://host[:port][/path]`` without a trailing slash, query or fragment."""
    if value is None:
        return None
    problem = f"{value!r} is not a site address such as 'https://blog.example'"
    if not isinstance(value, str):
        raise ConfigError(key, problem)
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise ConfigError(key, problem) from exc
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.query
        or parts.fragment
        or value.strip().endswith("?")
        or any(ch.isspace() or ord(ch) < 32 for ch in value.strip())
    ):
        raise ConfigError(key, problem)
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def _check_prefix(prefix: str) -> None:
    if not prefix.startswith("/") or (prefix.endswith("/") and prefix != "/"):
        raise ConfigError(
            config_key("url_prefix"), f"must start with '/' and not end with one: {prefix!r}"
        )

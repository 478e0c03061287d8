"""``SocialAuth``: reads the config once and wires the store, providers and CLI into an app."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

from .config import Settings, config_key, load_settings
from .errors import ConfigError
from .provider import Provider
from .registry import ProviderRegistry
from .store import IdentityStore

EXTENSION_KEY = "social_auth"


@dataclass
class SocialAuthState:
    """Everything the extension keeps per app, in ``app.extensions["social_auth"]``."""

    settings: Settings
    store: IdentityStore
    providers: Mapping[str, Provider]
    registry: ProviderRegistry
    extras: dict[str, Any] = field(default_factory=dict)


class SocialAuth:
    """Flask extension object; holds no app, so one instance can serve several apps."""

    def __init__(
        self, app: Flask | None = None, *, providers: Iterable[type[Provider]] | None = None
    ) -> None:
        self._adapters = list(providers) if providers is not None else None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        settings = load_settings(app.config, debug=app.debug, instance_path=app.instance_path)
        registry = ProviderRegistry(self._adapters)
        providers = configure_providers(settings, registry)
        if config_key("database_uri") not in app.config:
            os.makedirs(app.instance_path, exist_ok=True)
        store = IdentityStore.from_url(settings.database_uri, **settings.database_engine_options)
        app.extensions[EXTENSION_KEY] = SocialAuthState(settings, store, providers, registry)

        from .cli import social_auth_cli

        app.cli.add_command(social_auth_cli)

    @property
    def store(self) -> IdentityStore:
        """The current app's identity store."""
        return get_state().store


def get_state(app: Flask | None = None) -> SocialAuthState:
    """The extension's state for ``app`` (default: the current app)."""
    target = app if app is not None else current_app
    try:
        state: SocialAuthState = target.extensions[EXTENSION_KEY]
    except KeyError:
        raise RuntimeError("SocialAuth.init_app(app) was not called for this app") from None
    return state


def configure_providers(settings: Settings, registry: ProviderRegistry) -> dict[str, Provider]:
    """One ``Provider`` per configured instance; the ``dev`` provider when it is enabled."""
    key = config_key("providers")
    providers: dict[str, Provider] = {}
    for instance_name, instance_settings in settings.providers.items():
        adapter_name = str(instance_settings.get("provider", instance_name))
        adapter = registry.get(adapter_name, config_key=f"{key}[{instance_name!r}]")
        providers[instance_name] = adapter(instance_name, instance_settings)
    if settings.dev_provider and "dev" not in providers:
        adapters = registry.adapters()
        if "dev" not in adapters:
            raise ConfigError(config_key("dev_provider"), "is on but no 'dev' adapter is installed")
        providers["dev"] = adapters["dev"]("dev", {})
    return providers

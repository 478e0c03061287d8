"""Finds provider adapters through the ``social_auth.providers`` entry-point group."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import entry_points

from .errors import ConfigError
from .provider import Provider

ENTRY_POINT_GROUP = "social_auth.providers"


class ProviderRegistry:
    """Adapter classes by name; entry points are read only when first asked for."""

    def __init__(self, adapters: Iterable[type[Provider]] | None = None) -> None:
        self._adapters: dict[str, type[Provider]] | None = (
            {a.name: a for a in adapters} if adapters is not None else None
        )

    def adapters(self) -> dict[str, type[Provider]]:
        if self._adapters is None:
            found: dict[str, type[Provider]] = {}
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                adapter = ep.load()
                if not (isinstance(adapter, type) and issubclass(adapter, Provider)):
                    raise ConfigError(ENTRY_POINT_GROUP, f"{ep.value} is not a Provider class")
                found[ep.name] = adapter
            self._adapters = found
        return self._adapters

    def get(self, adapter_name: str, *, config_key: str) -> type[Provider]:
        adapters = self.adapters()
        if adapter_name not in adapters:
            known = ", ".join(sorted(adapters)) or "none installed"
            raise ConfigError(config_key, f"unknown provider {adapter_name!r} (known: {known})")
        return adapters[adapter_name]

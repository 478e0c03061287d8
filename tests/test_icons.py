"""Provider buttons carry inline SVG: a shipped icon by name, an adapter's own SVG, or a letter."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from social_auth.icons import provider_icon


@pytest.mark.parametrize(
    "adapter", sorted(ep.name for ep in entry_points(group="social_auth.providers"))
)
def test_every_installed_adapter_has_a_shipped_icon(adapter: str):
    cls = next(
        ep for ep in entry_points(group="social_auth.providers") if ep.name == adapter
    ).load()
    svg = provider_icon(cls.icon)
    assert svg is not None and svg.startswith("<svg") and 'aria-hidden="true"' in svg


def test_an_adapter_may_bring_its_own_svg():
    own = '<svg viewBox="0 0 1 1"></svg>'
    assert provider_icon(own) == own


@pytest.mark.parametrize("name", ["nope", "../templates/social_auth/message", "GOOGLE", ""])
def test_unknown_or_path_like_names_have_no_icon(name: str):
    assert provider_icon(name) is None

"""Inline SVG for provider buttons: an adapter names a shipped icon or gives its own SVG."""

from __future__ import annotations

import functools
import re
from importlib.resources import files

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,40}")


@functools.cache
def provider_icon(icon: str) -> str | None:
    """The SVG markup for ``icon``: inline SVG as given, or a shipped icon by name; else None.

    Read once per name and cached: the block is rendered on every post page.
    """
    if icon.lstrip().startswith("<svg"):
        return icon
    if not _NAME.fullmatch(icon):
        return None
    path = files("social_auth").joinpath("static", "social_auth", "icons", f"{icon}.svg")
    return path.read_text(encoding="utf-8") if path.is_file() else None

"""Avatars stored and served by the site: sniffing, decoding and re-encoding pictures, identicons,
and fetching a commenter's picture server-side. Framework-free (no Flask import).

Modules import one way: ``settings`` → ``image``, ``identicon`` → ``fetching``.
"""

from .image import SIZES, Normalised, normalise, sniff
from .settings import AvatarSettings

__all__ = ["SIZES", "AvatarSettings", "Normalised", "normalise", "sniff"]

"""Sign in with a handle or a website: Bluesky, Mastodon and IndieAuth, whose server is not
known in advance. Framework-free: ``parse`` reads what was typed, each protocol's module
discovers the visitor's server and makes a ``Discovered`` provider for one sign-in, which the
ordinary flow (``flow.start``/``finish``) runs; ``web.handles`` is the Flask glue."""

from __future__ import annotations

from collections.abc import Mapping

from ..fetch import SafeFetcher
from ..store import IdentityStore
from . import bluesky, mastodon
from .bluesky import Bluesky
from .discovered import Discovered
from .indieauth import IndieAuth
from .mastodon import Mastodon
from .parse import PROTOCOLS, Candidate, Protocol, candidates
from .settings import CAPABILITIES, TITLES, HandleSettings, handle_settings

#: The provider class of each protocol that is built so far.
CLASSES: Mapping[str, type[Discovered]] = {
    "bluesky": Bluesky,
    "indieauth": IndieAuth,
    "mastodon": Mastodon,
}


def rebuild(
    protocol: str, discovered: Mapping[str, str], fetcher: SafeFetcher, store: IdentityStore
) -> Discovered:
    """The provider a callback finishes with, from what ``start`` put in the flow cookie."""
    if protocol == "mastodon":
        return Mastodon.with_store(discovered, fetcher, store)
    return CLASSES[protocol](discovered, fetcher)


__all__ = [
    "CAPABILITIES",
    "CLASSES",
    "PROTOCOLS",
    "TITLES",
    "Bluesky",
    "Candidate",
    "Discovered",
    "HandleSettings",
    "IndieAuth",
    "Mastodon",
    "Protocol",
    "bluesky",
    "candidates",
    "handle_settings",
    "mastodon",
    "rebuild",
]

"""What the extension keeps per app, typed, and ``get_state()`` to reach it.

Every Flask-facing module (views, session, admin, cli, site) reads the state through here,
never through ``extension`` (the module that wires them all): this one imports nothing above
the framework-free core, so imports run one way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

from .avatars.fetching import Avatars
from .config import Settings
from .fetch import SafeFetcher
from .flow import FlowSettings
from .handles import HandleSettings
from .health import HealthRecorder
from .linking import LinkingPolicy
from .mail import Mailer
from .moderation.review import Moderator
from .provider import Provider
from .ratelimit import RateLimiter
from .registry import ProviderRegistry
from .revocation import CommenterCache
from .store import IdentityStore

#: Where ``init_app`` puts the state: ``app.extensions["social_auth"]``.
EXTENSION_KEY = "social_auth"


@dataclass
class SocialAuthState:
    """Everything the extension keeps per app, built once by ``SocialAuth.init_app``."""

    settings: Settings
    store: IdentityStore
    providers: Mapping[str, Provider]
    registry: ProviderRegistry
    mailer: Mailer
    rate_limiter: RateLimiter
    #: Keys and the replay guard of sign-in flows (the guard lives in the store's database,
    #: so a state used at one worker is refused at every other).
    flow_settings: FlowSettings
    linking_policy: LinkingPolicy
    #: With ``SOCIAL_AUTH_REDIS_URL``: this worker's commenters, revoked through Redis.
    commenter_cache: CommenterCache | None = None
    #: With a commenter cache: the WSGI middleware that asks Redis as a request arrives
    #: (``session.AskEarly``; typed loosely here because it belongs to the Flask layer).
    ask_early: Any = None
    #: The one way to fetch a URL a visitor chose (``fetch``; ``SOCIAL_AUTH_FETCH_ALLOW_PRIVATE``).
    fetcher: SafeFetcher = field(default_factory=SafeFetcher)
    #: Spam checking and trust tiers (``social_auth.moderation``).
    moderator: Moderator | None = None
    #: Stored and served pictures (``avatars``); None before ``init_app`` wires them.
    avatars: Avatars | None = None
    #: Provider health counts (``health``), shared across workers through ``health.sink``.
    health: HealthRecorder | None = None
    #: The handle sign-ins offered (``SOCIAL_AUTH_HANDLES``; ``handles``).
    handles: HandleSettings = field(default_factory=HandleSettings)


def get_state(app: Flask | None = None) -> SocialAuthState:
    """The extension's state for ``app`` (default: the current app)."""
    target = app if app is not None else current_app
    try:
        state: SocialAuthState = target.extensions[EXTENSION_KEY]
    except KeyError:
        raise RuntimeError("SocialAuth.init_app(app) was not called for this app") from None
    return state

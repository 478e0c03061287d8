"""Fetching a commenter's picture server-side, so readers' browsers never contact a provider
or Gravatar. Whatever fails, the commenter keeps the picture they had (or their identicon):
``refresh`` logs and records the failure, and never raises.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from ..errors import SocialAuthError
from ..store import Commenter, Identity
from ..store.avatars import AvatarStore, picture_key
from ..store.models import utcnow
from .image import MAX_BYTES, SIZES, etag_of, normalise
from .settings import AvatarSettings

log = logging.getLogger("social_auth.avatars")
#: After a failed fetch of the same source, a sign-in does not try again for this long.
RETRY_AFTER = timedelta(hours=1)
ACCEPT = "image/webp,image/png,image/jpeg,image/gif;q=0.9"
#: Seconds a picture's whole fetch may take (DNS, connect, redirects, body).
FETCH_DEADLINE = 3.0


class Answer(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def body(self) -> bytes: ...


class Fetcher(Protocol):
    """What ``refresh`` needs of ``fetch.SafeFetcher``."""

    def get(self, url: str, *, headers: Mapping[str, str] | None = None,
            max_bytes: int | None = None, deadline: float | None = None) -> Answer: ...


@dataclass(frozen=True)
class Avatars:
    """Everything a picture refresh uses; built once by ``init_app``."""

    store: AvatarStore
    fetcher: Fetcher | None
    settings: AvatarSettings
    url_prefix: str

    def picture_url(self, key: str, size: int = 96) -> str:
        return f"{self.url_prefix}/avatars/{key}-{size}.{self.settings.avatar_format}"


def gravatar_source(settings: AvatarSettings, email: str | None) -> str | None:
    """The Gravatar address for ``email`` (``d=404``: no picture is a 404, not a default)."""
    if not settings.gravatar or not email:
        return None
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"{settings.gravatar_url}{digest}?s={SIZES[-1]}&d=404"


def source_for(avatars: Avatars, commenter: Commenter, identity: Identity | None) -> str | None:
    """Where the commenter's picture comes from: the identity's, else their Gravatar."""
    if identity is not None and identity.avatar_url:
        return identity.avatar_url
    return gravatar_source(avatars.settings, commenter.email)


def refresh(avatars: Avatars, commenter: Commenter, identity: Identity | None = None,
            *, force: bool = False) -> str:
    """Fetch and keep the commenter's picture when it is missing, old or moved; the outcome
    (``fetched``, ``fresh``, ``none``, ``off``, or ``failed:<reason>``)."""
    if not avatars.settings.avatars or avatars.fetcher is None or commenter.is_erased:
        return "off"
    url = source_for(avatars, commenter, identity)
    if url is None:
        return "none"
    if not force and not _due(avatars, commenter, url):
        return "fresh"
    try:
        answer = avatars.fetcher.get(url, headers={"Accept": ACCEPT}, max_bytes=MAX_BYTES,
                                     deadline=FETCH_DEADLINE)
        if answer.status != 200:
            raise _Failed(f"status_{answer.status}")
        picture = normalise(answer.body, avatars.settings.avatar_format)
    except (SocialAuthError, _Failed) as exc:
        reason = getattr(exc, "reason", None) or str(exc) or "failed"
        avatars.store.failed(commenter.id, url, reason)
        log.info("The picture of commenter %s was not fetched: %s", commenter.public_id, reason)
        return f"failed:{reason}"
    variants = {size: (etag_of(data), picture.mime, data)
                for size, data in picture.variants.items()}
    avatars.store.keep(commenter.id, picture.key, variants,
                       url=avatars.picture_url(picture.key), source_url=url)
    return "fetched"


class _Failed(Exception):
    pass


def _due(avatars: Avatars, commenter: Commenter, url: str) -> bool:
    source = avatars.store.source(commenter.id)
    if source is None or source.source_url != url:
        return True
    now = utcnow()
    if source.failed_at is not None and now - source.failed_at < RETRY_AFTER:
        return False
    has_picture = picture_key(commenter.avatar_url) is not None
    fetched = source.fetched_at
    return not has_picture or fetched is None or now - fetched > avatars.settings.avatar_max_age


def refresh_quietly(avatars: Avatars, commenter: Commenter, identity: Identity | None) -> None:
    """``refresh`` for the end of a sign-in's response: nothing may escape it."""
    try:
        refresh(avatars, commenter, identity)
    except Exception:  # a picture is never worth a failed response; the reason is logged
        log.exception("Refreshing the picture of commenter %s failed", commenter.public_id)

"""Pictures served by the site: the stored ones at content-named URLs, and identicons; the
template global ``social_auth_avatar(commenter, size)``; the fetch after a sign-in.

``avatar_url`` is the one rule for what a page shows as a commenter's picture: a URL of ours,
never a provider's or Gravatar's (a reader's browser would tell them who reads what).
"""

from __future__ import annotations

import functools
import re
import weakref
from typing import Any

from flask import Blueprint, Flask, after_this_request, current_app, has_request_context, request
from flask.wrappers import Response

from ..avatars.fetching import Avatars, refresh_quietly
from ..avatars.identicon import identicon, seed_of
from ..avatars.image import SIZES, etag_of
from ..signals import commenter_erased, commenter_signed_in, commenters_merged
from ..state import get_state
from ..store import Commenter, Identity
from ..store.avatars import PICTURE_URL, AvatarStore, Served, picture_key

avatars_bp = Blueprint("social_auth_avatars", __name__)

#: A year, and never revalidated: the URL names the content, so it never changes.
CACHE_CONTROL = "public, max-age=31536000, immutable"
#: A picture is never a document: nothing in it may run, load or be framed.
CSP = "default-src 'none'; sandbox; frame-ancestors 'none'"
_NAME = re.compile(r"^(?P<key>[0-9a-f]{32})-(?P<size>\d{2,3})\.(?P<ext>webp|png)$")


def snap(size: int) -> int:
    """The stored size to show for ``size`` pixels: the smallest at least as large."""
    return next((s for s in SIZES if s >= size), SIZES[-1])


def avatar_url(commenter: Any, size: int = 96) -> str:
    """The picture to show for ``commenter`` at about ``size`` pixels: their stored picture,
    else their identicon; always a URL of this site (``SOCIAL_AUTH_URL_PREFIX``)."""
    prefix = get_state().settings.url_prefix.rstrip("/")
    shown = snap(size)
    stored = getattr(commenter, "avatar_url", None)
    found = PICTURE_URL.search(stored) if stored else None
    if found is not None:
        return f"{prefix}/avatars/{found['key']}-{shown}.{found['ext']}"
    seed = seed_of(getattr(commenter, "public_id", None) or "anonymous")
    return f"{prefix}/avatars/i/{seed}-{shown}.png"


def _send(served: Served) -> Response:
    response = current_app.response_class(mimetype=served.mime)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["ETag"] = f'"{served.etag}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cross-Origin-Resource-Policy"] = "same-site"
    if request.if_none_match.contains(served.etag):
        response.status_code = 304
    else:
        response.set_data(served.data)
    return response


def _not_found() -> Response:
    response = current_app.response_class("No such picture.", status=404,
                                          mimetype="text/plain")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@avatars_bp.get("/avatars/<name>")
def picture(name: str) -> Response:
    found = _NAME.match(name)
    avatars = get_state().avatars
    if found is None or avatars is None or int(found["size"]) not in SIZES:
        return _not_found()
    served = avatars.store.served(found["key"], int(found["size"]))
    if served is None or not served.mime.endswith(found["ext"]):
        return _not_found()
    return _send(served)


@avatars_bp.get("/avatars/i/<name>")
def identicon_picture(name: str) -> Response:
    found = _NAME.match(name)
    if found is None or found["ext"] != "png" or int(found["size"]) not in SIZES:
        return _not_found()
    data = identicon(found["key"], int(found["size"]))
    return _send(Served(_etag(found["key"], int(found["size"])), "image/png", data))


@functools.lru_cache(maxsize=2048)
def _etag(seed: str, size: int) -> str:
    return etag_of(identicon(seed, size))


# -- after a sign-in, and after an erase or a merge -------------------------------------------


def _signed_in(app: Flask, commenter: Commenter, identity: Identity | None = None,
               **_: Any) -> None:
    """Fetch the picture once the sign-in's answer is sent (``call_on_close``): the commenter
    never waits for it, and no failure of it reaches them."""
    avatars = get_state(app).avatars
    if avatars is None or avatars.fetcher is None or not avatars.settings.avatars:
        return
    job = functools.partial(refresh_quietly, avatars, commenter, identity)
    if not has_request_context():
        job()
        return

    def schedule(response: Response) -> Response:
        response.call_on_close(job)
        return response

    after_this_request(schedule)


def wire(app: Flask, avatars: Avatars) -> None:
    """Mount the picture routes and hang the picture's life on the signals (``extension``)."""
    prefix = get_state(app).settings.url_prefix
    app.register_blueprint(avatars_bp, url_prefix=prefix)
    app.add_template_global(avatar_url, "social_auth_avatar")
    # Module-level receivers, senders held weakly by blinker: nothing here keeps an app alive.
    commenter_signed_in.connect(_signed_in, sender=app)
    store = get_state(app).store
    _PICTURES[id(store)] = avatars.store
    commenter_erased.connect(_erased, sender=store)
    commenters_merged.connect(_merged, sender=store)


#: The picture store of each identity store (by id), as long as its app lives.
_PICTURES: weakref.WeakValueDictionary[int, AvatarStore] = weakref.WeakValueDictionary()


def _erased(sender: Any, commenter: Commenter, **_: Any) -> None:
    pictures = _PICTURES.get(id(sender))
    if pictures is not None:
        pictures.forget(commenter.id)


def _merged(sender: Any, **_: Any) -> None:
    pictures = _PICTURES.get(id(sender))
    if pictures is not None:
        pictures.collect_garbage()


__all__ = ["avatar_url", "avatars_bp", "picture_key", "snap", "wire"]

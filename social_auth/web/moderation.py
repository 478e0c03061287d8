"""The Flask side of moderation: the block's honeypot and signed time-to-submit field
(``block_spam.html`` through the template global ``social_auth_spam()``), and the request's
facts read into a ``Submission`` (``submission_from_request``, ``review_request``).

The time field holds the moment the form was rendered, signed (salt of its own), so a post
tells how long its form was open: under ``MIN_SECONDS`` is faster than a person types, and a
token missing, forged or older than ``MAX_AGE`` means the form was not the one we served.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from flask import Flask, current_app, request
from itsdangerous import BadSignature

from ..moderation import HONEYPOT_FIELD, FormSignals, Reason, Submission, Verdict, review
from ..site import site_url
from ..state import get_state
from ..store import Commenter
from .commenter import current_commenter
from .signing import serializer

#: The hidden field holding the signed render time.
TOKEN_FIELD = "sa_form_token"  # noqa: S105 - a field name, not a secret
TOKEN_SALT = "social-auth.comment-form"  # noqa: S105 - a salt, not a secret
#: A form posted sooner than this after it was rendered is spam-likely (no person is that fast).
MIN_SECONDS = 2.0
#: A form token older than this is refused (a bot replaying one it fetched long ago).
MAX_AGE = 2 * 24 * 3600


@dataclass(frozen=True)
class SpamFields:
    """What ``block_spam.html`` renders."""

    honeypot: str
    token_field: str
    token: str
    akismet: bool


def form_token(app: Flask, rendered_at: float | None = None) -> str:
    """A signed token saying the form was rendered at ``rendered_at`` (default: now)."""
    moment = time.time() if rendered_at is None else rendered_at
    return serializer(app, TOKEN_SALT).dumps({"t": int(moment * 1000)})


def form_fields(app: Flask, *, age: float = 30.0) -> dict[str, str]:
    """The block's hidden fields as a form rendered ``age`` seconds ago posts them: for a
    host's tests of its comment route (``client.post(url, data={..., **form_fields(app)})``)."""
    return {HONEYPOT_FIELD: "", TOKEN_FIELD: form_token(app, time.time() - age)}


def spam_fields() -> SpamFields:
    """The template global ``social_auth_spam()``."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    moderator = get_state(app).moderator
    return SpamFields(
        honeypot=HONEYPOT_FIELD,
        token_field=TOKEN_FIELD,
        token=form_token(app),
        akismet=moderator is not None and moderator.settings.akismet_on,
    )


def read_form(app: Flask, form: Any, now: float | None = None) -> FormSignals:
    """The honeypot's value and the token's verdict from a posted form."""
    honeypot = str(form.get(HONEYPOT_FIELD) or "")
    token = form.get(TOKEN_FIELD)
    if not token:
        return FormSignals(honeypot, None, Reason.TOKEN_MISSING)
    try:
        data = serializer(app, TOKEN_SALT).loads(token)
        rendered = float(data["t"]) / 1000
    except (BadSignature, KeyError, TypeError, ValueError):
        return FormSignals(honeypot, None, Reason.TOKEN_INVALID)
    seconds = (time.time() if now is None else now) - rendered
    if seconds < -5:  # from the future: not a token we signed for this clock
        return FormSignals(honeypot, None, Reason.TOKEN_INVALID)
    if seconds > MAX_AGE:
        return FormSignals(honeypot, seconds, Reason.TOKEN_EXPIRED)
    return FormSignals(honeypot, seconds, Reason.TOO_FAST if seconds < MIN_SECONDS else None)


def submission_from_request(
    content: str,
    permalink: str,
    *,
    commenter: Commenter | None = None,
    post_modified: datetime | None = None,
    **extra: Any,
) -> Submission:
    """A ``Submission`` of this request: its client address (behind ``ProxyFix``, the
    forwarded one), user agent, referrer and the block's hidden fields. ``commenter``
    defaults to ``current_commenter``; ``permalink`` may be a path of this site; ``extra``
    sets the other ``Submission`` fields (``lang``, ``user_role``, ``approved_before``, …)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if commenter is None and isinstance(current_commenter, Commenter):
        commenter = current_commenter
    blog = site_url(app) + "/"
    return Submission(
        content=content,
        permalink=urljoin(blog, permalink),
        blog=blog,
        commenter=commenter,
        ip=request.remote_addr or "",
        user_agent=request.headers.get("User-Agent", ""),
        referrer=request.headers.get("Referer", ""),
        form=read_form(app, request.form),
        post_modified=post_modified,
        **extra,
    )


def review_request(content: str, permalink: str, **kwargs: Any) -> Verdict:
    """``moderation.review`` of ``submission_from_request(content, permalink, **kwargs)``."""
    return review(submission_from_request(content, permalink, **kwargs))

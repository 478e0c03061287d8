"""Spam checking that knows who is commenting: trust tiers, form signals and Akismet.

``review(submission) -> Verdict`` decides (publish, hold or discard, with reasons and the
``facts`` to keep with the comment); ``report_spam(facts)`` and ``report_ham(facts)`` tell
Akismet and the store what the site decided later. These three reach the current app's
``Moderator``; the classes themselves take their settings, store and client explicitly.
"""

from __future__ import annotations

from typing import Any

from .akismet import AkismetClient, Check
from .review import HONEYPOT_FIELD, Moderator, akismet_fields
from .settings import KEYS, ModerationSettings, load_moderation_settings
from .tiers import decide, trust_of
from .types import Action, Answer, FormSignals, Reason, Submission, Trust, Verdict


def moderator() -> Moderator:
    """The current app's moderator."""
    from ..state import get_state  # function-local: the state module imports our core

    found = get_state().moderator
    if found is None:  # pragma: no cover - init_app always sets it
        raise RuntimeError("SocialAuth.init_app(app) did not set up moderation")
    return found


def review(submission: Submission) -> Verdict:
    """The current app's verdict for ``submission`` (``Moderator.review``)."""
    return moderator().review(submission)


def report_spam(facts: dict[str, Any], *, block: bool = False, actor: str = "admin") -> bool:
    """The site says this comment is spam (``Moderator.report_spam``)."""
    return moderator().report_spam(facts, block=block, actor=actor)


def report_ham(facts: dict[str, Any]) -> bool:
    """The site approved this comment (``Moderator.report_ham``)."""
    return moderator().report_ham(facts)


__all__ = [
    "HONEYPOT_FIELD",
    "KEYS",
    "Action",
    "AkismetClient",
    "Answer",
    "Check",
    "FormSignals",
    "ModerationSettings",
    "Moderator",
    "Reason",
    "Submission",
    "Trust",
    "Verdict",
    "akismet_fields",
    "decide",
    "load_moderation_settings",
    "moderator",
    "report_ham",
    "report_spam",
    "review",
    "trust_of",
]

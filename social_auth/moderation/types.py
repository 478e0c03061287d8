"""What the host hands the moderator (``Submission``) and what it gets back (``Verdict``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from ..store import Commenter
from ..store.models import utcnow

#: What the host does with the comment: show it, keep it for review, or not store it at all.
Action = Literal["publish", "hold", "discard"]


class Trust(StrEnum):
    """How well the commenter is known, best first (``tiers.trust_of``)."""

    APPROVED = "approved"  # the site approved a comment of theirs before
    IDENTITY = "identity"  # signed in with an account a provider vouched for
    EMAIL = "confirmed_email"  # a guest whose email a mailed link confirmed
    GUEST = "guest"  # a guest typing a name and an unproven email (or nobody at all)


class Answer(StrEnum):
    """What the spam check said."""

    HAM = "ham"
    SPAM = "spam"
    DISCARD = "discard"  # spam, and Akismet's pro-tip says it is blatant
    UNAVAILABLE = "unavailable"  # no usable answer: bad key, timeout, 5xx, malformed, down
    NOT_CHECKED = "not_checked"  # no Akismet key configured


class Reason(StrEnum):
    """Machine-readable reasons a verdict carries (several may apply)."""

    TRUSTED = "trusted_commenter"
    AKISMET_HAM = "akismet_ham"
    AKISMET_SPAM = "akismet_spam"
    AKISMET_DISCARD = "akismet_discard"
    CHECK_UNAVAILABLE = "check_unavailable"
    NOT_CHECKED = "not_checked"
    FIRST_GUEST_COMMENT = "first_guest_comment"
    HONEYPOT = "honeypot_filled"
    TOO_FAST = "posted_too_fast"
    TOKEN_MISSING = "form_token_missing"  # noqa: S105 - a reason code, not a secret
    TOKEN_INVALID = "form_token_invalid"  # noqa: S105 - a reason code, not a secret
    TOKEN_EXPIRED = "form_token_expired"  # noqa: S105 - a reason code, not a secret


#: The form signals that make a submission spam-likely: never published, told to Akismet.
SPAM_LIKELY = frozenset(
    {Reason.HONEYPOT, Reason.TOO_FAST, Reason.TOKEN_MISSING, Reason.TOKEN_INVALID,
     Reason.TOKEN_EXPIRED}
)


@dataclass(frozen=True)
class FormSignals:
    """What the block's hidden fields told about how the form was filled in."""

    #: The honeypot's value (people never see the field, so never fill it).
    honeypot: str = ""
    #: Seconds between the form being rendered and posted, from its signed token.
    seconds_to_submit: float | None = None
    #: One of ``TOO_FAST``, ``TOKEN_MISSING``, ``TOKEN_INVALID``, ``TOKEN_EXPIRED``, or None.
    token_problem: Reason | None = Reason.TOKEN_MISSING

    def reasons(self) -> tuple[Reason, ...]:
        found = [Reason.HONEYPOT] if self.honeypot else []
        if self.token_problem is not None:
            found.append(self.token_problem)
        return tuple(found)


@dataclass(frozen=True)
class Submission:
    """A comment about to be saved, with who wrote it and how it arrived."""

    content: str
    #: The post's full address (``https://blog.example/posts/x``).
    permalink: str
    #: The site's front page (Akismet's ``blog``).
    blog: str
    #: Who is commenting (a guest record too); None for nobody at all.
    commenter: Commenter | None
    ip: str
    user_agent: str = ""
    referrer: str = ""
    form: FormSignals = field(default_factory=FormSignals)
    #: When the post was last changed (old posts attract spam).
    post_modified: datetime | None = None
    submitted_at: datetime = field(default_factory=utcnow)
    comment_type: str = "comment"
    #: The page's language, as ``en`` or ``en, fr_ca``.
    lang: str | None = None
    #: The commenter's role on the site (``administrator`` for the owner), if the host has one.
    user_role: str | None = None
    #: The host's own answer to "did the site approve this commenter before?"; None: the
    #: identity store's (approvals reported through ``report_ham``).
    approved_before: bool | None = None
    #: Set when an edited or old comment is checked again (``edit``, ``recheck_queue``).
    recheck_reason: str | None = None


@dataclass(frozen=True)
class Verdict:
    """The moderator's decision, and the facts to keep with the comment for reporting back."""

    action: Action
    reasons: tuple[Reason, ...]
    trust: Trust
    answer: Answer
    #: JSON-ready: what was sent to Akismet (never the key), its answer, the tier, the reasons.
    #: Keep it with the comment and hand it to ``report_spam`` / ``report_ham`` later.
    facts: dict[str, Any]

    @property
    def stored(self) -> bool:
        """Whether the host keeps the comment (everything but a discard)."""
        return self.action != "discard"

    @property
    def why(self) -> str:
        """The reasons as one line for an admin page."""
        return ", ".join(r.value.replace("_", " ") for r in self.reasons)

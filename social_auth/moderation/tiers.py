"""The trust tiers and what a spam check's answer means for each: the one home of the rule.

| tier | ham (or no key) | spam | discard | check unavailable |
|---|---|---|---|---|
| blocked | refused before any check | | | |
| approved before, provider identity | publish | hold | hold | hold |
| confirmed-email guest | hold first (setting), else publish | hold | hold | hold |
| unverified guest | hold first (setting), else publish | hold | discard | hold |

A spam-likely form (honeypot filled, posted too fast, token missing, forged or expired) is
never published: at best it is held.
"""

from __future__ import annotations

from .types import SPAM_LIKELY, Action, Answer, Reason, Trust

_ANSWER_REASON = {
    Answer.HAM: Reason.AKISMET_HAM,
    Answer.SPAM: Reason.AKISMET_SPAM,
    Answer.DISCARD: Reason.AKISMET_DISCARD,
    Answer.UNAVAILABLE: Reason.CHECK_UNAVAILABLE,
    Answer.NOT_CHECKED: Reason.NOT_CHECKED,
}


def trust_of(*, has_identity: bool, email_verified: bool, approved_before: bool) -> Trust:
    """The best tier the commenter reaches (a blocked one never gets this far)."""
    if approved_before:
        return Trust.APPROVED
    if has_identity:
        return Trust.IDENTITY
    if email_verified:
        return Trust.EMAIL
    return Trust.GUEST


def decide(
    trust: Trust, answer: Answer, signals: tuple[Reason, ...], *, hold_first_guest: bool
) -> tuple[Action, tuple[Reason, ...]]:
    """The action for this tier and answer, and every reason that led to it."""
    reasons = [*signals, _ANSWER_REASON[answer]]
    spam_likely = any(r in SPAM_LIKELY for r in signals)
    if answer is Answer.DISCARD and trust is Trust.GUEST:
        return "discard", tuple(reasons)
    if answer in (Answer.SPAM, Answer.DISCARD, Answer.UNAVAILABLE) or spam_likely:
        return "hold", tuple(reasons)
    if trust in (Trust.APPROVED, Trust.IDENTITY):
        return "publish", (*reasons, Reason.TRUSTED)
    if hold_first_guest:
        return "hold", (*reasons, Reason.FIRST_GUEST_COMMENT)
    return "publish", tuple(reasons)

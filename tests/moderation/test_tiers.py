"""Each trust tier against each answer of a real (local) Akismet: what the verdict is."""

from __future__ import annotations

import pytest

from social_auth import CommenterBlocked
from social_auth.moderation import Answer, FormSignals, Reason, Trust
from social_auth.store import Commenter, IdentityStore
from tests.moderation.conftest import MakeModerator, guest, person, submission
from tools.akismet_fake import FakeAkismet

ANSWERS = {"ham": Answer.HAM, "spam": Answer.SPAM, "discard": Answer.DISCARD,
           "500": Answer.UNAVAILABLE, "off": Answer.NOT_CHECKED}

#: tier -> the action for each Akismet answer (``off``: no key configured).
TABLE = {
    Trust.APPROVED: {"ham": "publish", "spam": "hold", "discard": "hold", "500": "hold",
                     "off": "publish"},
    Trust.IDENTITY: {"ham": "publish", "spam": "hold", "discard": "hold", "500": "hold",
                     "off": "publish"},
    Trust.EMAIL: {"ham": "hold", "spam": "hold", "discard": "hold", "500": "hold",
                  "off": "hold"},
    Trust.GUEST: {"ham": "hold", "spam": "hold", "discard": "discard", "500": "hold",
                  "off": "hold"},
}


def commenter_of(tier: Trust, store: IdentityStore, moderator: MakeModerator) -> Commenter:
    if tier is Trust.APPROVED:
        made = guest(store)
        moderator().approvals.record(made.id)
        return made
    if tier is Trust.IDENTITY:
        return person(store)
    return guest(store, confirmed=tier is Trust.EMAIL)


@pytest.mark.parametrize("mode", list(ANSWERS))
@pytest.mark.parametrize("tier", list(TABLE))
def test_each_tier_and_answer_gives_the_tables_action(
    db: IdentityStore, akismet: FakeAkismet, moderator: MakeModerator, tier: Trust, mode: str
):
    commenter = commenter_of(tier, db, moderator)
    akismet.mode = mode if mode != "off" else "ham"
    chosen = moderator(akismet_key=None) if mode == "off" else moderator()
    verdict = chosen.review(submission(commenter))
    assert (verdict.trust, verdict.answer) == (tier, ANSWERS[mode])
    assert verdict.action == TABLE[tier][mode]
    assert len(akismet.calls("comment-check")) == (0 if mode == "off" else 1)


def test_without_holding_first_comments_a_guest_with_a_ham_answer_is_published(
    db: IdentityStore, moderator: MakeModerator
):
    chosen = moderator(hold_first_guest_comment=False)
    assert chosen.review(submission(guest(db))).action == "publish"
    assert chosen.review(submission(guest(db, "Cy", "cy@example.com", confirmed=True))).action \
        == "publish"


def test_by_default_a_guests_first_comment_is_held_and_says_why(
    db: IdentityStore, moderator: MakeModerator
):
    verdict = moderator().review(submission(guest(db)))
    assert verdict.action == "hold"
    assert Reason.FIRST_GUEST_COMMENT in verdict.reasons and Reason.AKISMET_HAM in verdict.reasons


def test_nobody_signed_in_counts_as_an_unverified_guest(
    akismet: FakeAkismet, moderator: MakeModerator
):
    akismet.mode = "discard"
    verdict = moderator().review(submission(None))
    assert (verdict.trust, verdict.action, verdict.stored) == (Trust.GUEST, "discard", False)


def test_a_blocked_commenter_is_refused_before_any_check(
    db: IdentityStore, akismet: FakeAkismet, moderator: MakeModerator
):
    blocked = db.block(person(db))
    with pytest.raises(CommenterBlocked):
        moderator().review(submission(blocked))
    assert akismet.seen == []


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        (FormSignals("http://spam.example", 30.0, None), Reason.HONEYPOT),
        (FormSignals("", 0.4, Reason.TOO_FAST), Reason.TOO_FAST),
        (FormSignals("", None, Reason.TOKEN_MISSING), Reason.TOKEN_MISSING),
        (FormSignals("", None, Reason.TOKEN_INVALID), Reason.TOKEN_INVALID),
    ],
)
def test_a_spam_likely_form_holds_even_a_trusted_commenters_ham(
    db: IdentityStore, akismet: FakeAkismet, moderator: MakeModerator, form: FormSignals,
    reason: Reason,
):
    verdict = moderator().review(submission(person(db), form=form))
    assert verdict.action == "hold" and reason in verdict.reasons
    [sent] = akismet.calls("comment-check")
    assert sent["honeypot_field_name"] == "sa_hp_url"
    assert sent["sa_hp_url"] == form.honeypot


def test_the_hosts_own_approved_before_answer_wins_over_the_store(
    db: IdentityStore, moderator: MakeModerator
):
    chosen = moderator()
    assert chosen.review(submission(guest(db), approved_before=True)).action == "publish"
    approved = guest(db, "Bo", "bo@example.com")
    chosen.approvals.record(approved.id)
    assert chosen.review(submission(approved, approved_before=False)).action == "hold"


def test_an_approval_carries_over_a_merge(db: IdentityStore, moderator: MakeModerator):
    chosen = moderator()
    old_guest = guest(db)
    chosen.approvals.record(old_guest.id)
    kept = guest(db, "Ann Again", "ann@example.org", confirmed=True)
    db.merge(old_guest, kept, actor="test")
    assert chosen.trust(db.require_by_id(kept.id)) is Trust.APPROVED

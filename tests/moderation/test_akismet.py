"""The Akismet client and the reports, against a local Akismet over real HTTP: the fields it
receives, each documented answer, and every way it can fail (all "check unavailable")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from social_auth.errors import AkismetUnavailable
from social_auth.moderation import AkismetClient, Answer, Reason, Trust
from social_auth.store import IdentityStore
from tests.moderation.conftest import MakeModerator, guest, person, submission
from tools.akismet_fake import SPAM_AUTHOR, VALID_KEY, FakeAkismet, down


def test_comment_check_sends_every_field_that_helps(
    db: IdentityStore, akismet: FakeAkismet, moderator: MakeModerator
):
    jane = person(db)
    moderator(akismet_test=True).review(submission(
        jane, "Hello there", post_modified=datetime(2026, 10, 18, 9, 30, tzinfo=UTC),
        submitted_at=datetime(2026, 12, 1, 12, 0, 5, tzinfo=UTC), lang="en",
        recheck_reason="edit",
    ))
    [sent] = akismet.calls("comment-check")
    assert sent == {
        "api_key": VALID_KEY,
        "blog": "https://blog.example/",
        "user_ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
        "referrer": "https://blog.example/",
        "permalink": "https://blog.example/posts/walking",
        "comment_type": "comment",
        "comment_author": "Jane Doe",
        "comment_author_email": "jane@example.com",
        "comment_content": "Hello there",
        "comment_date_gmt": "2026-12-01T12:00:05Z",
        "comment_post_modified_gmt": "2026-10-18T09:30:00Z",
        "blog_lang": "en",
        "blog_charset": "UTF-8",
        "recheck_reason": "edit",
        "is_test": "1",
        "honeypot_field_name": "sa_hp_url",
        "sa_hp_url": "",
        "comment_seconds_to_submit": "30.0",
    }


def test_an_unverified_email_is_never_sent(
    db: IdentityStore, akismet: FakeAkismet, moderator: MakeModerator
):
    moderator().review(submission(guest(db)))
    [sent] = akismet.calls("comment-check")
    assert "comment_author_email" not in sent and "is_test" not in sent
    assert sent["comment_author"] == "Ann Guest"
    assert sent["comment_author_url"] == "https://ann.example"


def test_the_documented_test_triggers_are_answered_as_documented(
    db: IdentityStore, moderator: MakeModerator
):
    chosen = moderator()
    spammer = guest(db, SPAM_AUTHOR, "x@example.com")
    assert chosen.review(submission(spammer)).answer is Answer.SPAM
    owner = person(db, SPAM_AUTHOR, "owner@example.com")
    verdict = chosen.review(submission(owner, user_role="administrator"))
    assert (verdict.answer, verdict.action) == (Answer.HAM, "publish")


def test_the_discard_pro_tip_is_honoured(akismet: FakeAkismet):
    akismet.mode = "discard"
    client = AkismetClient(VALID_KEY, akismet.url, timeout=1)
    assert client.comment_check({"blog": "https://b.example/", "user_ip": "1.2.3.4"}).answer \
        is Answer.DISCARD


@pytest.mark.parametrize(
    ("setup", "error"),
    [("bad_key", "invalid_key"), ("500", "http_500"), ("garbage", "malformed"),
     ("slow", "timeout"), ("down", "unreachable"), ("missing_field", "malformed")],
)
def test_every_failure_is_check_unavailable_and_the_comment_is_held_and_kept(
    db: IdentityStore, akismet: FakeAkismet, moderator: MakeModerator, setup: str, error: str
):
    settings: dict[str, object] = {"akismet_timeout": 0.3}
    if setup == "bad_key":
        settings["akismet_key"] = "not-the-key"
    elif setup == "down":
        settings["akismet_url"] = down()
    elif setup != "missing_field":
        akismet.mode = setup
    kwargs = {"ip": ""} if setup == "missing_field" else {}
    verdict = moderator(**settings).review(submission(person(db), **kwargs))
    assert (verdict.answer, verdict.action, verdict.stored) == (Answer.UNAVAILABLE, "hold", True)
    assert Reason.CHECK_UNAVAILABLE in verdict.reasons
    assert verdict.facts["error"] == error
    if setup == "bad_key":
        assert "API key" in verdict.facts["debug_help"]


def test_verify_key_says_valid_or_invalid_and_raises_when_unanswered(akismet: FakeAkismet):
    assert AkismetClient(VALID_KEY, akismet.url, timeout=1).verify_key("https://b.example/")
    assert not AkismetClient("wrong", akismet.url, timeout=1).verify_key("https://b.example/")
    assert akismet.calls("verify-key")[0] == {"api_key": VALID_KEY, "blog": "https://b.example/"}
    with pytest.raises(AkismetUnavailable) as info:
        AkismetClient(VALID_KEY, down(), timeout=1).verify_key("https://b.example/")
    assert info.value.reason == "unreachable"


def test_approving_a_comment_akismet_called_spam_reports_ham_and_remembers_the_approval(
    db: IdentityStore, akismet: FakeAkismet, moderator: MakeModerator
):
    chosen = moderator()
    ann = guest(db)
    akismet.mode = "spam"
    held = chosen.review(submission(ann, "Not spam at all"))
    assert chosen.report_ham(held.facts) is True
    [ham] = akismet.calls("submit-ham")
    assert ham["comment_content"] == "Not spam at all" and ham["user_ip"] == "203.0.113.7"
    assert chosen.trust(ann) is Trust.APPROVED
    akismet.mode = "ham"
    assert chosen.review(submission(ann, "Second")).action == "publish"


def test_approving_a_ham_comment_sends_nothing(
    db: IdentityStore, akismet: FakeAkismet, moderator: MakeModerator
):
    chosen = moderator()
    held = chosen.review(submission(guest(db)))
    assert chosen.report_ham(held.facts) is False and akismet.calls("submit-ham") == []


def test_marking_spam_reports_what_akismet_missed_and_can_block_every_identity(
    db: IdentityStore, akismet: FakeAkismet, moderator: MakeModerator
):
    chosen = moderator()
    jane = person(db)
    published = chosen.review(submission(jane, "Buy cheap watches"))
    assert published.action == "publish"
    assert chosen.report_spam(published.facts, block=True) is True
    assert akismet.calls("submit-spam")[0]["comment_content"] == "Buy cheap watches"
    assert db.require_by_id(jane.id).is_blocked
    akismet.mode = "spam"
    caught = chosen.review(submission(guest(db)))
    assert chosen.report_spam(caught.facts) is False  # Akismet knew already
    assert len(akismet.calls("submit-spam")) == 1

"""``Moderator``: reviews a submission (trust tier, form signals, Akismet) and reports the
site's own decisions back (``report_spam`` / ``report_ham``). No Flask: it is handed the
settings, the store and the Akismet client."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .. import signals
from ..errors import BLOCKED_MESSAGE, AkismetUnavailable, CommenterBlocked
from ..store import Commenter, IdentityStore
from ..store.approvals import Approvals
from ..store.models import utcnow
from .akismet import AkismetClient, Check
from .settings import ModerationSettings
from .tiers import decide, trust_of
from .types import Answer, Reason, Submission, Trust, Verdict

#: The honeypot field's name in the block (and what Akismet is told it is called).
HONEYPOT_FIELD = "sa_hp_url"
#: Version of the ``facts`` layout.
FACTS_VERSION = 1
_SIGNALS = {
    "publish": signals.comment_published,
    "hold": signals.comment_held,
    "discard": signals.comment_discarded,
}


def _gmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def akismet_fields(submission: Submission, *, is_test: bool) -> dict[str, str]:
    """Every field of ``comment-check`` that helps, from the submission. The email only
    when it was verified: an unproven address says nothing about its typist."""
    commenter = submission.commenter
    fields = {
        "blog": submission.blog,
        "user_ip": submission.ip,
        "user_agent": submission.user_agent,
        "referrer": submission.referrer,
        "permalink": submission.permalink,
        "comment_type": submission.comment_type,
        "comment_content": submission.content,
        "comment_date_gmt": _gmt(submission.submitted_at),
        "blog_charset": "UTF-8",
    }
    if commenter is not None:
        fields["comment_author"] = commenter.display_name
        if commenter.email and commenter.email_verified:
            fields["comment_author_email"] = commenter.email
        if commenter.website:
            fields["comment_author_url"] = commenter.website
    optional = {
        "comment_post_modified_gmt": _gmt(submission.post_modified)
        if submission.post_modified else None,
        "blog_lang": submission.lang,
        "user_role": submission.user_role,
        "recheck_reason": submission.recheck_reason,
        "is_test": "1" if is_test else None,
    }
    fields.update({k: v for k, v in optional.items() if v})
    fields["honeypot_field_name"] = HONEYPOT_FIELD
    fields[HONEYPOT_FIELD] = submission.form.honeypot
    if submission.form.seconds_to_submit is not None:
        fields["comment_seconds_to_submit"] = f"{submission.form.seconds_to_submit:.1f}"
    return fields


class Moderator:
    """Decides what happens to each comment, for one app."""

    def __init__(
        self, settings: ModerationSettings, store: IdentityStore,
        client: AkismetClient | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.approvals = Approvals(store)
        if client is None and settings.akismet_key is not None:
            client = AkismetClient(
                settings.akismet_key, settings.akismet_url, timeout=settings.akismet_timeout
            )
        self.client = client

    def trust(self, commenter: Commenter | None, approved_before: bool | None = None) -> Trust:
        """The commenter's tier (``tiers.trust_of``)."""
        if commenter is None:
            return Trust.GUEST
        if approved_before is None:
            # Asked of guests only: for a provider identity an approval changes no verdict
            # (both tiers publish on ham), so its comment costs no query.
            approved_before = commenter.is_guest and self.approvals.approved_before(commenter.id)
        return trust_of(
            has_identity=not commenter.is_guest,
            email_verified=commenter.email_verified,
            approved_before=approved_before,
        )

    def review(self, submission: Submission) -> Verdict:
        """The verdict for ``submission``; ``CommenterBlocked`` before any check for a blocked
        commenter. Sends ``comment_published``, ``comment_held`` or ``comment_discarded``."""
        commenter = submission.commenter
        if commenter is not None and commenter.is_blocked:
            raise CommenterBlocked(BLOCKED_MESSAGE)
        trust = self.trust(commenter, submission.approved_before)
        fields = akismet_fields(submission, is_test=self.settings.akismet_test)
        check = self.client.comment_check(fields) if self.client else Check(Answer.NOT_CHECKED)
        action, reasons = decide(
            trust, check.answer, submission.form.reasons(),
            hold_first_guest=self.settings.hold_first_guest_comment,
        )
        facts = _facts(submission, fields, check, trust, action, reasons)
        verdict = Verdict(action, reasons, trust, check.answer, facts)
        _SIGNALS[action].send(self, submission=submission, verdict=verdict)
        return verdict

    def report_ham(self, facts: dict[str, Any]) -> bool:
        """The site approved the comment: remember its commenter as approved, and tell Akismet
        when it had said spam. Whether a report was sent."""
        commenter = self._commenter(facts)
        if commenter is not None:
            self.approvals.record(commenter.id)
        if facts.get("answer") in (Answer.SPAM, Answer.DISCARD) and self.client is not None:
            self.client.submit_ham(facts["fields"])
            return True
        return False

    def report_spam(self, facts: dict[str, Any], *, block: bool = False,
                    actor: str = "admin") -> bool:
        """The site marked the comment spam: tell Akismet unless it said so itself, and with
        ``block`` block its commenter (every identity, every session). Whether a report was
        sent."""
        commenter = self._commenter(facts)
        if block and commenter is not None and not commenter.is_blocked:
            self.store.block(commenter, actor=actor)
        if facts.get("answer") in (Answer.SPAM, Answer.DISCARD) or self.client is None:
            return False
        self.client.submit_spam(facts["fields"])
        return True

    def verify_key(self, blog: str) -> bool:
        """Whether the configured key is valid for ``blog`` (``AkismetUnavailable`` when
        Akismet does not answer, or no key is configured)."""
        if self.client is None:
            raise AkismetUnavailable("not_configured", "SOCIAL_AUTH_AKISMET_KEY is not set")
        return self.client.verify_key(blog)

    def _commenter(self, facts: dict[str, Any]) -> Commenter | None:
        public_id = facts.get("commenter")
        found = self.store.get_by_public_id(public_id) if isinstance(public_id, str) else None
        return self.store.live_commenter(found.id) if found is not None else None


def _facts(
    submission: Submission, fields: dict[str, str], check: Check, trust: Trust,
    action: str, reasons: tuple[Reason, ...],
) -> dict[str, Any]:
    commenter = submission.commenter
    return {
        "v": FACTS_VERSION,
        "action": action,
        "answer": check.answer.value,
        "error": check.error,
        "debug_help": check.debug_help,
        "trust": trust.value,
        "reasons": [r.value for r in reasons],
        "commenter": commenter.public_id if commenter is not None else None,
        "checked_at": utcnow().isoformat(),
        "fields": fields,
    }

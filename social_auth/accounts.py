"""Framework-free account rules the web views, admin and CLI share: what a click on a mailed
link proves (below), guest updates, connecting and merging accounts, ways to sign in, export.

The rule, in one place: a click on a mailed link proves the mailbox to the browser that opens
it, nothing more. So a click

* verifies the email of the commenter that asked only in the browser that asked (bound by a
  random value in that browser's cookie, only its hash kept with the link), and only while that
  browser still holds that commenter, at the same session version and with that address;
* signs a browser in only to the commenter whose *verified* email this is (the mailbox owns
  it): a sign-in link, or a confirmation where the address already has a verified owner;
* anywhere else changes nothing: the link's commenter stays as it was, the link stays usable
  in the right browser, and the page says why.

A mailbox owner's click in their own browser therefore never verifies someone else's commenter
(who typed their address, or brought it unverified from a provider), never signs them in to it,
and so never makes their guest comments claimable, or their later sign-in linkable, by it.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from .config import Settings
from .emails import email_key
from .errors import BLOCKED_MESSAGE, CommenterBlocked, InvalidInput
from .errors import LinkElsewhere as LinkElsewhere
from .errors import LinkInvalid as LinkInvalid
from .guest import GuestDetails
from .profile import Profile, normal_text
from .store import Commenter, IdentityStore
from .store.email_links import EmailLinks, MailedLink, token_hash

Verdict = Literal["verify", "sign_in", "other_browser", "ended"]

USED = "This link was used already or is out of date; ask for a new one."
ENDED = (
    "The sign-in that asked for this link has ended in this browser since (signed out, "
    "changed or merged). Nothing was changed; sign in again and ask for a new link."
)


@dataclass(frozen=True)
class EmailProof:
    """What confirming ``link`` in this browser would do.

    ``asker`` is the commenter the link names (who asked, or for a sign-in link its owner);
    ``target`` the commenter the browser is signed in to on confirming, None when it is refused.
    ``asker_text`` and ``target_text`` describe them for the page, as the mail did.
    """

    verdict: Verdict
    link: MailedLink
    asker: Commenter
    asker_text: str
    target: Commenter | None = None
    target_text: str = ""


def holds_session(commenter: Commenter | None, version: int) -> bool:
    """Whether a session at ``version`` still signs its browser in to ``commenter``: the one
    liveness rule. Sign-out, merge and erase bump or end it; a block suspends it."""
    return (
        commenter is not None
        and commenter.session_version == version
        and commenter.erased_at is None
        and commenter.merged_into_id is None
        and not (commenter.blocked_at is not None and commenter.is_blocked)
    )


def judge(
    link: MailedLink,
    *,
    holder: Commenter | None,
    binding: str | None,
    store: IdentityStore,
    titles: Mapping[str, str],
) -> EmailProof:
    """The verdict for ``link`` opened by a browser that holds ``holder`` (its signed-in
    commenter, or None) and ``binding`` (its binding cookie's value, or None). Reads only;
    raises ``LinkInvalid`` when the link can do nothing anywhere any more."""
    if link.is_sign_in:
        owner = store.find_verified_by_email(link.email)
        if owner is None or owner.id != link.commenter_id:
            raise LinkInvalid(USED)  # the address changed hands or lost its owner since
        text = describe(owner, titles)
        return EmailProof("sign_in", link, owner, text, owner, text)
    asker = store.get(link.commenter_id)
    if asker is None or asker.is_erased:
        raise LinkInvalid(USED)
    asker_text = describe(asker, titles, link.signed_in_with)
    if not bound(link, binding):
        return EmailProof("other_browser", link, asker, asker_text)
    if (
        holder is None
        or holder.id != asker.id
        or not holds_session(asker, link.session_version)
        or email_key(asker.email) != email_key(link.email)
    ):
        return EmailProof("ended", link, asker, asker_text)
    owner = store.find_verified_by_email(link.email)
    if owner is not None and owner.id != asker.id:
        # The mailbox already owns a verified commenter: the proof signs in to that one, and
        # leaves the asker unverified (one verified commenter per address).
        return EmailProof("sign_in", link, asker, asker_text, owner, describe(owner, titles))
    return EmailProof("verify", link, asker, asker_text, asker, asker_text)


def confirm(proof: EmailProof, links: EmailLinks, store: IdentityStore) -> Commenter:
    """Carry out ``proof``: use the link up (once, across workers) and return the commenter
    to sign the browser in to. Refused verdicts raise and change nothing."""
    if proof.verdict == "other_browser":
        raise LinkElsewhere(
            f"This link was asked for in another browser, by {proof.asker_text}. To confirm, "
            "open it in that browser. Nothing was changed; if you did not ask for it, you can "
            "ignore it."
        )
    if proof.verdict == "ended" or proof.target is None:
        raise LinkInvalid(ENDED)
    target = proof.target
    if target.is_blocked:
        raise CommenterBlocked(BLOCKED_MESSAGE)
    if proof.verdict == "verify":
        if links.use_verifying(proof.link) is None:
            raise LinkInvalid(USED)
        verified = store.get(target.id)
        if verified is None:  # pragma: no cover - deleted between two statements
            raise LinkInvalid(USED)
        return verified
    if not links.use(proof.link):
        raise LinkInvalid(USED)
    return target


def bound(link: MailedLink, binding: str | None) -> bool:
    """Whether the browser holding ``binding`` is the one that asked for ``link``."""
    if link.browser_hash is None or not binding:
        return False
    return hmac.compare_digest(token_hash(binding), link.browser_hash)


def confirmation_link(
    links: EmailLinks,
    commenter: Commenter,
    *,
    binding: str,
    signed_in_with: str | None,
    next_url: str | None,
) -> str:
    """A token confirming ``commenter``'s own email, usable only in the browser holding
    ``binding`` while it holds ``commenter``."""
    if not commenter.email:
        raise ValueError("the commenter has no email to confirm")
    return links.issue(
        email=commenter.email,
        commenter=commenter,
        browser_hash=token_hash(binding),
        signed_in_with=signed_in_with,
        next_url=next_url,
    )


def sign_in_link(links: EmailLinks, owner: Commenter, next_url: str | None) -> str:
    """A token signing any browser in to ``owner``, whose verified email it is mailed to."""
    if not owner.email or not owner.email_verified:
        raise ValueError("a sign-in link goes only to a verified email")
    return links.issue(email=owner.email, commenter=owner, browser_hash=None, next_url=next_url)


def describe(
    commenter: Commenter, titles: Mapping[str, str], signed_in_with: str | None = None
) -> str:
    """``“Ann” (signed in with GitHub)``: who a link is for, as the mail and the page say it."""
    # One line, whatever an older row holds: no line break or bidi override can forge a line
    # of the mail's own text.
    name = normal_text(commenter.display_name) or "a commenter without a name"
    if signed_in_with:
        how = f"signed in with {titles.get(signed_in_with, signed_in_with)}"
    elif commenter.identities:
        used = sorted({titles.get(i.provider, i.provider) for i in commenter.identities})
        how = "who signs in with " + ", ".join(used)
    elif commenter.email_verified:
        how = "who signs in by email"
    else:
        how = "commenting as a guest"
    return f"\u201c{name}\u201d ({how})"


# -- guests, connections, merges, export -----------------------------------------------------


def guest_for(
    store: IdentityStore, current: Commenter | None, details: GuestDetails
) -> tuple[Commenter, bool]:
    """The commenter a guest form makes this browser, and whether that starts a session.

    A returning guest (same browser) is updated; anyone else gets a new unverified commenter,
    never an existing one with that email: typing an address proves nothing.
    """
    if current is not None and current.is_guest:
        if (current.display_name, current.email, current.website) == (
            details.display_name,
            details.email,
            details.website,
        ):
            return current, False
        updated = update_guest(
            store, current, details.display_name, details.email, details.website,
            details.avatar_url,
        )
        return updated, True
    guest = store.create_guest(
        details.display_name, details.email, details.website, details.avatar_url
    )
    return guest, True


def update_guest(
    store: IdentityStore,
    current: Commenter,
    name: str,
    email: str | None,
    website: str | None,
    avatar: str | None,
) -> Commenter:
    """Give a guest new details; the caller signs the browser in to the returned commenter."""
    # New details start a new session: a copy of this browser's cookie planted or taken
    # earlier (session fixation) must not follow the guest into details it never saw.
    store.update_guest(current, name, email, website, avatar)
    store.bump_session_version(current)
    updated = store.get(current.id)
    assert updated is not None
    return updated


def is_unverified_guest(commenter: Commenter) -> bool:
    """A guest whose email nobody proved: a name and an address someone typed, nothing more."""
    return commenter.is_guest and not commenter.email_verified


def check_can_connect(commenter: Commenter) -> None:
    """Only a commenter who can sign in again adds another account to connect."""
    if is_unverified_guest(commenter):
        raise InvalidInput("provider", "Guests sign in with an account from the comment form.")


def still_connecting(current: Commenter, started_by: str | None) -> bool:
    """Whether ``current`` is the commenter (``public_id``) that started a connection: a
    browser that changed hands since links nothing."""
    return current.public_id == started_by


def mergeable(owner: Commenter) -> bool:
    """Whether ``owner`` may be merged into another commenter."""
    # A blocked commenter merged into another would escape its block.
    return owner.merged_into_id is None and not owner.is_erased and not owner.is_blocked


def merge_proof(current: Commenter, owner: Commenter, profile: Profile) -> list[Any]:
    """What a merge proof (signed by the caller) says: ``current``, in this session, just
    signed in with ``profile``'s identity, which ``owner`` holds."""
    return [current.id, current.session_version, owner.id, profile.provider, profile.subject]


def merge_claim(
    store: IdentityStore, current: Commenter, proof: Any
) -> tuple[Commenter, str] | None:
    """The commenter (and provider) a merge proof names, if it is still valid for ``current``."""
    try:
        target_id, version, source_id, provider, subject = proof
        source_key = int(source_id)
    except (ValueError, TypeError):
        return None
    if (target_id, version) != (current.id, current.session_version):
        return None  # another session's proof, or one from before a sign-out
    identity = store.find_identity(str(provider), str(subject))
    source = store.get(source_key)
    if identity is None or source is None or identity.commenter_id != source.id:
        return None  # the identity moved meanwhile: the proof is about someone else now
    return source, str(provider)


__all__ = [
    "EmailProof",
    "LinkElsewhere",
    "LinkInvalid",
    "Verdict",
    "bound",
    "check_can_connect",
    "confirm",
    "confirmation_link",
    "describe",
    "guest_for",
    "is_unverified_guest",
    "judge",
    "merge_claim",
    "merge_proof",
    "mergeable",
    "sign_in_link",
    "still_connecting",
    "update_guest",
]


# -- shared by the admin pages, the CLI and the self-service pages ---------------------------


def export_data(store: IdentityStore, settings: Settings, commenter: Commenter) -> dict[str, Any]:
    """Everything held about ``commenter``: the store's record plus, under ``"host"``, what
    ``SOCIAL_AUTH_EXPORT_HOOK`` returns (the host's comments, for example)."""
    data = store.export(commenter)
    if settings.export_hook is not None:
        data["host"] = settings.export_hook(commenter)
    return data


_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_until(value: str, now: datetime) -> datetime:
    """When a block ends: an ISO date or datetime (UTC unless it says otherwise), or a duration
    from ``now`` such as ``7d``, ``12h``; ``InvalidInput`` unless it is in the future."""
    duration = _DURATION.match(value)
    if duration:
        amount, unit = duration.groups()
        until = now + timedelta(**{_UNITS[unit]: int(amount)})
    else:
        try:
            until = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInput(
                "until", f"--until {value!r} is neither an ISO date nor a duration like 7d or 12h."
            ) from None
        if until.tzinfo is None:
            until = until.replace(tzinfo=UTC)
    if until <= now:
        raise InvalidInput("until", f"--until {value!r} is not in the future.")
    return until


__all__ += ["export_data", "parse_until"]

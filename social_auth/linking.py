"""Which commenter a ``Profile`` belongs to: the linking policy of DESIGN.md step 5.

Framework-free: it takes the profile, the commenter being connected to (if any), the store and
an explicit ``LinkingPolicy``, and returns a ``Resolution`` saying what happened.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .emails import email_key
from .errors import BLOCKED_MESSAGE, AccountConflict, CommenterBlocked, StoreConflict
from .provider import Capabilities, Profile, Provider
from .store import Commenter, Identity, IdentityStore, SignIn

Outcome = Literal["signed_in_existing", "created", "linked_by_email", "connected"]

#: Actor recorded in the audit log when an identity is linked by a verified email.
EMAIL_LINK_ACTOR = "linking:verified-email"


@dataclass(frozen=True)
class LinkingPolicy:
    """What a site lets the linking rules do.

    ``capabilities`` maps a profile's ``provider`` (the configured instance name) to what that
    provider declares about email verification. A provider missing from it is not trusted to
    verify emails: an unknown source must never be able to take over a commenter by email.
    """

    link_by_verified_email: bool = False
    capabilities: Mapping[str, Capabilities] = field(default_factory=dict)

    @classmethod
    def from_providers(
        cls, providers: Mapping[str, Provider], *, link_by_verified_email: bool
    ) -> LinkingPolicy:
        """The policy for a site's configured providers (``SocialAuthState.providers``)."""
        return cls(
            link_by_verified_email=link_by_verified_email,
            capabilities={name: p.capabilities for name, p in providers.items()},
        )

    def trusts_email(self, profile: Profile) -> bool:
        """Whether ``profile.email`` is one the provider verified by means we accept.

        A provider that never verifies (Facebook) is never trusted, whatever the payload says;
        the others only when this profile says the email is verified.
        """
        capabilities = self.capabilities.get(profile.provider)
        if capabilities is None or capabilities.email_verified == "never":
            return False
        return profile.email_verified and email_key(profile.email) is not None

    def vetted(self, profile: Profile) -> Profile:
        """``profile`` with ``email_verified`` cleared unless ``trusts_email`` accepts it.

        The store believes ``email_verified`` (it marks a new commenter's email verified, and a
        verified email can later link or claim), so only vetted profiles may reach it.
        """
        if profile.email_verified and not self.trusts_email(profile):
            return dataclasses.replace(profile, email_verified=False)
        return profile


@dataclass(frozen=True)
class Resolution:
    """The commenter a sign-in resolved to, the identity used, and what happened.

    ``outcome`` is one of ``signed_in_existing`` (a known identity), ``created`` (a new
    commenter), ``linked_by_email`` (a new identity joined the commenter with the same verified
    email) or ``connected`` (the identity now belongs to the commenter who was connecting it).
    """

    commenter: Commenter
    identity: Identity
    outcome: Outcome

    @property
    def is_new_commenter(self) -> bool:
        return self.outcome == "created"


def resolve(
    profile: Profile, current: Commenter | None, store: IdentityStore, policy: LinkingPolicy
) -> Resolution:
    """Turn ``profile`` into a commenter, linking or creating as the rules say.

    ``current`` is the signed-in commenter when this sign-in was started to *connect* another
    account (``POST /auth/connections/<provider>``); pass ``None`` for a plain sign-in, which
    replaces any session. A guest whose email nobody verified cannot be connected to: a guest
    record never absorbs a social identity (that would let whoever typed an email first own the
    real person's account), so it is treated as a plain sign-in and the guest may be claimed
    later with ``claim_guest``.

    Raises ``AccountConflict`` (changing nothing) when connecting an identity that belongs to
    another commenter, and ``StoreConflict`` when ``current`` was merged or erased meanwhile.

    Raises ``CommenterBlocked`` when the sign-in would go to a blocked commenter, having
    linked nothing and written nothing to the commenter or identity rows: ``store.sign_in``
    decides on the row it reads anyway, a link by email checks the target it loaded (and the
    store again under its lock). The exception is the repair path for an identity left on a
    merged commenter: its refresh is written before the live commenter is found blocked.
    """
    profile = policy.vetted(profile)
    if current is not None and _can_sign_in(current):
        return _connect(profile, current, store)
    if policy.link_by_verified_email and policy.trusts_email(profile):
        # A known identity keeps its commenter, whatever its email says now: it signs in as
        # usual, and only an unknown one may link by email (one read, not two, either way).
        known = store.sign_in_existing(profile)
        if known is not None:
            return _settle(known, profile, store)
        linked = _link_by_email(profile, store)
        if linked is not None:
            return linked
    return _settle(store.sign_in(profile), profile, store)


def _connect(profile: Profile, current: Commenter, store: IdentityStore) -> Resolution:
    known = store.find_identity(profile.provider, profile.subject)
    if known is not None and known.commenter_id != current.id:
        owner = store.live_commenter(known.commenter_id)
        if owner is None or owner.id != current.id:
            # Someone else's identity: the views offer "sign in with it and merge" instead.
            raise AccountConflict(
                profile.provider, profile.subject, owner.public_id if owner else "?"
            )
        # Left on a tombstone of the current commenter: bring it home.
        store.move_identity(known, current, actor="linking:tombstone")
    identity = store.link(current, profile, unless_blocked=True)
    return Resolution(store.require_by_id(current.id), identity, "connected")


def _link_by_email(profile: Profile, store: IdentityStore) -> Resolution | None:
    """Link an identity not stored a moment ago to the commenter with its verified email."""
    assert profile.email is not None  # trusts_email checked it
    target = store.find_verified_by_email(profile.email)
    if target is None:
        return None
    if target.is_blocked:
        raise CommenterBlocked(BLOCKED_MESSAGE)
    try:
        identity = store.link(target, profile, actor=EMAIL_LINK_ACTOR, unless_blocked=True)
    except (AccountConflict, StoreConflict):
        # A concurrent first sign-in created the identity, or the target was merged or erased
        # meanwhile: the plain sign-in path reads whichever state won.
        return None
    return Resolution(store.require_by_id(target.id), identity, "linked_by_email")


def _settle(signed: SignIn, profile: Profile, store: IdentityStore) -> Resolution:
    """The resolution of a sign-in the store recorded, repairing a stranded identity."""
    commenter, identity, created = signed
    if commenter.merged_into_id is not None or commenter.is_erased:
        # Merges move identities in the same transaction, so this is only a defence against
        # a row left behind by hand or by an older version: follow it to the live commenter,
        # or start afresh if that one was erased.
        live = store.live_commenter(commenter.id)
        if live is None:
            store.release_identity(identity, actor="linking:erased-owner")
            commenter, identity, created = store.sign_in(profile)
        else:
            if live.is_blocked:  # the identity must not move to it
                raise CommenterBlocked(BLOCKED_MESSAGE)
            identity = store.move_identity(identity, live, actor="linking:tombstone")
            commenter = store.require_by_id(live.id)
    return Resolution(commenter, identity, "created" if created else "signed_in_existing")


def _can_sign_in(commenter: Commenter) -> bool:
    return commenter.ways_to_sign_in > 0


# -- the claim step -----------------------------------------------------------------------


def proven_email_keys(commenter: Commenter, policy: LinkingPolicy) -> set[str]:
    """Email keys the commenter proved: a verified email, or one a trusted provider verified."""
    keys = set()
    if commenter.email_verified and commenter.email_key:
        keys.add(commenter.email_key)
    for identity in commenter.identities:
        capabilities = policy.capabilities.get(identity.provider)
        trusted = capabilities is not None and capabilities.email_verified != "never"
        key = email_key(identity.email)
        if trusted and identity.email_verified and key is not None:
            keys.add(key)
    return keys


def claimable_guests(
    commenter: Commenter, store: IdentityStore, policy: LinkingPolicy
) -> list[Commenter]:
    """Unverified guest records carrying an email ``commenter`` proved, oldest first.

    Views offer these after a magic-link verification or a sign-in whose email a provider
    verified; nothing moves until the commenter confirms with ``claim_guest``.
    """
    if commenter.merged_into_id is not None or commenter.is_erased:
        return []
    keys = proven_email_keys(commenter, policy)
    return [g for g in store.unverified_guests(keys) if g.id != commenter.id]


def claim_guest(
    commenter: Commenter,
    guest: Commenter,
    store: IdentityStore,
    policy: LinkingPolicy,
    *,
    actor: str = "commenter",
) -> Commenter:
    """Merge ``guest`` into ``commenter`` after the commenter explicitly asked for it.

    Checked again here, not only when offered: the guest must still be an unverified guest
    with an email the commenter proved. The store sends ``commenters_merged``.
    """
    allowed = {g.id for g in claimable_guests(commenter, store, policy)}
    if guest.id not in allowed:
        raise StoreConflict("That guest record cannot be claimed by this commenter.")
    return store.merge(guest, commenter, actor=actor)


__all__ = [
    "LinkingPolicy",
    "Outcome",
    "Resolution",
    "claim_guest",
    "claimable_guests",
    "proven_email_keys",
    "resolve",
]

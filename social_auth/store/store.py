"""``IdentityStore``: every read and write of commenters, identities and the audit log,
composed from one part per area (reads, sign-in, merging) plus the guest, identity and admin
writes below."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from .. import signals
from ..emails import email_key
from ..errors import BLOCKED_MESSAGE as BLOCKED_MESSAGE
from ..errors import AccountConflict, LastSignInMethod, NotFound
from ..profile import Profile
from .base import VERSION_TABLE as VERSION_TABLE
from .base import alembic_config as alembic_config
from .base import make_engine
from .connections import ThreadConnections as ThreadConnections
from .merging import MergingMixin
from .models import Base, Commenter, EmailLink, Identity, utcnow
from .passkeys import PasskeysMixin, remove_all
from .reads import ReadsMixin
from .results import (
    CommenterDetails,
    CommenterPage,
    MergePreview,
    SignIn,
    Unmerged,
    audit_event_json,
    iso,
)
from .rows import (
    audit,
    identity_query,
    lock,
    lock_identities,
    lock_identity,
    new_identity,
    refresh_identity,
    refuse_blocked,
    refuse_tombstone,
)
from .signin import SignInMixin

# The ``X as X`` imports above keep names that lived here before the split importable from here.


class IdentityStore(SignInMixin, MergingMixin, PasskeysMixin, ReadsMixin):
    """Commenters and their identities. Every method runs in its own transaction and returns
    detached objects whose identities are loaded, so callers may keep them after it returns."""

    @classmethod
    def from_url(cls, url: str, **engine_options: Any) -> IdentityStore:
        return cls(make_engine(url, **engine_options))

    # -- guests and identities -----------------------------------------------------------

    def create_guest(
        self,
        display_name: str,
        email: str | None,
        website: str | None = None,
        avatar_url: str | None = None,
    ) -> Commenter:
        """A commenter with no identity; its email is unverified until proven."""
        with self._sessions() as s, s.begin():
            commenter = Commenter(
                display_name=display_name,
                email=email,
                email_key=email_key(email),
                website=website,
                avatar_url=avatar_url,
                last_seen_at=utcnow(),
                identities=[],
            )
            s.add(commenter)
        return commenter

    def update_guest(
        self,
        commenter: Commenter,
        display_name: str,
        email: str | None,
        website: str | None,
        avatar_url: str | None,
    ) -> Commenter:
        """Change a guest's details; a changed email loses its verification."""
        with self._sessions() as s, s.begin():
            row = lock(s, commenter.id)
            if email_key(email) != row.email_key:
                row.email_verified_at = None
            row.display_name = display_name
            row.email = email
            row.email_key = email_key(email)
            row.website = website
            row.avatar_url = avatar_url
        return self.require_by_id(commenter.id)

    def mark_email_verified(self, commenter: Commenter, email: str) -> Commenter:
        """Record that the commenter proved ``email``; it becomes their email."""
        with self._sessions() as s, s.begin():
            row = lock(s, commenter.id)
            row.email = email
            row.email_key = email_key(email)
            row.email_verified_at = utcnow()
        return self.require_by_id(commenter.id)

    def link(
        self,
        commenter: Commenter,
        profile: Profile,
        *,
        actor: str = "commenter",
        unless_blocked: bool = False,
    ) -> Identity:
        """Attach ``profile``'s identity to ``commenter``.

        Linking an identity the commenter already has only refreshes it; one that belongs to
        someone else raises ``AccountConflict`` and changes nothing. With ``unless_blocked``
        (a sign-in linking on its own) a blocked commenter raises ``CommenterBlocked`` and
        changes nothing either; its row is checked under the lock the link takes anyway.
        """
        now = utcnow()
        try:
            with self._sessions() as s, s.begin():
                # The identity is locked before the commenter, as sign_in does: the opposite
                # order deadlocks against a concurrent sign-in of the same identity.
                existing = s.scalar(
                    identity_query(profile.provider, profile.subject).with_for_update()
                )
                if existing is not None:
                    if existing.commenter_id != commenter.id:
                        other = s.get_one(Commenter, existing.commenter_id)
                        raise AccountConflict(profile.provider, profile.subject, other.public_id)
                    if unless_blocked:
                        refuse_blocked(s.get_one(Commenter, commenter.id), now)
                    refresh_identity(existing, profile, now)
                    return existing
                owner = lock(s, commenter.id)
                refuse_tombstone(owner)
                if unless_blocked:
                    refuse_blocked(owner, now)
                # Someone may have created it while we waited for the commenter's lock. It is
                # read, not refreshed: locking it now would reverse the lock order again.
                created = s.scalar(identity_query(profile.provider, profile.subject))
                if created is not None:
                    if created.commenter_id != owner.id:
                        other = s.get_one(Commenter, created.commenter_id)
                        raise AccountConflict(profile.provider, profile.subject, other.public_id)
                    return created
                identity = new_identity(profile, now)
                identity.commenter_id = owner.id
                s.add(identity)
                s.flush()
                audit(s, actor, "link", owner.id, provider=profile.provider, identity=identity.id)
            signals.identity_linked.send(self, commenter=owner, identity=identity)
            return identity
        except IntegrityError as exc:
            found = self.find_identity(profile.provider, profile.subject)
            if found is not None and found.commenter_id == commenter.id:
                return found
            owner_id = self._public_id_of(found.commenter_id) if found else "?"
            raise AccountConflict(profile.provider, profile.subject, owner_id) from exc

    def unlink(self, identity: Identity, *, actor: str = "commenter") -> None:
        """Remove ``identity``; refuses when it is the commenter's last way to sign in."""
        with self._sessions() as s, s.begin():
            row = lock_identity(s, identity.id)
            if row is None or row.commenter_id != identity.commenter_id:
                raise NotFound("That connected account no longer exists.")
            owner = lock(s, row.commenter_id)
            if owner.ways_to_sign_in <= 1:
                raise LastSignInMethod(
                    "This is the commenter's only way to sign in; connect another account first."
                )
            s.delete(row)
            audit(s, actor, "unlink", owner.id, provider=row.provider, identity=row.id)
        signals.identity_unlinked.send(self, commenter=owner, identity=row)

    def move_identity(self, identity: Identity, target: Commenter, *, actor: str) -> Identity:
        """Give an existing identity to another commenter (an admin's "link").

        Refuses to take a live commenter's last way to sign in; a tombstone's identity (left
        behind by hand or an old version) may always move. Moving it to its owner is a no-op.
        """
        with self._sessions() as s, s.begin():
            row = lock_identity(s, identity.id)
            if row is None:
                raise NotFound("That connected account no longer exists.")
            locked = {cid: lock(s, cid) for cid in sorted({row.commenter_id, target.id})}
            owner, dst = locked[row.commenter_id], locked[target.id]
            if owner.id == dst.id:
                return row
            refuse_tombstone(dst)
            live_owner = owner.merged_into_id is None and owner.erased_at is None
            if live_owner and owner.ways_to_sign_in <= 1:
                raise LastSignInMethod(
                    f"This is commenter {owner.public_id}'s only way to sign in; "
                    "merge the commenters instead."
                )
            row.commenter_id = dst.id
            details = {
                "provider": row.provider,
                "identity": row.id,
                "from": owner.public_id,
                "to": dst.public_id,
            }
            audit(s, actor, "identity_moved_out", owner.id, **details)
            audit(s, actor, "identity_moved_in", dst.id, **details)
        signals.identity_unlinked.send(self, commenter=owner, identity=row)
        signals.identity_linked.send(self, commenter=dst, identity=row)
        return row

    def release_identity(self, identity: Identity, *, actor: str) -> None:
        """Delete an identity whatever its owner keeps, for one stranded on an erased commenter.

        Unlike ``unlink`` this does not protect the last sign-in method: only call it when
        the owner cannot sign in anyway.
        """
        with self._sessions() as s, s.begin():
            row = s.get(Identity, identity.id)
            if row is None:
                return
            s.delete(row)
            audit(s, actor, "unlink", row.commenter_id, provider=row.provider, identity=row.id)

    # -- admin actions ---------------------------------------------------------------------

    def block(
        self, commenter: Commenter, until: datetime | None = None, *, actor: str = "system"
    ) -> Commenter:
        """Block every identity of the commenter and end all their sessions."""
        with self._sessions() as s, s.begin():
            row = lock(s, commenter.id)
            row.blocked_at = utcnow()
            row.blocked_until = until
            row.session_version += 1
            # Passkeys are revoked: the browser is told on their next use (signalUnknown…).
            passkeys = remove_all(s, row)
            audit(s, actor, "block", row.id, until=until.isoformat() if until else None,
                  passkeys_revoked=passkeys)
        blocked = self.require_by_id(commenter.id)
        signals.commenter_blocked.send(self, commenter=blocked, until=until)
        return blocked

    def unblock(self, commenter: Commenter, *, actor: str = "system") -> Commenter:
        with self._sessions() as s, s.begin():
            row = lock(s, commenter.id)
            row.blocked_at = None
            row.blocked_until = None
            audit(s, actor, "unblock", row.id)
        return self.require_by_id(commenter.id)

    def bump_session_version(self, commenter: Commenter) -> int:
        """End every session of the commenter; returns the new version."""
        with self._sessions() as s, s.begin():
            version: int | None = s.scalar(
                update(Commenter)
                .where(Commenter.id == commenter.id)
                .values(session_version=Commenter.session_version + 1)
                .returning(Commenter.session_version)
            )
        if version is None:
            raise NotFound(f"No commenter with id {commenter.public_id!r}.")
        self.notify_changed((commenter.id,))
        return version

    def export(self, commenter: Commenter) -> dict[str, Any]:
        """Everything held about the commenter, as JSON-ready data."""
        row = self.require_by_id(commenter.id)
        return {
            "commenter": {
                "id": row.public_id,
                "display_name": row.display_name,
                "email": row.email,
                "email_verified_at": iso(row.email_verified_at),
                "website": row.website,
                "avatar_url": row.avatar_url,
                "created_at": iso(row.created_at),
                "last_seen_at": iso(row.last_seen_at),
                "blocked_at": iso(row.blocked_at),
                "blocked_until": iso(row.blocked_until),
            },
            "identities": [
                {
                    "provider": i.provider,
                    "subject": i.subject,
                    "email": i.email,
                    "email_verified": i.email_verified,
                    "display_name": i.display_name,
                    "username": i.username,
                    "profile_url": i.profile_url,
                    "avatar_url": i.avatar_url,
                    "created_at": iso(i.created_at),
                    "last_sign_in_at": iso(i.last_sign_in_at),
                }
                for i in row.identities
            ],
            "passkeys": [p.public_json() for p in self.passkeys_of(row)],
            "audit_events": [audit_event_json(e) for e in self.audit_log(row)],
        }

    def erase(self, commenter: Commenter, *, actor: str = "system") -> Commenter:
        """Remove personal data and identities, keeping a tombstone for the host's comments."""
        with self._sessions() as s, s.begin():
            lock_identities(s, Identity.commenter_id == commenter.id)
            row = lock(s, commenter.id)
            removed = len(row.identities)
            for identity in list(row.identities):
                s.delete(identity)
            remove_all(s, row)
            # A pending mailed link holds the address: it goes too, and can sign nobody in.
            s.execute(delete(EmailLink).where(EmailLink.commenter_id == row.id))
            row.display_name = ""
            row.email = None
            row.email_key = None
            row.email_verified_at = None
            row.website = None
            row.avatar_url = None
            row.erased_at = utcnow()
            row.session_version += 1
            audit(s, actor, "erase", row.id, identities_removed=removed)
        erased = self.require_by_id(commenter.id)
        signals.commenter_erased.send(self, commenter=erased)
        return erased


__all__ = [
    "Base",
    "CommenterDetails",
    "CommenterPage",
    "IdentityStore",
    "MergePreview",
    "SignIn",
    "Unmerged",
    "make_engine",
]

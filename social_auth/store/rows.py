"""Row helpers the store's ORM writes share: locks taken in one deadlock-free order, the
refusals checked under them, identity refreshes and audit entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from ..errors import BLOCKED_MESSAGE, CommenterBlocked, NotFound, StoreConflict
from ..profile import Profile
from .models import AuditEvent, Commenter, Identity


def identity_query(provider: str, subject: str) -> Select[Identity]:
    return select(Identity).where(Identity.provider == provider, Identity.subject == subject)


def lock_identity(s: Session, identity_id: int) -> Identity | None:
    return s.scalar(select(Identity).where(Identity.id == identity_id).with_for_update())


def lock_identities(s: Session, *criteria: Any) -> None:
    """Row-lock identities before their commenters.

    ``sign_in`` updates an identity and then its commenter; every write that touches both
    takes its locks in that same order, so it cannot deadlock against a concurrent sign-in.
    """
    s.execute(select(Identity.id).where(*criteria).with_for_update())


def lock(s: Session, commenter_id: int) -> Commenter:
    row = s.scalar(
        select(Commenter)
        .where(Commenter.id == commenter_id)
        .options(selectinload(Commenter.identities))
        .with_for_update()
    )
    if row is None:
        raise NotFound("That commenter no longer exists.")
    return row


def refuse_blocked(row: Commenter, now: datetime) -> None:
    if row.is_blocked_at(now):
        raise CommenterBlocked(BLOCKED_MESSAGE)


def refuse_tombstone(row: Commenter) -> None:
    if row.merged_into_id is not None or row.erased_at is not None:
        raise StoreConflict(f"Commenter {row.public_id} was merged or erased.")


def new_identity(profile: Profile, now: datetime) -> Identity:
    identity = Identity(provider=profile.provider, subject=profile.subject, created_at=now)
    refresh_identity(identity, profile, now)
    return identity


def refresh_identity(identity: Identity, profile: Profile, now: datetime) -> None:
    identity.email = profile.email
    identity.email_verified = profile.email_verified
    identity.display_name = profile.display_name
    identity.username = profile.username
    identity.profile_url = profile.profile_url
    identity.avatar_url = profile.avatar_url
    identity.last_sign_in_at = now


def audit(s: Session, actor: str, action: str, commenter_id: int, **details: Any) -> None:
    s.add(AuditEvent(actor=actor, action=action, commenter_id=commenter_id, details=details))

"""What the store's methods return (sign-ins, pages, details, merge previews), and the one
JSON form of its timestamps and audit entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from .models import AuditEvent, Commenter, Identity


class SignIn(NamedTuple):
    """What ``IdentityStore.sign_in`` did: the commenter, the identity, and whether it was new."""

    commenter: Commenter
    identity: Identity
    created: bool


class Unmerged(NamedTuple):
    """What ``IdentityStore.undo_last_merge`` did: the restored source and the target."""

    source: Commenter
    target: Commenter


@dataclass(frozen=True)
class CommenterPage:
    """One page of a commenter listing, newest first."""

    items: list[Commenter]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@dataclass(frozen=True)
class CommenterDetails:
    """What an admin page or ``commenters show`` needs about one commenter."""

    commenter: Commenter
    #: The live commenter a tombstone was merged into (after following every merge), if any.
    merged_into: Commenter | None
    #: Tombstones merged into this commenter.
    merged_from: list[Commenter]
    audit_events: list[AuditEvent]
    #: Whether ``undo_last_merge`` would succeed now.
    can_undo_merge: bool


@dataclass(frozen=True)
class MergePreview:
    """What ``merge(source, target)`` would do, for a confirmation page; nothing changed yet."""

    source: Commenter
    target: Commenter
    #: The source's identities, which would move to the target.
    identities: list[Identity]
    #: Target fields that are blank and would be filled from the source.
    filled: list[str]
    #: Why the merge would be refused, or None when it may go ahead.
    problem: str | None


def iso(value: datetime | None) -> str | None:
    """A stored time as JSON shows it (ISO 8601, with its UTC offset); None stays None."""
    return value.isoformat() if value is not None else None


def audit_event_json(event: AuditEvent) -> dict[str, Any]:
    """An audit entry as the data export and ``commenters show --json`` list it."""
    return {
        "action": event.action,
        "actor": event.actor,
        "details": event.details,
        "time": iso(event.created_at),
    }


__all__ = [
    "CommenterDetails",
    "CommenterPage",
    "MergePreview",
    "SignIn",
    "Unmerged",
    "audit_event_json",
    "iso",
]

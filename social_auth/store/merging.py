"""Merging two commenters into one, its preview, and undoing the last merge while the audit
log shows no identity change since."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import signals
from ..errors import StoreConflict
from .base import StoreBase, changed
from .models import AuditEvent, Commenter, Identity
from .passkeys import move_all
from .results import MergePreview, Unmerged
from .rows import audit, lock, lock_identities

#: Audit actions that change which identities a commenter owns; an undo of a merge is refused
#: once one of these happened to the target after the merge.
IDENTITY_ACTIONS = frozenset(
    {"link", "unlink", "merge", "unmerge", "identity_moved_in", "identity_moved_out", "erase"}
)


class MergingMixin(StoreBase):
    """``merge``, ``merge_preview`` and ``undo_last_merge``."""

    def merge(self, source: Commenter, target: Commenter, *, actor: str = "system") -> Commenter:
        """Move everything of ``source`` into ``target`` in one transaction.

        ``source`` stays as a tombstone pointing at ``target`` so host data keyed by its public
        id can follow, and its sessions are revoked.
        """
        if source.id == target.id:
            raise StoreConflict("A commenter cannot be merged into itself.")
        with self._sessions() as s, s.begin():
            lock_identities(s, Identity.commenter_id == source.id)
            # Lock in id order so two opposite merges cannot deadlock.
            first, second = sorted((source.id, target.id))
            rows = {first: lock(s, first), second: lock(s, second)}
            src, dst = rows[source.id], rows[target.id]
            for row in (src, dst):
                if row.merged_into_id is not None or row.erased_at is not None:
                    raise StoreConflict(f"Commenter {row.public_id} was merged or erased already.")
            moved = [i.id for i in src.identities]
            s.execute(
                update(Identity).where(Identity.commenter_id == src.id).values(commenter_id=dst.id)
            )
            changed(s, src.id, dst.id)
            passkeys = move_all(s, src, dst)
            # Older tombstones of the source now point at the target; remembered for an undo.
            repointed = list(
                s.scalars(select(Commenter.id).where(Commenter.merged_into_id == src.id))
            )
            s.execute(
                update(Commenter)
                .where(Commenter.merged_into_id == src.id)
                .values(merged_into_id=dst.id)
            )
            filled = _fill_blanks(dst, src)
            src.merged_into_id = dst.id
            src.session_version += 1
            details = {
                "source": src.public_id,
                "target": dst.public_id,
                "identities": moved,
                "repointed": repointed,
                "filled": filled,
                "passkeys": passkeys,
            }
            audit(s, actor, "merge", dst.id, **details)
            audit(s, actor, "merged_into", src.id, **details)
        merged = self.require_by_id(target.id)
        signals.commenters_merged.send(self, source=self.require_by_id(source.id), target=merged)
        return merged

    def merge_preview(self, source: Commenter, target: Commenter) -> MergePreview:
        """What merging ``source`` into ``target`` would move, read without changing anything."""
        src, dst = self.require_by_id(source.id), self.require_by_id(target.id)
        problem = None
        if src.id == dst.id:
            problem = "A commenter cannot be merged into itself."
        else:
            for row in (src, dst):
                if row.merged_into_id is not None or row.erased_at is not None:
                    problem = f"Commenter {row.public_id} was merged or erased already."
        return MergePreview(src, dst, list(src.identities), _blanks_to_fill(dst, src), problem)

    def undo_last_merge(self, commenter: Commenter, *, actor: str = "system") -> Unmerged:
        """Split off the commenter that was last merged into ``commenter``.

        Allowed only while the audit log shows no identity change to ``commenter`` since that
        merge, so exactly the identities that came with the source go back. The source's
        tombstone is cleared and the target's sessions end: someone may be signed in with an
        identity that now belongs to the source again.
        """
        with self._sessions() as s, s.begin():
            event = undoable_merge(s, self.require_by_id(commenter.id))
            src_id = s.scalar(
                select(Commenter.id).where(Commenter.public_id == event.details["source"])
            )
            if src_id is None:
                raise StoreConflict("The merged commenter no longer exists.")
            lock_identities(s, Identity.id.in_(event.details.get("identities", [])))
            first, second = sorted((src_id, commenter.id))
            rows = {first: lock(s, first), second: lock(s, second)}
            src, dst = rows[src_id], rows[commenter.id]
            # Checked again under the locks: a link or another undo may have slipped in.
            if undoable_merge(s, dst).id != event.id:
                raise StoreConflict("The commenter changed meanwhile; try again.")
            if src.merged_into_id != dst.id or src.erased_at is not None:
                raise StoreConflict(f"Commenter {src.public_id} is no longer merged into this one.")
            _split_off(s, event, src, dst, actor)
        result = Unmerged(self.require_by_id(src.id), self.require_by_id(dst.id))
        signals.commenters_unmerged.send(self, source=result.source, target=result.target)
        return result


def _split_off(s: Session, event: AuditEvent, src: Commenter, dst: Commenter, actor: str) -> None:
    """Give back to ``src`` (locked) what the merge ``event`` moved into ``dst`` (locked)."""
    moved: list[int] = event.details.get("identities", [])
    owned = set(s.scalars(select(Identity.id).where(Identity.commenter_id == dst.id)))
    if not set(moved) <= owned:
        raise StoreConflict("Identities changed since the merge; it cannot be undone.")
    if moved:
        s.execute(update(Identity).where(Identity.id.in_(moved)).values(commenter_id=src.id))
    changed(s, src.id, dst.id)
    move_all(s, dst, src, list(event.details.get("passkeys", [])))
    repointed: list[int] = event.details.get("repointed", [])
    if repointed:
        s.execute(
            update(Commenter)
            .where(Commenter.id.in_(repointed), Commenter.merged_into_id == dst.id)
            .values(merged_into_id=src.id)
        )
    cleared = _clear_filled(dst, src, event.details.get("filled", []))
    src.merged_into_id = None
    dst.session_version += 1
    details = {
        "merge_event": event.id,
        "source": src.public_id,
        "target": dst.public_id,
        "identities": moved,
        "cleared": cleared,
    }
    audit(s, actor, "unmerge", dst.id, **details)
    audit(s, actor, "unmerged_from", src.id, **details)


def undoable_merge(s: Session, target: Commenter) -> AuditEvent:
    """The target's last merge not yet undone, if no identity change happened since."""
    if target.merged_into_id is not None or target.erased_at is not None:
        raise StoreConflict(f"Commenter {target.public_id} was merged or erased.")
    newest_first = (
        select(AuditEvent)
        .where(AuditEvent.commenter_id == target.id)
        .order_by(AuditEvent.id.desc())
    )
    events = s.scalars(newest_first)
    undone: set[int] = set()
    for entry in events:
        if entry.action == "unmerge":
            undone.add(int(entry.details["merge_event"]))
        elif entry.action == "merge" and entry.id in undone:
            continue  # a merge already undone: its identities are back where they were
        elif entry.action == "merge":
            return entry
        elif entry.action in IDENTITY_ACTIONS:
            raise StoreConflict(
                "Identities changed since the last merge; it can no longer be undone."
            )
    raise StoreConflict(f"Commenter {target.public_id} has no merge to undo.")


def _blanks_to_fill(target: Commenter, source: Commenter) -> list[str]:
    """The fields a merge fills in ``target`` from ``source``: blank ones the source has, and
    the email (with its verification) only when the target has none."""
    names = [
        name
        for name in ("display_name", "website", "avatar_url")
        if not getattr(target, name) and getattr(source, name)
    ]
    if target.email is None and source.email is not None:
        names.append("email")
    return names


def _fill_blanks(target: Commenter, source: Commenter) -> list[str]:
    """Copy ``_blanks_to_fill`` from the source into the target; the names copied."""
    filled = _blanks_to_fill(target, source)
    for name in filled:
        if name == "email":
            target.email = source.email
            target.email_key = source.email_key
            target.email_verified_at = source.email_verified_at
        else:
            setattr(target, name, getattr(source, name))
    return filled


def _clear_filled(target: Commenter, source: Commenter, filled: list[str]) -> list[str]:
    """Undo ``_fill_blanks`` for fields that still hold the source's value."""
    cleared = []
    for name in filled:
        if name == "email":
            if target.email_key == source.email_key:
                target.email = target.email_key = target.email_verified_at = None
                cleared.append(name)
        elif getattr(target, name) == getattr(source, name):
            setattr(target, name, "" if name == "display_name" else None)
            cleared.append(name)
    return cleared

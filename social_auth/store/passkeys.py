"""Passkeys (WebAuthn credentials) in the identity store: the table, and the reads and writes
of ``IdentityStore`` on it.

Each row is one credential a commenter registered: its id and public key as the
authenticator gave them, the sign count it last reported, a name the commenter chose. The
commenter's ``passkey_count`` is kept with the rows (recounted under the commenter's lock at
each change), so ``Commenter.ways_to_sign_in`` counts passkeys without a join on every page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    LargeBinary,
    String,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from .. import signals
from ..errors import BLOCKED_MESSAGE, CommenterBlocked, LastSignInMethod, NotFound
from .base import StoreBase, changed
from .models import Base, Commenter, IdType, UTCDateTime, utcnow
from .results import iso
from .rows import audit, lock, refuse_tombstone

#: The longest name a commenter may give a passkey.
PASSKEY_NAME_MAX = 64
#: Base64url of the longest credential id WebAuthn allows (1023 bytes).
CREDENTIAL_ID_MAX = 1366


class Passkey(Base):
    """One WebAuthn credential of a commenter (a discoverable one: the browser finds it)."""

    __tablename__ = "social_auth_passkey"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    #: Base64url, exactly as the authenticator made it; compared exactly.
    credential_id: Mapped[str] = mapped_column(String(CREDENTIAL_ID_MAX), unique=True)
    commenter_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("social_auth_commenter.id", ondelete="CASCADE"), index=True
    )
    #: The WebAuthn user handle (base64url) the credential was made for; an assertion's
    #: ``userHandle`` must match it.
    user_handle: Mapped[str] = mapped_column(String(128))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    name: Mapped[str] = mapped_column(String(PASSKEY_NAME_MAX), default="")
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    aaguid: Mapped[str] = mapped_column(String(36), default="")
    backed_up: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def public_json(self) -> dict[str, Any]:
        """The passkey as its owner's pages and exports show it (never the key itself)."""
        return {
            "id": self.id,
            "name": self.name,
            "created_at": iso(self.created_at),
            "last_used_at": iso(self.last_used_at),
            "backed_up": self.backed_up,
            "transports": list(self.transports or []),
        }


def recount(s: Session, row: Commenter) -> None:
    """Set ``row.passkey_count`` (locked by the caller) from its rows."""
    count = s.scalar(
        select(func.count()).select_from(Passkey).where(Passkey.commenter_id == row.id)
    )
    row.passkey_count = int(count or 0)
    changed(s, row.id)


def remove_all(s: Session, row: Commenter) -> int:
    """Delete every passkey of ``row`` (locked): erase and block. How many went."""
    removed = s.scalars(
        delete(Passkey).where(Passkey.commenter_id == row.id).returning(Passkey.id)
    ).all()
    row.passkey_count = 0
    changed(s, row.id)
    return len(removed)


def move_all(s: Session, src: Commenter, dst: Commenter, ids: list[int] | None = None) -> list[int]:
    """Give ``src``'s passkeys (or those of ``ids`` it still holds) to ``dst``, both locked:
    a merge, or undoing one. The ids moved."""
    query = select(Passkey.id).where(Passkey.commenter_id == src.id)
    if ids is not None:
        query = query.where(Passkey.id.in_(ids))
    moved = list(s.scalars(query))
    if moved:
        s.execute(update(Passkey).where(Passkey.id.in_(moved)).values(commenter_id=dst.id))
    recount(s, src)
    recount(s, dst)
    return moved


class PasskeysMixin(StoreBase):
    """Adding, finding, using, renaming and removing passkeys."""

    def add_passkey(self, commenter: Commenter, passkey: Passkey, *, version: int) -> Passkey:
        """Give ``commenter`` a new passkey, if it is still live at session ``version``."""
        with self._sessions() as s, s.begin():
            row = lock(s, commenter.id)
            refuse_tombstone(row)
            if row.is_blocked:
                raise CommenterBlocked(BLOCKED_MESSAGE)
            if row.session_version != version:
                raise NotFound("That sign-in has ended; sign in again to add a passkey.")
            passkey.commenter_id = row.id
            s.add(passkey)
            s.flush()
            recount(s, row)
            audit(s, "commenter", "passkey_added", row.id, passkey=passkey.id, name=passkey.name)
        signals.passkey_added.send(self, commenter=row, passkey=passkey)
        return passkey

    def passkey_by_credential(self, credential_id: str) -> Passkey | None:
        with self._sessions() as s:
            return s.scalar(select(Passkey).where(Passkey.credential_id == credential_id))

    def passkeys_of(self, commenter: Commenter) -> list[Passkey]:
        with self._sessions() as s:
            query = select(Passkey).where(Passkey.commenter_id == commenter.id)
            return list(s.scalars(query.order_by(Passkey.id)))

    def user_handle_of(self, commenter: Commenter) -> str | None:
        """The user handle of the commenter's passkeys, if it has any: a new one reuses it,
        so an authenticator replaces its old credential for the same commenter."""
        with self._sessions() as s:
            query = select(Passkey.user_handle).where(Passkey.commenter_id == commenter.id)
            return s.scalar(query.order_by(Passkey.id).limit(1))

    def passkey_used(self, passkey: Passkey, new_sign_count: int) -> Commenter:
        """Record a verified use of ``passkey``; the owner to sign in. Refuses a blocked owner,
        and a passkey another request used (or that went) meanwhile."""
        now = utcnow()
        with self._sessions() as s, s.begin():
            row = lock(s, passkey.commenter_id)
            if row.is_blocked_at(now):
                raise CommenterBlocked(BLOCKED_MESSAGE)
            done = s.scalar(
                update(Passkey)
                .where(Passkey.id == passkey.id, Passkey.sign_count == passkey.sign_count,
                       Passkey.commenter_id == row.id)
                .values(sign_count=new_sign_count, last_used_at=now)
                .returning(Passkey.id)
            )
            if done is None:
                raise NotFound("That passkey changed meanwhile; try again.")
            row.last_seen_at = now
        return self.require_by_id(passkey.commenter_id)

    def passkey_refused(self, passkey: Passkey, reason: str, **details: Any) -> None:
        """Write the audit event of a refused passkey use (a sign count that went back)."""
        with self._sessions() as s, s.begin():
            audit(s, "system", reason, passkey.commenter_id, passkey=passkey.id, **details)

    def rename_passkey(self, commenter: Commenter, passkey_id: int, name: str) -> Passkey:
        with self._sessions() as s, s.begin():
            row = s.get(Passkey, passkey_id)
            if row is None or row.commenter_id != commenter.id:
                raise NotFound("You have no passkey with that id.")
            row.name = name
        return row

    def remove_passkey(self, commenter: Commenter, passkey_id: int, *, actor: str) -> Passkey:
        """Delete one of ``commenter``'s passkeys; never its last way to sign in."""
        with self._sessions() as s, s.begin():
            owner = lock(s, commenter.id)
            row = s.get(Passkey, passkey_id)
            if row is None or row.commenter_id != owner.id:
                raise NotFound("You have no passkey with that id.")
            if owner.ways_to_sign_in <= 1:
                raise LastSignInMethod(
                    "This passkey is your only way to sign in; connect an account first."
                )
            s.delete(row)
            s.flush()
            recount(s, owner)
            audit(s, actor, "passkey_removed", owner.id, passkey=row.id, name=row.name)
        signals.passkey_removed.send(self, commenter=owner, passkey=row)
        return row

"""Mailed links kept in the identity store's database (table ``social_auth_email_link``).

A token is 32 random bytes, URL-safe: it says nothing (no email, no id), and only its SHA-256
is stored, so a copy of the table signs nobody in. Every rule below is one SQL statement, so it
holds across workers sharing the database: an address has one live link (a unique column; a
newer link replaces the row), and a link is used up by deleting its row (whoever deletes it
first wins). What a click proves, and so whether to use a link up, is ``accounts``' decision.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..emails import email_key
from .models import Commenter, EmailLink, utcnow
from .store import IdentityStore

#: How long a mailed link works.
LINK_MAX_AGE = 15 * 60
#: A token is ``token_urlsafe(32)``: 43 characters. Anything much longer is not one of ours.
TOKEN_MAX_LENGTH = 64
#: Without an upsert (another backend), how often a racing insert is retried.
_INSERT_ATTEMPTS = 5


def token_hash(token: str) -> str:
    """The form a token (or a browser binding) is stored and compared in."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class MailedLink:
    """A live link as stored: for whom, for which address, and bound to which browser."""

    token_hash: str
    email: str
    commenter_id: int
    session_version: int
    #: None: a sign-in link, usable in any browser (it goes only to a verified owner).
    browser_hash: str | None
    signed_in_with: str | None
    next_url: str | None
    expires_at: datetime

    @property
    def is_sign_in(self) -> bool:
        return self.browser_hash is None


class EmailLinks:
    """Issue, look up and use up mailed links in ``store``'s database."""

    def __init__(self, store: IdentityStore, max_age: int = LINK_MAX_AGE) -> None:
        self.store = store
        self.engine = store.engine
        self.max_age = max_age

    def issue(
        self,
        *,
        email: str,
        commenter: Commenter,
        browser_hash: str | None,
        signed_in_with: str | None = None,
        next_url: str | None = None,
    ) -> str:
        """A new token for ``email``; any older link for the address stops working."""
        key = email_key(email)
        if key is None:
            raise ValueError("an address that matches nothing cannot be confirmed")
        for attempt in range(_INSERT_ATTEMPTS):
            token = secrets.token_urlsafe(32)
            now = utcnow()
            values = {
                "token_hash": token_hash(token),
                "email_key": key,
                "email": email,
                "commenter_id": commenter.id,
                "session_version": commenter.session_version,
                "browser_hash": browser_hash,
                "signed_in_with": signed_in_with,
                "next_url": next_url,
                "expires_at": now + timedelta(seconds=self.max_age),
            }
            try:
                with self.engine.begin() as conn:
                    conn.execute(delete(EmailLink).where(EmailLink.expires_at <= now))
                    _replace(conn, values)
                return token
            except IntegrityError:
                # Only without an upsert: another worker's link for this address landed
                # between our delete and insert. Ours is the newer; try again.
                if attempt == _INSERT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def find(self, token: str) -> MailedLink | None:
        """The live link ``token`` opens, or None (unknown, used, replaced or expired)."""
        if not token or len(token) > TOKEN_MAX_LENGTH:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(EmailLink).where(
                    EmailLink.token_hash == token_hash(token), EmailLink.expires_at > utcnow()
                )
            ).one_or_none()
        if row is None:
            return None
        return MailedLink(
            token_hash=row.token_hash,
            email=row.email,
            commenter_id=row.commenter_id,
            session_version=row.session_version,
            browser_hash=row.browser_hash,
            signed_in_with=row.signed_in_with,
            next_url=row.next_url,
            expires_at=row.expires_at,
        )

    def use(self, link: MailedLink) -> bool:
        """Use ``link`` up: True for exactly one caller, whichever worker it runs on."""
        with self.engine.begin() as conn:
            return _delete_live(conn, link)

    def use_verifying(self, link: MailedLink) -> int | None:
        """Use ``link`` up and, in the same transaction, mark its commenter's email verified
        and end the commenter's other sessions; only while that commenter is live and still at
        the link's session version and address. The new session version, or None."""
        with self.engine.begin() as conn:
            if not _delete_live(conn, link):
                return None
            version: int | None = conn.execute(
                update(Commenter)
                .where(
                    Commenter.id == link.commenter_id,
                    Commenter.session_version == link.session_version,
                    Commenter.email_key == email_key(link.email),
                    Commenter.merged_into_id.is_(None),
                    Commenter.erased_at.is_(None),
                )
                .values(
                    email_verified_at=utcnow(), session_version=Commenter.session_version + 1
                )
                .returning(Commenter.session_version)
            ).scalar_one_or_none()
        if version is not None:
            self.store.notify_changed((link.commenter_id,))
        return version


def _replace(conn: Connection, values: dict[str, Any]) -> None:
    """Insert the link, replacing the address's older one: one upsert where the database has
    one (PostgreSQL, SQLite), so racing workers simply take turns on the row."""
    name = conn.dialect.name
    if name in ("postgresql", "sqlite"):
        dialect = postgresql if name == "postgresql" else sqlite
        upsert = dialect.insert(EmailLink).values(values)
        replaced = {k: upsert.excluded[k] for k in values if k != "email_key"}
        conn.execute(upsert.on_conflict_do_update(index_elements=["email_key"], set_=replaced))
        return
    conn.execute(delete(EmailLink).where(EmailLink.email_key == values["email_key"]))
    conn.execute(insert(EmailLink).values(values))


def _delete_live(conn: Connection, link: MailedLink) -> bool:
    deleted = conn.execute(
        delete(EmailLink).where(
            EmailLink.token_hash == link.token_hash, EmailLink.expires_at > utcnow()
        )
    )
    return deleted.rowcount == 1

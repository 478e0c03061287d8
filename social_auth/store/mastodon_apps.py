"""Our client registrations at Mastodon servers (``POST /api/v1/apps``), one per server:
reused by every sign-in there, forgotten when the server refuses them or they expire. Their
number is bounded by the caller (``SOCIAL_AUTH_HANDLES["mastodon"]["max_servers"]``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, UTCDateTime, utcnow
from .store import IdentityStore


class MastodonApp(Base):
    """This site's client at one Mastodon (or compatible) server, by the server's origin."""

    __tablename__ = "social_auth_mastodon_app"

    server: Mapped[str] = mapped_column(String(255), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(255))
    client_secret: Mapped[str] = mapped_column(String(255))
    #: The scopes and redirect URI it was registered with: another set means a new one.
    scopes: Mapped[str] = mapped_column(String(255))
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: ``client_secret_expires_at`` when the server gave one (Mastodon 4.4+), else None.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Registration:
    """One registration, as the sign-in uses it."""

    server: str
    client_id: str
    client_secret: str
    scopes: str
    redirect_uri: str
    expires_at: datetime | None = None

    def usable(self, scopes: str, redirect_uri: str) -> bool:
        fresh = self.expires_at is None or self.expires_at > utcnow()
        return fresh and (self.scopes, self.redirect_uri) == (scopes, redirect_uri)


class MastodonApps:
    """The registrations in ``store``'s database."""

    def __init__(self, store: IdentityStore) -> None:
        self.engine = store.engine

    def find(self, server: str) -> Registration | None:
        columns = (
            MastodonApp.server,
            MastodonApp.client_id,
            MastodonApp.client_secret,
            MastodonApp.scopes,
            MastodonApp.redirect_uri,
            MastodonApp.expires_at,
        )
        with self.engine.connect() as conn:
            row = conn.execute(select(*columns).where(MastodonApp.server == server)).first()
        return None if row is None else Registration(*row)

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(MastodonApp)).scalar_one())

    def keep(self, registration: Registration) -> Registration:
        """Store ``registration``, or return the one another worker stored first."""
        values = {
            "server": registration.server,
            "client_id": registration.client_id,
            "client_secret": registration.client_secret,
            "scopes": registration.scopes,
            "redirect_uri": registration.redirect_uri,
            "expires_at": registration.expires_at,
            "created_at": utcnow(),
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(MastodonApp).values(values))
        except IntegrityError:
            return self.find(registration.server) or registration
        return registration

    def forget(self, server: str) -> None:
        """Drop a registration the server refused or that expired; the next sign-in makes one."""
        with self.engine.begin() as conn:
            conn.execute(delete(MastodonApp).where(MastodonApp.server == server))

"""Stored pictures: the re-encoded bytes of each picture at each size (in the database, or as
files in a directory), and where each commenter's picture came from.

The one garbage rule: a picture that no commenter's ``avatar_url`` names is deleted, rows and
files (``collect_garbage``). Erasing a commenter clears that column, and merging copies it,
so both are handled by the rule without code of their own here.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import (
    Connection,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..profile import URL_MAX
from .connections import ThreadConnections, sqlite_file
from .models import Base, Commenter, IdType, UTCDateTime, utcnow

if TYPE_CHECKING:
    from .store import IdentityStore

#: ``<prefix>/avatars/<key>-<size>.<ext>``: the one shape of a served picture's URL.
PICTURE_URL = re.compile(r"/avatars/(?P<key>[0-9a-f]{32})-(?P<size>\d+)\.(?P<ext>webp|png)$")


SERVED_SQL = "SELECT etag, mime, data FROM social_auth_avatar WHERE key = ? AND size = ?"


class AvatarImage(Base):
    """One picture at one size, as served."""

    __tablename__ = "social_auth_avatar"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    size: Mapped[int] = mapped_column(Integer, primary_key=True)
    etag: Mapped[str] = mapped_column(String(64))
    mime: Mapped[str] = mapped_column(String(32))
    #: The bytes; None when a directory holds them (``SOCIAL_AUTH_AVATAR_DIR``).
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AvatarSource(Base):
    """Where a commenter's picture was fetched from, when, and the last failure."""

    __tablename__ = "social_auth_avatar_source"

    commenter_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("social_auth_commenter.id", ondelete="CASCADE"), primary_key=True
    )
    source_url: Mapped[str | None] = mapped_column(String(URL_MAX))
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failure: Mapped[str | None] = mapped_column(String(64))


class Served(NamedTuple):
    """What the avatar route sends."""

    etag: str
    mime: str
    data: bytes


def picture_key(url: str | None) -> str | None:
    """The key of a served picture's URL (``PICTURE_URL``); None for anything else."""
    found = PICTURE_URL.search(url) if url else None
    return found["key"] if found else None


class AvatarStore:
    """Pictures over the identity store's engine; files under ``directory`` when given."""

    def __init__(self, store: IdentityStore, directory: str | None = None) -> None:
        self.store = store
        self.engine = store.engine
        self.directory = Path(directory) if directory else None
        self._readers = ThreadConnections(store.engine) if sqlite_file(store.engine) else None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

    # -- serving ------------------------------------------------------------------------

    def served(self, key: str, size: int) -> Served | None:
        """The bytes of picture ``key`` at ``size``; None when there is no such picture.

        On a SQLite file, one query on this thread's own connection (the pool's checkout
        costs more than the read); elsewhere through the engine."""
        if self._readers is not None:
            try:
                row = self._readers.get().execute(SERVED_SQL, (key, size)).fetchone()
            except self.engine.dialect.loaded_dbapi.Error:
                self._readers.drop()
                raise
        else:
            t = AvatarImage.__table__
            query = select(t.c.etag, t.c.mime, t.c.data).where(t.c.key == key, t.c.size == size)
            with self.engine.connect() as conn:
                row = conn.execute(query).first()
        if row is None:
            return None
        etag, mime, data = row
        data = data if data is not None else self._read_file(key, size, mime)
        return Served(etag, mime, bytes(data)) if data is not None else None

    def _path(self, key: str, size: int, mime: str) -> Path:
        assert self.directory is not None
        ext = "webp" if mime == "image/webp" else "png"
        return self.directory / key[:2] / f"{key}-{size}.{ext}"

    def _read_file(self, key: str, size: int, mime: str) -> bytes | None:
        if self.directory is None:
            return None
        try:
            return self._path(key, size, mime).read_bytes()
        except OSError:
            return None

    # -- writing ------------------------------------------------------------------------

    def keep(
        self,
        commenter_id: int,
        key: str,
        variants: dict[int, tuple[str, str, bytes]],
        *,
        url: str,
        source_url: str | None,
    ) -> None:
        """Store picture ``key`` (size → (etag, mime, bytes)) and make it the commenter's."""
        for size, (etag, mime, data) in variants.items():
            if self.directory is not None:
                self._write_file(self._path(key, size, mime), data)
            values = {"key": key, "size": size, "etag": etag, "mime": mime,
                      "data": None if self.directory is not None else data}
            with self.engine.begin() as conn:
                exists = conn.execute(
                    select(AvatarImage.key).where(AvatarImage.key == key,
                                                  AvatarImage.size == size)
                ).first()
                if exists is None:
                    conn.execute(insert(AvatarImage).values(values))
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(update(Commenter).where(Commenter.id == commenter_id)
                         .values(avatar_url=url))
            self._record(conn, commenter_id, source_url=source_url, fetched_at=now,
                         failed_at=None, failure=None)
        self.store.notify_changed((commenter_id,))
        self.collect_garbage()

    def _write_file(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".avatar-")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)

    def failed(self, commenter_id: int, source_url: str | None, reason: str) -> None:
        """Record a failed fetch; the commenter keeps the picture they had."""
        with self.engine.begin() as conn:
            self._record(conn, commenter_id, source_url=source_url, failed_at=utcnow(),
                         failure=reason[:64])

    def _record(self, conn: Connection, commenter_id: int, **values: object) -> None:
        changed = conn.execute(
            update(AvatarSource).where(AvatarSource.commenter_id == commenter_id)
            .values(**values)
        ).rowcount
        if not changed:
            exists = conn.execute(
                select(Commenter.id).where(Commenter.id == commenter_id)
            ).first()
            if exists is not None:
                conn.execute(insert(AvatarSource).values(commenter_id=commenter_id, **values))

    def source(self, commenter_id: int) -> AvatarSource | None:
        with self.store.session() as s:
            return s.get(AvatarSource, commenter_id)

    # -- forgetting -----------------------------------------------------------------------

    def forget(self, commenter_id: int) -> None:
        """An erased commenter: where their picture came from goes, and unnamed pictures."""
        with self.engine.begin() as conn:
            conn.execute(delete(AvatarSource).where(AvatarSource.commenter_id == commenter_id))
        self.collect_garbage()

    def purge(self) -> int:
        """Every stored picture removed (commenters show identicons until fetched again)."""
        with self.engine.begin() as conn:
            ids = [r[0] for r in conn.execute(
                select(Commenter.id).where(Commenter.avatar_url.like("%/avatars/%")))]
            conn.execute(update(Commenter).where(Commenter.id.in_(ids)).values(avatar_url=None))
            conn.execute(delete(AvatarSource))
        self.store.notify_changed(ids)
        return self.collect_garbage()

    def collect_garbage(self) -> int:
        """Delete the pictures no commenter's ``avatar_url`` names; how many were deleted."""
        with self.engine.begin() as conn:
            named = {
                picture_key(url)
                for (url,) in conn.execute(
                    select(Commenter.avatar_url).where(Commenter.avatar_url.like("%/avatars/%"))
                )
            }
            rows = conn.execute(select(AvatarImage.key, AvatarImage.size, AvatarImage.mime))
            unnamed = [(k, s, m) for k, s, m in rows if k not in named]
            for key, size, _mime in unnamed:
                conn.execute(delete(AvatarImage).where(AvatarImage.key == key,
                                                       AvatarImage.size == size))
        for key, size, mime in unnamed:
            if self.directory is not None:
                self._path(key, size, mime).unlink(missing_ok=True)
        return len({k for k, _s, _m in unnamed})

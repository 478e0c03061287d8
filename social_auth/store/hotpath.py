"""The sign-in and session-cookie hot path: Core statements built once per dialect, run
straight on the SQLite driver, and rows turned into detached ORM objects without a Session.

A sign-in is the only write a busy blog does in bursts, and the ORM unit of work costs several
times the SQL it sends; SQLAlchemy's compiled cache always hits statements built once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Connection
from sqlalchemy.engine import Row
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.inspection import inspect as sa_inspect
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.session import make_transient_to_detached

from ..emails import email_key
from ..errors import BLOCKED_MESSAGE, CommenterBlocked
from ..profile import Profile
from .connections import ThreadConnections
from .models import Base, Commenter, Identity, new_public_id, utcnow
from .results import SignIn
from .statements import COMMENTER, IDENTITY, HotStatements, hot_statements

# -- the statements' parameters ----------------------------------------------------------------


def refresh_params(profile: Profile, now: datetime) -> dict[str, Any]:
    return {
        "v_provider": profile.provider,
        "v_subject": profile.subject,
        "v_email": profile.email,
        "v_email_verified": profile.email_verified,
        "v_display_name": profile.display_name,
        "v_username": profile.username,
        "v_profile_url": profile.profile_url,
        "v_avatar_url": profile.avatar_url,
        "v_now": now,
    }


def create_params(profile: Profile, statements: HotStatements) -> dict[str, Any]:
    now = utcnow()
    params = _default_params(statements.defaults)
    params.update(refresh_params(profile, now))
    params.update(
        v_public_id=new_public_id(),
        v_commenter_name=profile.display_name or profile.username or "",
        v_email_key=email_key(profile.email),
        v_email_verified_at=now if profile.email_verified else None,
        v_website=profile.profile_url,
    )
    return params


def _default_params(defaults: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """Values of the Python-side column defaults, computed as Core would for a plain INSERT."""
    return {name: d.arg if d.is_scalar else d.arg(None) for name, d in defaults}


# -- one sign-in inside the caller's transaction ------------------------------------------------


class OwnConnection(NamedTuple):
    """A ``ThreadConnections`` connection and the engine's dialect, for ``run``."""

    dbapi: Any
    dialect: Dialect


class Retry(Exception):
    """The sign-in statement found the identity gone under it; try again."""


def touch_on(conn: Connection | OwnConnection, profile: Profile) -> SignIn | None:
    """Refresh a known identity and its owner in ``conn``'s transaction; None if unknown.

    Raises ``CommenterBlocked`` for a blocked owner: the caller's transaction then rolls back
    both updates, so a refused sign-in writes nothing.
    """
    statements = hot_statements(False)
    now = utcnow()
    found = run(conn, statements.touch_identity, refresh_params(profile, now))
    if not found:
        return None
    identity_row = found[0]
    owner = {"v_commenter_id": identity_row["commenter_id"], "v_now": now}
    commenter_row = run(conn, statements.touch_commenter, owner)[0]
    if _blocked_row(commenter_row, now):
        raise CommenterBlocked(BLOCKED_MESSAGE)
    identity_rows = run(conn, statements.identities_of, owner)
    return assemble(commenter_row, identity_rows, identity_row["id"], created=False)


def _blocked_row(row: Mapping[str, Any], now: datetime) -> bool:
    """``Commenter.is_blocked_at`` for a commenter row read by the hot path."""
    until = row["blocked_until"]
    return row["blocked_at"] is not None and (until is None or until > now)


def create_on(conn: Connection | OwnConnection, profile: Profile) -> SignIn:
    """Insert the commenter and its identity in ``conn``'s transaction."""
    statements = hot_statements(False)
    params = create_params(profile, statements)
    commenter_row = run(conn, statements.create_commenter, params)[0]
    params["v_commenter_id"] = commenter_row["id"]
    identity_row = run(conn, statements.create_identity, params)[0]
    return assemble(commenter_row, [identity_row], identity_row["id"], created=True)


# -- straight to the SQLite driver --------------------------------------------------------------


class Prepared(NamedTuple):
    """A statement compiled once for one dialect, with its type conversions looked up."""

    sql: str
    names: tuple[str, ...]
    binds: tuple[Any, ...]
    keys: tuple[str, ...]
    results: tuple[Any, ...]

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        """The driver's rows as dicts, converted by the columns' types."""
        keys, results = self.keys, self.results
        return [
            {k: (r(v) if r else v) for k, r, v in zip(keys, results, row, strict=True)}
            for row in raw
        ]


@cache
def prepared(statement: Any, dialect: Dialect) -> Prepared | None:
    """``statement`` ready for the SQLite driver; None on any other database."""
    compiled = statement.compile(dialect=dialect)
    if not compiled.positional or dialect.name != "sqlite":
        return None
    names = tuple(compiled.positiontup)
    columns = list(statement.exported_columns)
    return Prepared(
        sql=str(compiled),
        names=names,
        binds=tuple(
            compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names
        ),
        keys=tuple(c.name for c in columns),
        results=tuple(c.type.dialect_impl(dialect).result_processor(dialect, None)
                      for c in columns),
    )


def run_transaction_statement(
    own: OwnConnection, sql: str, connections: ThreadConnections
) -> None:
    """Run a transaction statement on ``own``, errors wrapped as SQLAlchemy's (and the
    connection dropped: the next call gets a fresh one)."""
    error = own.dialect.loaded_dbapi.Error
    try:
        own.dbapi.execute(sql)
    except error as exc:
        connections.drop()
        raise DBAPIError.instance(sql, [], exc, error, dialect=own.dialect) from exc


def run(
    conn: Connection | OwnConnection, statement: Any, params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Rows of ``statement`` as dicts, converted by the columns' types.

    On SQLite, where the driver is in-process and SQLAlchemy's per-execution bookkeeping costs
    more than the query, the compiled SQL goes straight to the driver's cursor (inside the
    caller's transaction; errors are wrapped as SQLAlchemy's, as ``execute`` would).
    """
    ready = prepared(statement, conn.dialect)
    if ready is None:
        assert isinstance(conn, Connection)  # an own connection is SQLite's
        return [dict(row._mapping) for row in conn.execute(statement, params)]
    return ready.rows(_fetch_raw(conn, ready, params))


def _fetch_raw(
    conn: Connection | OwnConnection, ready: Prepared, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """SQLite: the driver's rows of a prepared statement, values not yet converted."""
    args = [p(params[n]) if p else params[n] for n, p in zip(ready.names, ready.binds,
                                                             strict=True)]
    if isinstance(conn, OwnConnection):
        dbapi_connection = conn.dbapi
    else:
        dbapi_connection = conn.connection.driver_connection
    assert dbapi_connection is not None
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(ready.sql, args)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
        finally:
            cursor.close()
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(
            ready.sql, args, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
        ) from exc
    return rows


# -- rows into detached ORM objects -------------------------------------------------------------


def sign_in_from_rows(rows: Sequence[Row[Any]], *, created: bool) -> SignIn:
    """Split the prefixed columns of PostgreSQL's one-statement answers into the two objects."""
    first = rows[0]._mapping
    commenter_values = {col.name: first["c_" + col.name] for col in COMMENTER.c}
    identity_values = []
    touched_id = 0
    for row in rows:
        m = row._mapping
        values = {col.name: m["i_" + col.name] for col in IDENTITY.c}
        if m["touched"]:
            touched_id = values["id"]
        identity_values.append(values)
    return assemble(commenter_values, identity_values, touched_id, created=created)


def assemble(
    commenter_values: Mapping[Any, Any],
    identity_values: Sequence[Mapping[Any, Any]],
    identity_id: int,
    *,
    created: bool,
) -> SignIn:
    """Detached ORM objects, as a Session would have left them, built without one."""
    identities = [_detached(Identity, values) for values in identity_values]
    commenter = _detached(Commenter, commenter_values)
    set_committed_value(commenter, "identities", identities)
    for identity in identities:
        set_committed_value(identity, "commenter", commenter)
    identity = next(x for x in identities if x.id == identity_id)
    return SignIn(commenter, identity, created)


def commenter_from_joined(rows: Sequence[Mapping[str, Any]]) -> Commenter | None:
    """The detached commenter of ``statements.session_commenter``'s rows; None for no rows."""
    if not rows:
        return None
    first = rows[0]
    commenter = _detached(Commenter, {col.name: first["c_" + col.name] for col in COMMENTER.c})
    identities = [
        _detached(Identity, {col.name: row["i_" + col.name] for col in IDENTITY.c})
        for row in rows
        if row["i_id"] is not None
    ]
    set_committed_value(commenter, "identities", identities)
    for identity in identities:
        set_committed_value(identity, "commenter", commenter)
    return commenter


_Model = TypeVar("_Model", Commenter, Identity)


def _detached(cls: type[_Model], values: Mapping[Any, Any]) -> _Model:
    obj: _Model = _manager(cls).new_instance()
    # What a query's loader does: column values straight into the instance dict.
    obj.__dict__.update({key: values[key] for key in _column_keys(cls)})
    make_transient_to_detached(obj)
    return obj


@cache
def _manager(cls: type[Base]) -> Any:
    return sa_inspect(cls).class_manager


@cache
def _column_keys(cls: type[Base]) -> tuple[str, ...]:
    mapper = sa_inspect(cls)
    return tuple(prop.key for prop in mapper.column_attrs)

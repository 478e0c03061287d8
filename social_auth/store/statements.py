"""The hot path's Core statements (sign-in and the session-cookie read), built once per
dialect so SQLAlchemy's compiled cache always hits; ``hotpath`` runs them."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import and_, or_, select, update
from sqlalchemy.schema import Column, Table
from sqlalchemy.sql.expression import (
    BindParameter,
    bindparam,
    false,
    insert,
    literal_column,
    true,
    union_all,
)

from .models import Commenter, Identity

COMMENTER: Table = Commenter.__table__  # type: ignore[assignment]
IDENTITY: Table = Identity.__table__  # type: ignore[assignment]
#: Identity columns a sign-in refreshes from the profile, and their bound parameter names.
_REFRESHED = {
    "email": "v_email",
    "email_verified": "v_email_verified",
    "display_name": "v_display_name",
    "username": "v_username",
    "profile_url": "v_profile_url",
    "avatar_url": "v_avatar_url",
    "last_sign_in_at": "v_now",
}


class HotStatements(NamedTuple):
    touch_identity: Any
    touch_commenter: Any
    identities_of: Any
    create_commenter: Any
    create_identity: Any
    sign_in_one: Any  # PostgreSQL only: refresh, or else create, in one statement
    touch_one: Any  # PostgreSQL only: ``sign_in_one`` without the create
    owner_blocked: Any  # PostgreSQL only: whether the identity's owner is blocked
    defaults: tuple[tuple[str, Any], ...]  # bound names and defaults of unset columns


@cache
def hot_statements(postgresql: bool) -> HotStatements:
    statements = _portable_statements()
    return _with_postgresql_statements(statements) if postgresql else statements


@cache
def session_commenter() -> Any:
    """The commenter and its identities by primary key (``v_id``), in one outer join."""
    c, i = COMMENTER, IDENTITY
    return (
        select(*labelled(c, "c_"), *labelled(i, "i_"))
        .select_from(c.outerjoin(i, i.c.commenter_id == c.c.id))
        .where(c.c.id == param("v_id", c.c.id))
        .order_by(i.c.id)
    )


def param(name: str, column: Column[Any]) -> BindParameter[Any]:
    return bindparam(name, type_=column.type)


def labelled(selectable: Any, prefix: str) -> list[Any]:
    return [col.label(prefix + col.name) for col in selectable.c]


def _portable_statements() -> HotStatements:
    """The statements every database runs (UPDATE/INSERT … RETURNING)."""
    c, i = COMMENTER, IDENTITY
    touch_identity = (
        update(i)
        .where(i.c.provider == param("v_provider", i.c.provider),
               i.c.subject == param("v_subject", i.c.subject))
        .values({col: param(name, i.c[col]) for col, name in _REFRESHED.items()})
        .returning(*i.c)
    )
    touch_commenter = (
        update(c)
        .where(c.c.id == param("v_commenter_id", c.c.id))
        .values(last_seen_at=param("v_now", c.c.last_seen_at))
        .returning(*c.c)
    )
    identities_of = (
        select(*i.c).where(i.c.commenter_id == param("v_commenter_id", i.c.commenter_id))
        .order_by(i.c.id)
    )
    commenter_values, identity_values, defaults = _insert_values()
    create_commenter = insert(c).values(commenter_values).returning(*c.c)
    create_identity = (
        insert(i)
        .values(commenter_id=param("v_commenter_id", i.c.commenter_id), **identity_values)
        .returning(*i.c)
    )
    return HotStatements(touch_identity, touch_commenter, identities_of, create_commenter,
                         create_identity, None, None, None, defaults)


def _insert_values() -> tuple[dict[str, Any], dict[str, Any], tuple[tuple[str, Any], ...]]:
    """The bound values of a new commenter and of its identity, and the defaults bound."""
    c, i = COMMENTER, IDENTITY
    commenter_values = {
        "public_id": param("v_public_id", c.c.public_id),
        "display_name": param("v_commenter_name", c.c.display_name),
        "email": param("v_email", c.c.email),
        "email_key": param("v_email_key", c.c.email_key),
        "email_verified_at": param("v_email_verified_at", c.c.email_verified_at),
        "website": param("v_website", c.c.website),
        "created_at": param("v_now", c.c.created_at),
        "last_seen_at": param("v_now", c.c.last_seen_at),
    }
    identity_values: dict[str, Any] = {
        "provider": param("v_provider", i.c.provider),
        "subject": param("v_subject", i.c.subject),
        "created_at": param("v_now", i.c.created_at),
    }
    identity_values.update({col: param(name, i.c[col]) for col, name in _REFRESHED.items()})
    # A nested INSERT gets no Python-side column defaults, so every defaulted column not set
    # above (including ones added later) is bound explicitly; see ``hotpath.create_params``.
    c_defaults = _defaulted(c, "dc_", commenter_values)
    i_defaults = _defaulted(i, "di_", {**identity_values, "commenter_id": None})
    commenter_values.update({col.name: param(name, col) for name, col in c_defaults})
    identity_values.update({col.name: param(name, col) for name, col in i_defaults})
    defaults = tuple((name, col.default) for name, col in (*c_defaults, *i_defaults))
    return commenter_values, identity_values, defaults


def _with_postgresql_statements(portable: HotStatements) -> HotStatements:
    """PostgreSQL: refresh the identity or else create it in one statement of CTEs."""
    c, i = COMMENTER, IDENTITY
    commenter_values, identity_values, _defaults = _insert_values()
    is_key = (i.c.provider == param("v_provider", i.c.provider),
              i.c.subject == param("v_subject", i.c.subject))
    # A blocked owner (as of the statement's snapshot) gets no update, and so no row back:
    # ``owner_blocked`` then tells that answer from an unknown identity.
    blocked = select(c.c.id).where(c.c.id == i.c.commenter_id, _blocked_clause(c)).exists()
    touched = portable.touch_identity.where(~blocked).cte("touched")
    seen = (
        update(c).where(c.c.id == touched.c.commenter_id)
        .values(last_seen_at=param("v_now", c.c.last_seen_at))
        .returning(*c.c).cte("seen")
    )
    others = select(*i.c).where(
        i.c.commenter_id == touched.c.commenter_id, i.c.id != touched.c.id
    )
    owned = union_all(select(*touched.c), others).subquery("owned")
    found = select(*labelled(seen, "c_"), *labelled(owned, "i_"),
                   (owned.c.id == touched.c.id).label("touched"), false().label("created"))
    found = found.select_from(seen.join(owned, true()).join(touched, true()))
    # The inserts run only when the identity does not exist (in the same snapshot as the
    # update; one inserted since makes the insert fail on the unique key: retried).
    made_new = (
        insert(c).from_select(
            list(commenter_values),
            select(*commenter_values.values()).where(~select(i.c.id).where(*is_key).exists()),
        ).returning(*c.c).cte("made_new")
    )
    attached_new = (
        insert(i).from_select(
            ["commenter_id", *identity_values],
            select(made_new.c.id, *identity_values.values()),
        ).returning(*i.c).cte("attached_new")
    )
    created = select(*labelled(made_new, "c_"), *labelled(attached_new, "i_"),
                     true().label("touched"), true().label("created"))
    created = created.select_from(made_new.join(attached_new, true()))
    return HotStatements(
        *portable[:5],
        sign_in_one=union_all(found, created).order_by(literal_column("i_id")),
        touch_one=found.order_by(literal_column("i_id")),
        owner_blocked=select(i.c.id).where(*is_key, blocked),
        defaults=portable.defaults,
    )


def _blocked_clause(c: Table) -> Any:
    """``Commenter.is_blocked_at(v_now)`` in SQL."""
    until = c.c.blocked_until
    return and_(
        c.c.blocked_at.is_not(None),
        or_(until.is_(None), until > param("v_now", c.c.last_seen_at)),
    )


def _defaulted(
    table: Table, prefix: str, given: Mapping[str, Any]
) -> list[tuple[str, Column[Any]]]:
    """Columns with a Python-side default that the statement does not set, and bind names."""
    return [
        (prefix + col.name, col)
        for col in table.c
        if col.name not in given and col.default is not None
    ]

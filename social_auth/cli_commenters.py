"""``flask social-auth commenters list|show``, and how every command shows a commenter: the
JSON shape for scripts and the one-line summary for people."""

from __future__ import annotations

import json
from typing import Any

import click

from .cli_output import emit, explained, json_option
from .state import get_state
from .store import Commenter, CommenterDetails, Identity
from .store.results import iso


def identity_json(identity: Identity) -> dict[str, Any]:
    return {
        "id": identity.id,
        **identity.public_json(),
        "created_at": iso(identity.created_at),
        "last_sign_in_at": iso(identity.last_sign_in_at),
    }


def commenter_json(commenter: Commenter) -> dict[str, Any]:
    """The ``/auth/me`` commenter shape, plus what an admin needs."""
    return {
        **commenter.public_json(),
        "blocked_until": iso(commenter.blocked_until),
        "erased": commenter.is_erased,
        "created_at": iso(commenter.created_at),
        "last_seen_at": iso(commenter.last_seen_at),
        "identities": [identity_json(i) for i in commenter.identities],
    }


def summary(commenter: Commenter) -> str:
    flags = [
        flag
        for flag, on in (
            ("guest", commenter.is_guest),
            ("blocked", commenter.is_blocked),
            ("erased", commenter.is_erased),
            ("merged", commenter.merged_into_id is not None),
        )
        if on
    ]
    providers = ", ".join(f"{i.provider}:{i.subject}" for i in commenter.identities) or "-"
    name = commenter.display_name or "(no name)"
    email = commenter.email or "-"
    extra = f" [{', '.join(flags)}]" if flags else ""
    return f"{commenter.public_id}  {name}  <{email}>  {providers}{extra}"


@click.group("commenters")
def commenters_group() -> None:
    """List and inspect commenters."""


@commenters_group.command("list")
@click.option("--search", "query", default="", help="Name, email, public id, subject or username.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--per-page", default=50, show_default=True, type=click.IntRange(1, 500))
@json_option
def commenters_list(query: str, page: int, per_page: int, as_json: bool) -> None:
    """List commenters, newest first."""
    with explained(as_json):
        found = get_state().store.list_commenters(query, page=page, per_page=per_page)
    data = {
        "commenters": [commenter_json(c) for c in found.items],
        "total": found.total,
        "page": found.page,
        "pages": found.pages,
    }
    lines = [summary(c) for c in found.items] or ["No commenters found."]
    lines.append(f"-- page {found.page} of {found.pages}, {found.total} commenter(s)")
    emit(data, as_json, *lines)


@commenters_group.command("show")
@click.argument("public_id", metavar="ID")
@json_option
def commenters_show(public_id: str, as_json: bool) -> None:
    """Show a commenter with identities, merges and audit log."""
    store = get_state().store
    with explained(as_json):
        details = store.details(store.require(public_id))
    emit(_details_json(details), as_json, *_details_lines(details))


def _details_json(details: CommenterDetails) -> dict[str, Any]:
    return commenter_json(details.commenter) | {
        "merged_into": details.merged_into.public_id if details.merged_into else None,
        "merged_from": [m.public_id for m in details.merged_from],
        "can_undo_merge": details.can_undo_merge,
        "audit_events": [
            {
                "action": e.action,
                "actor": e.actor,
                "details": e.details,
                "time": iso(e.created_at),
            }
            for e in details.audit_events
        ],
    }


def _details_lines(details: CommenterDetails) -> list[str]:
    c = details.commenter
    lines = [
        f"Commenter {c.public_id}",
        f"  name:     {c.display_name or '(none)'}",
        f"  email:    {c.email or '-'} ({'verified' if c.email_verified else 'unverified'})",
        f"  website:  {c.website or '-'}",
        f"  created:  {iso(c.created_at)}",
    ]
    if c.is_blocked:
        lines.append(f"  blocked:  until {iso(c.blocked_until) or 'further notice'}")
    if c.is_erased:
        lines.append(f"  erased:   {iso(c.erased_at)}")
    if details.merged_into:
        lines.append(f"  merged into {details.merged_into.public_id}")
    if details.merged_from:
        lines.append(f"  merged from {', '.join(m.public_id for m in details.merged_from)}")
    lines.append("  identities:")
    lines += [
        f"    #{i.id} {i.provider}:{i.subject}  {i.display_name or ''} <{i.email or '-'}>"
        for i in c.identities
    ] or ["    (none)"]
    lines.append("  audit log:")
    lines += [
        f"    {iso(e.created_at)}  {e.actor}  {e.action}  {json.dumps(e.details, sort_keys=True)}"
        for e in details.audit_events
    ] or ["    (empty)"]
    return lines

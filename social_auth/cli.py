"""``flask social-auth …`` commands."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import IO, Any
from unicodedata import category

import click
from flask import current_app
from flask.cli import AppGroup

from .errors import InvalidInput, NotFound, SocialAuthError, StoreConflict
from .site import path_in
from .state import get_state
from .store import Commenter, Identity, IdentityStore
from .store.models import utcnow
from .views import export_data

social_auth_cli = AppGroup("social-auth", help="Manage Flask-Social-Auth's store and commenters.")


#: What a terminal could act on or a reader misread: controls (ESC starts colour, cursor and
#: title sequences; CR and LF start a forged row), format characters (bidi overrides reorder
#: what follows), private use, surrogates, unassigned code points, Unicode line separators.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})


def printable(*lines: str) -> str:
    """``lines`` joined by newlines, each such character in them shown as its escape (``\\x1b``,
    ``\\u202e``). Every line for people passes through here: a value is inert, in its row."""
    return "\n".join(
        "".join(ascii(ch)[1:-1] if category(ch) in _UNPRINTABLE else ch for ch in line)
        for line in lines
    )


def emit(data: Any, as_json: bool, *lines: str) -> None:
    """Print ``data`` as JSON for scripts (``json`` escapes every control and non-ASCII
    character), or ``lines`` for people, each ``printable``."""
    click.echo(json.dumps(data, indent=2, sort_keys=True) if as_json else printable(*lines))


@social_auth_cli.group("db")
def db_group() -> None:
    """Database schema commands."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def db_upgrade(revision: str, as_json: bool) -> None:
    """Create or upgrade the identity store's tables."""
    store = get_state().store
    store.upgrade_schema(revision)
    url = store.engine.url.render_as_string(hide_password=True)
    emit({"upgraded": True, "revision": revision, "database": url}, as_json, f"Upgraded {url}.")


# -- providers ----------------------------------------------------------------------------


@social_auth_cli.command("providers")
@click.option(
    "--base-url",
    help="Show the callbacks for another address, e.g. https://blog.example (default: "
    "SOCIAL_AUTH_SITE_URL, or SERVER_NAME).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def providers_command(base_url: str | None, as_json: bool) -> None:
    """Each configured provider and the callback URL to register with it."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if base_url is not None and not re.match(r"^https?://[^/\s?#]+(/[^\s?#]*)?$", base_url):
        raise CommandFailed(
            f"--base-url {base_url!r} is not an address such as https://blog.example.",
            code="invalid_input",
            as_json=as_json,
        )
    # The site's own address, as the sign-in pages send it to providers (``site``).
    base = base_url.rstrip("/") if base_url else get_state().settings.site_url or ""
    rows = []
    for name, provider in get_state().providers.items():
        path = path_in(app, "social_auth.callback", {"provider": name})
        rows.append(
            {
                "name": name,
                "adapter": provider.name,
                "title": provider.display_title,
                "protocol": provider.protocol,
                "deprecated": provider.capabilities.deprecated,
                "callback_url": base + path,
            }
        )
    lines = [
        f"{r['name']:<12} {r['adapter']:<10} {r['callback_url']}"
        + ("  (deprecated)" if r["deprecated"] else "")
        for r in rows
    ] or ["No providers are configured (SOCIAL_AUTH_PROVIDERS)."]
    if not base:
        lines.append(
            "Callback URLs are paths: set SOCIAL_AUTH_SITE_URL (or pass --base-url "
            "https://your.site) for the full address to register."
        )
    emit({"providers": rows, "absolute": bool(base)}, as_json, *lines)


# -- commenters ---------------------------------------------------------------------------

#: Actor recorded in the audit log for every change made from the command line.
CLI_ACTOR = "cli"

json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class CommandFailed(click.ClickException):
    """A clear one-line failure (exit status 1), as JSON on stdout when ``--json`` was given."""

    def __init__(self, message: str, *, code: str, as_json: bool) -> None:
        super().__init__(message)
        self.code = code
        self.as_json = as_json

    def show(self, file: IO[Any] | None = None) -> None:
        if self.as_json:
            click.echo(json.dumps({"error": {"code": self.code, "message": self.message}}))
        else:
            super().show(file)

    def format_message(self) -> str:
        return printable(self.message)


@contextmanager
def _explained(as_json: bool) -> Iterator[None]:
    """Turn the package's errors (unknown id, conflicts) into messages instead of tracebacks."""
    try:
        yield
    except SocialAuthError as exc:
        raise CommandFailed(exc.message, code=exc.code, as_json=as_json) from exc


def _store() -> IdentityStore:
    return get_state().store


def _identity_json(identity: Identity) -> dict[str, Any]:
    return {
        "id": identity.id,
        **identity.public_json(),
        "created_at": _iso(identity.created_at),
        "last_sign_in_at": _iso(identity.last_sign_in_at),
    }


def _commenter_json(commenter: Commenter) -> dict[str, Any]:
    """The ``/auth/me`` commenter shape, plus what an admin needs."""
    return {
        **commenter.public_json(),
        "blocked_until": _iso(commenter.blocked_until),
        "erased": commenter.is_erased,
        "created_at": _iso(commenter.created_at),
        "last_seen_at": _iso(commenter.last_seen_at),
        "identities": [_identity_json(i) for i in commenter.identities],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _summary(commenter: Commenter) -> str:
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


def _find_identity(store: IdentityStore, provider: str, subject: str | None) -> Identity:
    """An identity named by ``PROVIDER SUBJECT``, or by its row id given alone."""
    if subject is None:
        if not provider.isdigit():
            raise NotFound(f"Give PROVIDER SUBJECT or an identity id, not {provider!r} alone.")
        identity = store.get_identity(int(provider))
        if identity is None:
            raise NotFound(f"No identity with id {provider}.")
        return identity
    identity = store.find_identity(provider, subject)
    if identity is None:
        raise NotFound(f"No {provider} identity with subject {subject!r}.")
    return identity


def parse_until(value: str, now: datetime) -> datetime:
    """``--until``: an ISO date or datetime (UTC unless it says otherwise), or ``7d``, ``12h``."""
    duration = _DURATION.match(value)
    if duration:
        amount, unit = duration.groups()
        until = now + timedelta(**{_UNITS[unit]: int(amount)})
    else:
        try:
            until = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInput(
                "until", f"--until {value!r} is neither an ISO date nor a duration like 7d or 12h."
            ) from None
        if until.tzinfo is None:
            until = until.replace(tzinfo=UTC)
    if until <= now:
        raise InvalidInput("until", f"--until {value!r} is not in the future.")
    return until


@social_auth_cli.group("commenters")
def commenters_group() -> None:
    """List and inspect commenters."""


@commenters_group.command("list")
@click.option("--search", "query", default="", help="Name, email, public id, subject or username.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--per-page", default=50, show_default=True, type=click.IntRange(1, 500))
@json_option
def commenters_list(query: str, page: int, per_page: int, as_json: bool) -> None:
    """List commenters, newest first."""
    with _explained(as_json):
        found = _store().list_commenters(query, page=page, per_page=per_page)
    data = {
        "commenters": [_commenter_json(c) for c in found.items],
        "total": found.total,
        "page": found.page,
        "pages": found.pages,
    }
    lines = [_summary(c) for c in found.items] or ["No commenters found."]
    lines.append(f"-- page {found.page} of {found.pages}, {found.total} commenter(s)")
    emit(data, as_json, *lines)


@commenters_group.command("show")
@click.argument("public_id", metavar="ID")
@json_option
def commenters_show(public_id: str, as_json: bool) -> None:
    """Show a commenter with identities, merges and audit log."""
    store = _store()
    with _explained(as_json):
        details = store.details(store.require(public_id))
    c = details.commenter
    data = _commenter_json(c) | {
        "merged_into": details.merged_into.public_id if details.merged_into else None,
        "merged_from": [m.public_id for m in details.merged_from],
        "can_undo_merge": details.can_undo_merge,
        "audit_events": [
            {
                "action": e.action,
                "actor": e.actor,
                "details": e.details,
                "time": _iso(e.created_at),
            }
            for e in details.audit_events
        ],
    }
    lines = [
        f"Commenter {c.public_id}",
        f"  name:     {c.display_name or '(none)'}",
        f"  email:    {c.email or '-'} ({'verified' if c.email_verified else 'unverified'})",
        f"  website:  {c.website or '-'}",
        f"  created:  {_iso(c.created_at)}",
    ]
    if c.is_blocked:
        lines.append(f"  blocked:  until {_iso(c.blocked_until) or 'further notice'}")
    if c.is_erased:
        lines.append(f"  erased:   {_iso(c.erased_at)}")
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
        f"    {_iso(e.created_at)}  {e.actor}  {e.action}  {json.dumps(e.details, sort_keys=True)}"
        for e in details.audit_events
    ] or ["    (empty)"]
    emit(data, as_json, *lines)


@social_auth_cli.command("link")
@click.argument("public_id", metavar="ID")
@click.argument("provider")
@click.argument("subject")
@json_option
def link_command(public_id: str, provider: str, subject: str, as_json: bool) -> None:
    """Move the identity PROVIDER SUBJECT to commenter ID.

    Refused when it is its owner's only way to sign in: merge the commenters instead.
    """
    store = _store()
    with _explained(as_json):
        target = store.require(public_id)
        identity = _find_identity(store, provider, subject)
        previous = store.get(identity.commenter_id)
        moved = store.move_identity(identity, target, actor=CLI_ACTOR)
    data = {
        "linked": True,
        "identity": _identity_json(moved),
        "from": previous.public_id if previous else None,
        "to": target.public_id,
    }
    emit(data, as_json, f"Linked {provider}:{subject} to {target.public_id}.")


@social_auth_cli.command("unlink")
@click.argument("public_id", metavar="ID")
@click.argument("provider", metavar="PROVIDER|IDENTITY_ID")
@click.argument("subject", required=False)
@json_option
def unlink_command(public_id: str, provider: str, subject: str | None, as_json: bool) -> None:
    """Remove an identity from commenter ID (never its last way to sign in)."""
    store = _store()
    with _explained(as_json):
        owner = store.require(public_id)
        identity = _find_identity(store, provider, subject)
        if identity.commenter_id != owner.id:
            raise NotFound(f"Commenter {public_id} has no such identity.")
        store.unlink(identity, actor=CLI_ACTOR)
    data = {"unlinked": True, "commenter": owner.public_id, "identity": _identity_json(identity)}
    emit(data, as_json, f"Unlinked {identity.provider}:{identity.subject} from {public_id}.")


def _confirm(question: Sequence[str], yes: bool, as_json: bool) -> None:
    """Ask on stderr (stdout stays clean for ``--json``); refusing exits with status 1."""
    if yes:
        return
    if not click.confirm(printable(*question), default=False, err=True):
        raise CommandFailed("Nothing changed.", code="aborted", as_json=as_json)


@social_auth_cli.command("merge")
@click.argument("source")
@click.argument("target")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def merge_command(source: str, target: str, yes: bool, as_json: bool) -> None:
    """Merge commenter SOURCE into TARGET: identities move, SOURCE becomes a tombstone."""
    store = _store()
    with _explained(as_json):
        preview = store.merge_preview(store.require(source), store.require(target))
        if preview.problem:
            raise StoreConflict(preview.problem)
        src, dst = preview.source, preview.target
        moving = ", ".join(f"{i.provider}:{i.subject}" for i in preview.identities) or "nothing"
        filled = ", ".join(preview.filled) or "nothing"
        question = [
            f"Merge {_summary(src)}",
            f" into {_summary(dst)}?",
            f"Identities moving: {moving}. Target fields filled in: {filled}.",
        ]
        _confirm(question, yes, as_json)
        merged = store.merge(src, dst, actor=CLI_ACTOR)
    data = {"merged": True, "source": src.public_id, "target": _commenter_json(merged)}
    emit(data, as_json, f"Merged {src.public_id} into {merged.public_id}.")


@social_auth_cli.command("block")
@click.argument("public_id", metavar="ID")
@click.option("--until", "until_text", help="ISO date or datetime (UTC), or a duration: 7d, 12h.")
@json_option
def block_command(public_id: str, until_text: str | None, as_json: bool) -> None:
    """Block a commenter across every identity and end their sessions."""
    store = _store()
    with _explained(as_json):
        commenter = store.require(public_id)
        until = parse_until(until_text, utcnow()) if until_text else None
        blocked = store.block(commenter, until, actor=CLI_ACTOR)
    when = f"until {_iso(until)}" if until else "until unblocked"
    data = {"blocked": True, "commenter": _commenter_json(blocked)}
    emit(data, as_json, f"Blocked {public_id} {when}.")


@social_auth_cli.command("unblock")
@click.argument("public_id", metavar="ID")
@json_option
def unblock_command(public_id: str, as_json: bool) -> None:
    """Lift a commenter's block."""
    store = _store()
    with _explained(as_json):
        unblocked = store.unblock(store.require(public_id), actor=CLI_ACTOR)
    data = {"blocked": False, "commenter": _commenter_json(unblocked)}
    emit(data, as_json, f"Unblocked {public_id}.")


@social_auth_cli.command("export")
@click.argument("public_id", metavar="ID")
@json_option
def export_command(public_id: str, as_json: bool) -> None:
    """Print everything held about a commenter as JSON (``--json`` is accepted and implied),
    with the host's part from ``SOCIAL_AUTH_EXPORT_HOOK`` as the self-service export has it."""
    store = _store()
    with _explained(as_json):
        data = export_data(store.require(public_id))
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


@social_auth_cli.command("erase")
@click.argument("public_id", metavar="ID")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def erase_command(public_id: str, yes: bool, as_json: bool) -> None:
    """Erase a commenter's personal data and identities, keeping a tombstone."""
    store = _store()
    with _explained(as_json):
        commenter = store.require(public_id)
        _confirm([f"Erase {_summary(commenter)}? This cannot be undone."], yes, as_json)
        erased = store.erase(commenter, actor=CLI_ACTOR)
    data = {"erased": True, "commenter": _commenter_json(erased)}
    emit(data, as_json, f"Erased {public_id}.")

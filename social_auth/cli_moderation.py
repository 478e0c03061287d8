"""``flask social-auth link|unlink|merge|block|unblock|export|erase``: the changes an admin
makes to one commenter from the command line, each written to the audit log as ``cli``."""

from __future__ import annotations

import json

import click

from .accounts import export_data, parse_until
from .cli_commenters import commenter_json, identity_json, summary
from .cli_output import confirm, emit, explained, json_option
from .errors import NotFound, StoreConflict
from .state import get_state
from .store import Commenter, Identity, IdentityStore
from .store.models import utcnow
from .store.results import iso

#: Actor recorded in the audit log for every change made from the command line.
CLI_ACTOR = "cli"


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


def _report(commenter: Commenter, as_json: bool, line: str, **outcome: bool) -> None:
    """The changed commenter as JSON, with what happened to it; or ``line`` for people."""
    emit({**outcome, "commenter": commenter_json(commenter)}, as_json, line)


@click.command("link")
@click.argument("public_id", metavar="ID")
@click.argument("provider")
@click.argument("subject")
@json_option
def link_command(public_id: str, provider: str, subject: str, as_json: bool) -> None:
    """Move the identity PROVIDER SUBJECT to commenter ID.

    Refused when it is its owner's only way to sign in: merge the commenters instead.
    """
    store = get_state().store
    with explained(as_json):
        target = store.require(public_id)
        identity = _find_identity(store, provider, subject)
        previous = store.get(identity.commenter_id)
        moved = store.move_identity(identity, target, actor=CLI_ACTOR)
    data = {
        "linked": True,
        "identity": identity_json(moved),
        "from": previous.public_id if previous else None,
        "to": target.public_id,
    }
    emit(data, as_json, f"Linked {provider}:{subject} to {target.public_id}.")


@click.command("unlink")
@click.argument("public_id", metavar="ID")
@click.argument("provider", metavar="PROVIDER|IDENTITY_ID")
@click.argument("subject", required=False)
@json_option
def unlink_command(public_id: str, provider: str, subject: str | None, as_json: bool) -> None:
    """Remove an identity from commenter ID (never its last way to sign in)."""
    store = get_state().store
    with explained(as_json):
        owner = store.require(public_id)
        identity = _find_identity(store, provider, subject)
        if identity.commenter_id != owner.id:
            raise NotFound(f"Commenter {public_id} has no such identity.")
        store.unlink(identity, actor=CLI_ACTOR)
    data = {"unlinked": True, "commenter": owner.public_id, "identity": identity_json(identity)}
    emit(data, as_json, f"Unlinked {identity.provider}:{identity.subject} from {public_id}.")


@click.command("merge")
@click.argument("source")
@click.argument("target")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def merge_command(source: str, target: str, yes: bool, as_json: bool) -> None:
    """Merge commenter SOURCE into TARGET: identities move, SOURCE becomes a tombstone."""
    store = get_state().store
    with explained(as_json):
        preview = store.merge_preview(store.require(source), store.require(target))
        if preview.problem:
            raise StoreConflict(preview.problem)
        src, dst = preview.source, preview.target
        moving = ", ".join(f"{i.provider}:{i.subject}" for i in preview.identities) or "nothing"
        filled = ", ".join(preview.filled) or "nothing"
        question = [
            f"Merge {summary(src)}",
            f" into {summary(dst)}?",
            f"Identities moving: {moving}. Target fields filled in: {filled}.",
        ]
        confirm(question, yes, as_json)
        merged = store.merge(src, dst, actor=CLI_ACTOR)
    data = {"merged": True, "source": src.public_id, "target": commenter_json(merged)}
    emit(data, as_json, f"Merged {src.public_id} into {merged.public_id}.")


@click.command("block")
@click.argument("public_id", metavar="ID")
@click.option("--until", "until_text", help="ISO date or datetime (UTC), or a duration: 7d, 12h.")
@json_option
def block_command(public_id: str, until_text: str | None, as_json: bool) -> None:
    """Block a commenter across every identity and end their sessions."""
    store = get_state().store
    with explained(as_json):
        commenter = store.require(public_id)
        until = parse_until(until_text, utcnow()) if until_text else None
        blocked = store.block(commenter, until, actor=CLI_ACTOR)
    when = f"until {iso(until)}" if until else "until unblocked"
    _report(blocked, as_json, f"Blocked {public_id} {when}.", blocked=True)


@click.command("unblock")
@click.argument("public_id", metavar="ID")
@json_option
def unblock_command(public_id: str, as_json: bool) -> None:
    """Lift a commenter's block."""
    store = get_state().store
    with explained(as_json):
        unblocked = store.unblock(store.require(public_id), actor=CLI_ACTOR)
    _report(unblocked, as_json, f"Unblocked {public_id}.", blocked=False)


@click.command("export")
@click.argument("public_id", metavar="ID")
@json_option
def export_command(public_id: str, as_json: bool) -> None:
    """Print everything held about a commenter as JSON (``--json`` is accepted and implied),
    with the host's part from ``SOCIAL_AUTH_EXPORT_HOOK`` as the self-service export has it."""
    state = get_state()
    with explained(as_json):
        data = export_data(state.store, state.settings, state.store.require(public_id))
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


@click.command("erase")
@click.argument("public_id", metavar="ID")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def erase_command(public_id: str, yes: bool, as_json: bool) -> None:
    """Erase a commenter's personal data and identities, keeping a tombstone."""
    store = get_state().store
    with explained(as_json):
        commenter = store.require(public_id)
        confirm([f"Erase {summary(commenter)}? This cannot be undone."], yes, as_json)
        erased = store.erase(commenter, actor=CLI_ACTOR)
    _report(erased, as_json, f"Erased {public_id}.", erased=True)


#: Every command of this module, for ``cli`` to put under ``flask social-auth``.
COMMANDS = (
    link_command,
    unlink_command,
    merge_command,
    block_command,
    unblock_command,
    export_command,
    erase_command,
)

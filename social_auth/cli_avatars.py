"""``flask social-auth avatars refresh [ID]`` and ``avatars purge``: fetch pictures again now,
or remove every stored picture (commenters show identicons until their next sign-in)."""

from __future__ import annotations

import click
from sqlalchemy import select

from .avatars.fetching import Avatars, refresh
from .cli_output import CommandFailed, confirm, emit, explained, json_option
from .state import get_state
from .store import Commenter, Identity


@click.group("avatars")
def avatars_group() -> None:
    """Stored commenter pictures."""


def _avatars(as_json: bool) -> Avatars:
    avatars = get_state().avatars
    if avatars is None or avatars.fetcher is None or not avatars.settings.avatars:
        raise CommandFailed("Pictures are switched off (SOCIAL_AUTH_AVATARS).",
                            code="avatars_off", as_json=as_json)
    return avatars


def _latest_identity(commenter: Commenter) -> Identity | None:
    dated = [i for i in commenter.identities if i.avatar_url]
    return max(dated, key=lambda i: (i.last_sign_in_at is not None, i.last_sign_in_at, i.id),
               default=None)


@avatars_group.command("refresh")
@click.argument("public_id", metavar="[ID]", required=False)
@json_option
def avatars_refresh(public_id: str | None, as_json: bool) -> None:
    """Fetch the picture of commenter ID (or of every commenter) again now."""
    avatars = _avatars(as_json)
    store = get_state().store
    with explained(as_json):
        if public_id is not None:
            chosen = [store.require(public_id)]
        else:
            with store.session() as s:
                chosen = list(s.scalars(select(Commenter).where(Commenter.erased_at.is_(None),
                                                                Commenter.merged_into_id.is_(None))))
    outcomes = {c.public_id: refresh(avatars, c, _latest_identity(c), force=True)
                for c in chosen}
    lines = [f"{pid}: {outcome}" for pid, outcome in outcomes.items()] or ["No commenters."]
    emit({"refreshed": outcomes}, as_json, *lines)


@avatars_group.command("purge")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def avatars_purge(yes: bool, as_json: bool) -> None:
    """Remove every stored picture; each comes back at its commenter's next sign-in."""
    confirm(["Remove every stored commenter picture?"], yes, as_json)
    avatars = get_state().avatars
    removed = avatars.store.purge() if avatars is not None else 0
    emit({"purged": removed}, as_json, f"Removed {removed} picture(s).")

"""``flask social-auth …`` commands."""

from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import AppGroup

from .extension import get_state

social_auth_cli = AppGroup("social-auth", help="Manage Flask-Social-Auth's store and commenters.")


def emit(data: Any, as_json: bool, text: str) -> None:
    """Print ``data`` as JSON for scripts, or ``text`` for people."""
    click.echo(json.dumps(data, indent=2, sort_keys=True) if as_json else text)


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

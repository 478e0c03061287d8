"""``flask social-auth …``: the command group, the site's set-up commands (``db upgrade``,
``providers``) and the commenter commands of ``cli_commenters`` and ``cli_moderation``."""

from __future__ import annotations

import re
import time

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from .cli_akismet import akismet_group
from .cli_avatars import avatars_group
from .cli_commenters import commenters_group
from .cli_moderation import COMMANDS
from .cli_output import CommandFailed, emit, json_option
from .handles import TITLES
from .health_report import report, text_lines
from .site import path_in
from .state import get_state


@click.group("social-auth", cls=AppGroup)
@with_appcontext
def social_auth_cli() -> None:
    """Manage Flask-Social-Auth's store and commenters."""
    # The app context pushed here lasts until the chosen command returns, so the commenter
    # commands can be plain click commands in modules that never import Flask.


@social_auth_cli.group("db")
def db_group() -> None:
    """Database schema commands."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision.")
@json_option
def db_upgrade(revision: str, as_json: bool) -> None:
    """Create or upgrade the identity store's tables."""
    store = get_state().store
    store.upgrade_schema(revision)
    url = store.engine.url.render_as_string(hide_password=True)
    emit({"upgraded": True, "revision": revision, "database": url}, as_json, f"Upgraded {url}.")


@social_auth_cli.command("providers")
@click.option(
    "--base-url",
    help="Show the callbacks for another address, e.g. https://blog.example (default: "
    "SOCIAL_AUTH_SITE_URL, or SERVER_NAME).",
)
@click.option("--health", is_flag=True, help="Also show each provider's capabilities and how "
              "its sign-ins went in the last hour and day.")
@json_option
def providers_command(base_url: str | None, health: bool, as_json: bool) -> None:
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
    for name in get_state().handles.enabled:  # the handle sign-ins: the server is discovered
        path = path_in(app, "social_auth.callback", {"provider": name})
        rows.append(
            {
                "name": name,
                "adapter": "handle",
                "title": TITLES[name],
                "protocol": "oauth2",
                "deprecated": False,
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
    if health:
        recorder = get_state().health
        assert recorder is not None
        entries = report(get_state().providers, recorder,
                         {str(r["name"]): str(r["callback_url"]) for r in rows}, time.time())
        for row, entry in zip(rows, entries, strict=True):
            row["health"] = entry
        lines += [line for entry in entries for line in text_lines(entry)]
    emit({"providers": rows, "absolute": bool(base)}, as_json, *lines)


social_auth_cli.add_command(commenters_group)
social_auth_cli.add_command(avatars_group)
for _command in COMMANDS:
    social_auth_cli.add_command(_command)
social_auth_cli.add_command(akismet_group)

__all__ = ["social_auth_cli"]

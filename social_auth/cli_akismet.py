"""``flask social-auth akismet verify``: checks the configured Akismet key at start-up (a
deploy script runs it before the site takes comments; a bad key would hold every comment)."""

from __future__ import annotations

import click

from .cli_output import CommandFailed, emit, json_option
from .errors import AkismetUnavailable
from .state import get_state


@click.group("akismet")
def akismet_group() -> None:
    """The Akismet spam check (SOCIAL_AUTH_AKISMET_KEY)."""


@akismet_group.command("verify")
@click.option("--blog", help="The site address the key is registered for (default: "
              "SOCIAL_AUTH_SITE_URL).")
@json_option
def verify_command(blog: str | None, as_json: bool) -> None:
    """Ask Akismet whether the configured key is valid for this site."""
    state = get_state()
    moderator = state.moderator
    if moderator is None or not moderator.settings.akismet_on:
        raise CommandFailed("SOCIAL_AUTH_AKISMET_KEY is not set: comments are not checked "
                            "for spam (the trust tiers still apply).", code="not_configured",
                            as_json=as_json)
    site = blog or state.settings.site_url
    if not site:
        raise CommandFailed("Give --blog https://your.site (or set SOCIAL_AUTH_SITE_URL).",
                            code="invalid_input", as_json=as_json)
    site = site.rstrip("/") + "/"
    try:
        valid = moderator.verify_key(site)
    except AkismetUnavailable as exc:
        raise CommandFailed(f"Akismet did not answer ({exc.reason}): {exc.message}",
                            code=exc.code, as_json=as_json) from exc
    if not valid:
        raise CommandFailed(f"Akismet says the key is not valid for {site}.",
                            code="invalid_key", as_json=as_json)
    emit({"valid": True, "blog": site, "url": moderator.settings.akismet_url}, as_json,
         f"The Akismet key is valid for {site}.")

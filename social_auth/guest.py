"""Guest details: validation and the Gravatar picture; no framework imports.

The mailers moved to ``mail`` (re-exported here for the extension's wiring); magic links are
``store.email_links`` and what a click on one proves is ``accounts``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from .errors import InvalidInput
from .mail import ConsoleMailer, Mailer, MailNotSent, SmtpMailer
from .profile import (
    DISPLAY_NAME_MAX,
    EMAIL_MAX,
    WEBSITE_MAX,
    has_bad_character,
    normal_text,
)


@dataclass(frozen=True)
class GuestDetails:
    """Validated guest input, ready for the store."""

    display_name: str
    email: str
    website: str | None

    @property
    def avatar_url(self) -> None:
        """None: a guest's picture is fetched by the server (``avatars``), never linked."""
        return None


def clean_name(value: str | None) -> str:
    """A guest's name kept as a provider's is (``profile.normal_text``), except that what a
    ``Profile`` would remove or cut is refused here: the guest is there to fix it."""
    name = (value or "").strip()
    if not name:
        raise InvalidInput("name", "Please enter your name.")
    if has_bad_character(name):
        raise InvalidInput("name", "Your name contains invisible or control characters.")
    if "<" in name or ">" in name:
        raise InvalidInput("name", "Your name cannot contain < or >.")
    name = normal_text(name)
    if len(name) > DISPLAY_NAME_MAX:
        raise InvalidInput(
            "name", f"Your name can be at most {DISPLAY_NAME_MAX} characters long."
        )
    return name


def clean_email(value: str | None) -> str:
    email = (value or "").strip()
    if not email:
        raise InvalidInput("email", "Please enter your email address.")
    if len(email) > EMAIL_MAX:
        raise InvalidInput("email", f"That email address is too long (at most {EMAIL_MAX}).")
    if has_bad_character(email):
        raise InvalidInput("email", "That email address contains control characters.")
    try:
        result = validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput("email", f"That email address is not valid: {exc}") from exc
    normalized: str = result.normalized
    return normalized


def clean_website(value: str | None) -> str | None:
    website = (value or "").strip()
    if not website:
        return None
    if has_bad_character(website) or any(ch.isspace() for ch in website):
        raise InvalidInput("website", "The website address contains spaces or control characters.")
    if "://" not in website and ":" not in website.split("/")[0]:
        website = "https://" + website  # "example.com" means the site, as WordPress reads it
    if len(website) > WEBSITE_MAX:
        raise InvalidInput(
            "website", f"The website address can be at most {WEBSITE_MAX} characters long."
        )
    try:
        parts = urlsplit(website)
        hostname = parts.hostname
    except ValueError:
        hostname = None
        parts = None
    if parts is None or parts.scheme not in ("http", "https"):
        raise InvalidInput("website", "The website must be an http:// or https:// address.")
    if not hostname or "." not in hostname or parts.username or parts.password:
        raise InvalidInput("website", "The website address needs a domain such as example.com.")
    return website


def validate_guest(name: str | None, email: str | None, website: str | None) -> GuestDetails:
    """Raise ``InvalidInput`` naming the first bad field, else the cleaned details."""
    return GuestDetails(clean_name(name), clean_email(email), clean_website(website))


def gravatar_url(email: str, size: int = 80) -> str:
    """Gravatar's address for ``email`` (SHA-256, which Gravatar accepts), identicon default."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"https://www.gravatar.com/avatar/{digest}?s={size}&d=identicon"


__all__ = [
    "ConsoleMailer",
    "GuestDetails",
    "MailNotSent",
    "Mailer",
    "SmtpMailer",
    "clean_email",
    "clean_name",
    "clean_website",
    "gravatar_url",
    "validate_guest",
]

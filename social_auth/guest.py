"""Guest details, magic-link email verification and the mailers; no framework imports."""

from __future__ import annotations

import hashlib
import smtplib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol, TextIO
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .errors import InvalidInput, SocialAuthError
from .profile import (
    DISPLAY_NAME_MAX,
    EMAIL_MAX,
    WEBSITE_MAX,
    has_bad_character,
    normal_text,
)

#: How long a magic link works.
LINK_MAX_AGE = 15 * 60
VERIFY_SALT = "social-auth.email-verify"
VERIFY_PURPOSE = "verify-email"


class LinkInvalid(SocialAuthError):
    """A magic link is expired, used, altered or meant for something else."""

    status = 400
    code = "link_invalid"


@dataclass(frozen=True)
class GuestDetails:
    """Validated guest input, ready for the store."""

    display_name: str
    email: str
    website: str | None

    @property
    def avatar_url(self) -> str:
        return gravatar_url(self.email)


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


# -- magic links -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkClaim:
    """What a verified magic link proves: whoever holds ``email`` asked as ``commenter_id``."""

    commenter_id: int
    email: str
    session_version: int


class MagicLinks:
    """Signs and checks email-verification tokens.

    A token is bound to its purpose (salt and field), the email, the commenter and that
    commenter's ``session_version``. Consuming it bumps the version, which is what makes it
    single use without any server-side list of used tokens.
    """

    def __init__(self, secret_keys: Sequence[bytes], max_age: int = LINK_MAX_AGE) -> None:
        self._serializer = URLSafeTimedSerializer(list(secret_keys), salt=VERIFY_SALT)
        self.max_age = max_age

    def make(self, commenter_id: int, email: str, session_version: int) -> str:
        return self._serializer.dumps(
            {"p": VERIFY_PURPOSE, "c": commenter_id, "e": email, "v": session_version}
        )

    def read(self, token: str) -> LinkClaim:
        """The claim, or ``LinkInvalid``; the caller still checks it against the store."""
        try:
            data: Any = self._serializer.loads(token, max_age=self.max_age)
        except SignatureExpired as exc:
            raise LinkInvalid("This link has expired; ask for a new one.") from exc
        except BadSignature as exc:
            raise LinkInvalid("This link is not valid; ask for a new one.") from exc
        if not isinstance(data, dict) or data.get("p") != VERIFY_PURPOSE:
            raise LinkInvalid("This link is not an email confirmation link.")
        cid, email, version = data.get("c"), data.get("e"), data.get("v")
        if not (isinstance(cid, int) and isinstance(email, str) and isinstance(version, int)):
            raise LinkInvalid("This link is not valid; ask for a new one.")
        return LinkClaim(cid, email, version)


# -- mailers ---------------------------------------------------------------------------------


class MailNotSent(SocialAuthError):
    """The mail server refused or could not be reached; nothing was sent."""

    status = 503
    code = "mail_not_sent"


class Mailer(Protocol):
    """Anything that can send a plain-text email."""

    def send(self, to: str, subject: str, body: str) -> None: ...


class SmtpMailer:
    """Sends through an SMTP server with ``smtplib``."""

    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:  # refused, unreachable, timed out
            raise MailNotSent(
                "We could not send the confirmation email just now; please try again later."
            ) from exc


class ConsoleMailer:
    """Prints mail to a stream (stderr): for development, where no mail server exists."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, to: str, subject: str, body: str) -> None:
        out = self.stream or sys.stderr
        out.write(f"--- email to {to}: {subject}\n{body}\n---\n")
        out.flush()


def verification_email(link: str, site: str) -> tuple[str, str]:
    """Subject and body of the magic-link email."""
    subject = f"Confirm your email address for {site}"
    body = (
        f"Someone (hopefully you) asked to confirm this address for commenting on {site}.\n\n"
        f"Open this link and press the button to confirm (it works for 15 minutes, once):\n"
        f"{link}\n\nIf you did not ask for this, ignore this email.\n"
    )
    return subject, body

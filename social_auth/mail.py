"""Mailers (SMTP, console), the text of the mailed links, and keeping their tokens out of logs.

Framework-free. What a click on a link proves is ``accounts``' business; the links themselves
live in ``store.email_links``. Here: how the mail reads, and that no shipped log prints a token.
"""

from __future__ import annotations

import logging
import re
import smtplib
import sys
from email.message import EmailMessage
from typing import Protocol, TextIO

from .errors import MailNotSent as MailNotSent

#: The query parameter a mailed link carries its token in: never a path segment, because the
#: shipped access-log formats print paths (gunicorn's ``%(U)s``) but not queries.
TOKEN_PARAM = "token"  # noqa: S105 - a parameter name, not a secret


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


# -- what the mail says ----------------------------------------------------------------------
# Written for the mailbox owner who did NOT ask: it names the sign-in that asked and says what
# pressing Confirm does, so a link asked for by someone else is recognisable as such.


def confirmation_email(
    *, site: str, email: str, asker: str, link: str, minutes: int
) -> tuple[str, str]:
    """Subject and body of a link confirming ``email`` for the sign-in described by ``asker``."""
    subject = f"Confirm your email address for {site}"
    body = (
        f"Someone commenting on {site} as {asker} asked to confirm this address ({email})"
        " for that sign-in.\n\n"
        "Pressing Confirm marks this address as verified for that sign-in: it can then sign"
        " in by email, and take over comments left as a guest with this address. The link"
        f" works only in the browser that asked, once, for {minutes} minutes.\n\n"
        f"If that was you, open this link in that browser and press Confirm:\n{link}\n\n"
        "If it was not you, ignore this email: nothing changes, and the link does nothing"
        " in any other browser.\n"
    )
    return subject, body


def sign_in_email(*, site: str, owner: str, link: str, minutes: int) -> tuple[str, str]:
    """Subject and body of a link signing in to the commenter ``owner`` whose verified email
    this mailbox is."""
    subject = f"Sign in to {site}"
    body = (
        f"Someone asked to sign in to {site} by email as {owner}, the commenter whose"
        " verified email address this is.\n\n"
        f"Pressing Confirm signs the browser that opens this link in as {owner}. It works"
        f" once, for {minutes} minutes:\n{link}\n\n"
        "If you did not ask for this, ignore this email: nothing changes.\n"
    )
    return subject, body


# -- no token in the logs ----------------------------------------------------------------------

_TOKEN_IN_QUERY = re.compile(rf"([?&]{TOKEN_PARAM}=)[^&\s\"']+")


class RedactTokens(logging.Filter):
    """Replaces the value of every ``token=`` query parameter in a record's text.

    On Werkzeug's logger it keeps the development server's request log (``make run``), which
    prints whole request lines, from writing a mailed link's token.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        redacted = _TOKEN_IN_QUERY.sub(r"\1[redacted]", text)
        if redacted != text:
            record.msg, record.args = redacted, None
        return True


_REDACT = RedactTokens()


def redact_tokens_in_server_logs() -> None:
    """Install ``RedactTokens`` on Werkzeug's logger, once per process."""
    logger = logging.getLogger("werkzeug")
    if _REDACT not in logger.filters:
        logger.addFilter(_REDACT)

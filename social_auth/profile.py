"""``Profile``, what a provider vouched for, and the one home of the rules for the text it and the
guest form carry: how long each field may be, which characters never belong in a name, and
which URLs a page may show.

Provider text is cleaned, never refused: a person whose real name is long, or whose provider
lets names hold a newline or a bidi override, still signs in (``Profile.__post_init__``). The
guest form, where the person is there to fix it, refuses instead, with the same limits and the
same character rule (``guest.clean_name``). Every limit is at most the length of the column
that keeps the value (``store/models.py`` builds its columns from these names, and a test
compares each limit with the migrated schema), so no value is too long for the database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from .errors import ProviderError

EmailVerification = Literal["claim", "api_field", "never"]

#: A display name: a commenter's, an identity's, a guest's. Longer provider names are cut.
DISPLAY_NAME_MAX = 200
#: A provider username (login, screen name). Longer ones are cut.
USERNAME_MAX = 200
#: An email address (RFC 5321 §4.5.3.1.3: the 256-octet path holds 254). Longer ones are
#: dropped: a cut address is someone else's. The email columns are wider (320).
EMAIL_MAX = 254
#: An avatar URL, and the identity's profile-URL column. Longer URLs are dropped, never cut (a
#: cut URL points elsewhere).
URL_MAX = 1000
#: A website: a guest's, or the profile URL a first sign-in makes the commenter's website.
WEBSITE_MAX = 500
#: A provider's profile URL becomes the new commenter's website, so it obeys that limit.
PROFILE_URL_MAX = WEBSITE_MAX
#: A provider subject. Never altered (compared exactly as issued): a longer one is refused.
SUBJECT_MAX = 255

#: Unicode categories no name, email or URL holds: Cc control characters (NUL, ESC, BEL, CR,
#: LF, ...); Cf format characters, which include the bidi overrides and isolates (U+202A-E,
#: U+2066-9) and the zero-width ones (U+200B-D, U+2060, U+FEFF) used to disguise a name; Co
#: private use; Cs lone surrogates.
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})
_SPACES = re.compile(r" {2,}")
#: Whitespace (``\s`` is ``str.isspace``), control characters, and what could end an attribute.
_ODD_IN_URL = re.compile(r"""[\s\x00-\x1f\x7f\\<>"'`]""")


def is_bad_character(ch: str) -> bool:
    """Whether one character is invisible or a control (the categories above)."""
    return unicodedata.category(ch) in _BAD_CATEGORIES


def _plain(text: str) -> bool:
    # Printable ASCII holds no bad character and is NFC already: most names and every URL.
    return text.isascii() and text.isprintable()


def has_bad_character(text: str) -> bool:
    """Whether ``text`` holds any character ``is_bad_character`` names."""
    return not _plain(text) and any(is_bad_character(ch) for ch in text)


def normal_text(text: str) -> str:
    """``text`` as a name is kept: each whitespace run (newline, tab, no-break space) one
    space, every other bad character removed, NFC, stripped. Not cut to any length."""
    if not _plain(text):
        text = "".join(" " if ch.isspace() else "" if is_bad_character(ch) else ch for ch in text)
        text = unicodedata.normalize("NFC", text)
    return _SPACES.sub(" ", text).strip()


def clean_text(value: Any, max_length: int) -> str:
    """Provider text as it is kept: ``normal_text``, cut to ``max_length`` characters (never
    between a letter and its combining accent); "" for anything but a string."""
    if not isinstance(value, str):
        return ""
    text = normal_text(value)
    if len(text) > max_length:
        cut = max_length
        while cut > 0 and unicodedata.combining(text[cut]):
            cut -= 1
        text = text[:cut].rstrip()
    return text


def provider_email(value: Any) -> str | None:
    """A provider's email, stripped; None for anything that cannot be an address: not a string,
    longer than ``EMAIL_MAX``, no ``@``, or holding whitespace or a bad character."""
    if not isinstance(value, str):
        return None
    email = value.strip()
    if not email or len(email) > EMAIL_MAX or "@" not in email:
        return None
    if has_bad_character(email) or any(ch.isspace() for ch in email):
        return None
    return email


def web_url(value: Any, max_length: int = URL_MAX) -> str | None:
    """``value`` if it is an absolute http(s) URL with a host, nothing odd in it and at most
    ``max_length`` characters, else None."""
    if not isinstance(value, str) or not value or len(value) > max_length:
        return None
    if _ODD_IN_URL.search(value) or has_bad_character(value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value


@dataclass(frozen=True)
class Profile:
    """What the rest of the system knows of a person a provider vouched for.

    Made clean: text fields go through ``clean_text`` (control, bidi and zero-width characters
    removed, whitespace runs one space, cut to their limit), an email that cannot be kept is
    dropped (and with it ``email_verified``), URLs that are not plain http(s) or are too long
    are dropped. The subject is kept exactly; one too long to store is a ``ProviderError``.
    An empty name stays empty: the store falls back to the username.
    """

    provider: str
    subject: str
    display_name: str
    email: str | None = None
    email_verified: bool = False
    username: str | None = None
    avatar_url: str | None = None
    profile_url: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.subject:
            raise ValueError("a profile needs the provider's subject")
        if len(self.subject) > SUBJECT_MAX:
            raise ProviderError(
                self.provider,
                f"The account id {self.provider} sent is longer than {SUBJECT_MAX} characters;"
                " this site cannot keep it.",
            )
        if self.email_verified and not self.email:
            raise ValueError("email_verified without an email")
        email = provider_email(self.email)
        cleaned = {
            "display_name": clean_text(self.display_name, DISPLAY_NAME_MAX),
            "username": clean_text(self.username, USERNAME_MAX) or None,
            "email": email,
            "email_verified": bool(self.email_verified) and email is not None,
            # Pages put these in ``src`` and ``href``: a ``javascript:`` profile URL from a
            # provider (any OIDC issuer's ``profile`` claim) would run script when clicked.
            "avatar_url": web_url(self.avatar_url, URL_MAX),
            "profile_url": web_url(self.profile_url, PROFILE_URL_MAX),
        }
        for name, value in cleaned.items():
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class Capabilities:
    """What a provider tells us about email, and whether it is on its way out."""

    returns_email: bool
    email_verified: EmailVerification
    deprecated: bool = False
    #: Sign-in needs a paid API tier (X's pay-per-use), or the app's business verification
    #: (Meta disables unverified apps): shown on the provider health page.
    paid_tier: bool = False
    business_verification: bool = False
    #: The API version used, unless the setting ``version_setting`` chooses another.
    api_version: str | None = None
    version_setting: str | None = None
    #: Published end-of-life dates (ISO) of API versions, where known.
    end_of_life: tuple[tuple[str, str], ...] = ()

"""The one place that decides when two email addresses are "the same" for linking."""

from __future__ import annotations

import unicodedata


def email_key(email: str | None) -> str | None:
    """The form in which emails are compared; the address itself is stored as given.

    Case is folded only where folding is unambiguous: the domain (DNS is case-insensitive,
    IDNA-encoded here) and an all-ASCII local part, which every large mailbox provider treats
    case-insensitively. Non-ASCII local parts keep their case, and no confusable folding is done:
    a Cyrillic a (U+0430) never matches a Latin one.
    """
    if not email:
        return None
    text = unicodedata.normalize("NFC", email.strip())
    local, sep, domain = text.rpartition("@")
    if not sep or not local or not domain:
        return None
    if domain.isascii():
        domain = domain.lower()
    else:
        # Python's IDNA 2003 codec silently maps some characters (zero-width ones, fullwidth
        # letters, the Kelvin sign) onto plain ones: a domain that does not survive the round
        # trip unchanged is a look-alike of another and matches nothing.
        try:
            encoded = domain.encode("idna")
            if encoded.decode("idna") != domain.lower():
                return None
        except UnicodeError:
            return None
        domain = encoded.decode("ascii").lower()
    if local.isascii():
        local = local.lower()
    return f"{local}@{domain}"

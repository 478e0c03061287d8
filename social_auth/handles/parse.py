"""What a visitor typed in the handle field, and which protocols may serve it.

``alice.bsky.social``, ``@alice.bsky.social`` and ``did:plc:…`` are Bluesky; ``@alice@server``
is Mastodon (or a compatible server); ``https://alice.example`` is a website (IndieAuth). A bare
domain may be a Bluesky handle or a website: both are candidates, Bluesky first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ..errors import InvalidInput

Protocol = Literal["bluesky", "mastodon", "indieauth"]
#: The identities' provider names, in the order a bare domain tries them.
PROTOCOLS: tuple[Protocol, ...] = ("bluesky", "mastodon", "indieauth")
MAX_TYPED = 300
EMPTY = "Type your Bluesky or Mastodon handle, or your website's address."
UNREADABLE = (
    "That is not a handle or a website address: try alice.bsky.social, @alice@mastodon.social "
    "or https://alice.example"
)

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_USER = re.compile(r"[a-z0-9_][a-z0-9_.-]{0,63}", re.IGNORECASE)
#: A Mastodon server: a domain, or (tests against local servers) a name with a port.
_SERVER = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?")
_DID = re.compile(r"did:(?:plc:[a-z2-7]{24}|web:[a-z0-9.%:-]{1,253})")


@dataclass(frozen=True)
class Candidate:
    """One way to read the input: a protocol and the value it starts from."""

    protocol: Protocol
    value: str


def candidates(typed: str | None) -> list[Candidate]:
    """The readings of ``typed``, most likely first; ``InvalidInput("handle", …)`` if none."""
    text = (typed or "").strip()
    if not text:
        raise InvalidInput("handle", EMPTY)
    if len(text) > MAX_TYPED or any(ch.isspace() for ch in text):
        raise InvalidInput("handle", UNREADABLE)
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        return [Candidate("indieauth", text)]
    if lowered.startswith("did:"):
        if _DID.fullmatch(lowered):
            return [Candidate("bluesky", lowered)]
        raise InvalidInput("handle", "That DID is not one Bluesky uses (did:plc or did:web).")
    bare = text[1:] if text.startswith("@") else text
    user, at, server = bare.rpartition("@")
    if at:
        name, colon, port = server.partition(":")
        domain = _domain(name) if "." in name else name.lower()
        if domain is not None and colon:
            domain = f"{domain}:{port}"
        if not user or not _USER.fullmatch(user) or not _SERVER.fullmatch(domain or ""):
            raise InvalidInput("handle", UNREADABLE)
        return [Candidate("mastodon", f"{user}@{domain}")]
    domain = _domain(bare)
    if domain is None:
        raise InvalidInput("handle", UNREADABLE)
    if text.startswith("@"):
        return [Candidate("bluesky", domain)]
    return [Candidate("bluesky", domain), Candidate("indieauth", f"https://{domain}/")]


def _domain(text: str) -> str | None:
    """``text`` as a lower-case ASCII domain name (IDNA), or None."""
    try:
        ascii_name = text.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    return ascii_name if len(ascii_name) <= 253 and DOMAIN.fullmatch(ascii_name) else None

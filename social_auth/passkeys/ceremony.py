"""The two WebAuthn ceremonies, on PyPI ``webauthn``: options for the browser, and the
verification of what it sends back. The rules, each in one place:

* the relying party is the site's own address (``SOCIAL_AUTH_SITE_URL``): RP id its host,
  the one origin its scheme, host and port (``relying_party``); a credential made for another
  origin or RP id never verifies;
* credentials are discoverable and user verification is required, on both ceremonies;
* a challenge is random, lives ``CHALLENGE_MAX_AGE`` seconds and works once (the caller keeps
  it in a signed cookie of the browser that asked and consumes its ``jti``);
* a sign count that does not go up (while either side counts) refuses the sign-in
  (``check_sign_count``): the authenticator may have been cloned.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.options_to_json_dict import options_to_json_dict
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ..errors import PasskeyError

#: Seconds a challenge may be answered in (the browser's own timeout is the same).
CHALLENGE_MAX_AGE = 300
#: Base64url of the longest credential id WebAuthn allows (1023 bytes).
CREDENTIAL_ID_MAX = 1366
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
FAILED = "The passkey could not be verified; nothing was changed."

Purpose = Literal["register", "login"]


@dataclass(frozen=True)
class RelyingParty:
    """Who the credentials are for: ``id`` (a host name) and the one ``origin`` allowed."""

    id: str
    origin: str
    name: str


@functools.lru_cache(maxsize=64)
def relying_party(site_url: str, name: str | None = None) -> RelyingParty | None:
    """The relying party of the site at ``site_url``; None when its host is an IP address
    (WebAuthn takes only domain names as RP ids: such a site offers no passkeys)."""
    parts = urlsplit(site_url)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if not host:
        return None
    return RelyingParty(host, f"{parts.scheme}://{parts.netloc}", name or host)


@dataclass(frozen=True)
class Challenge:
    """One challenge as its cookie carries it: what it is for, the random value, the id
    consumed on use, and for a registration the commenter (at its session version) and the
    user handle the credential is made for."""

    purpose: Purpose
    challenge: str
    jti: str
    commenter_id: int | None = None
    version: int | None = None
    user_handle: str | None = None

    def dump(self) -> list[Any]:
        return [self.purpose, self.challenge, self.jti, self.commenter_id, self.version,
                self.user_handle]

    @classmethod
    def load(cls, data: Any) -> Challenge | None:
        """The challenge ``dump`` wrote, or None for anything else."""
        if not isinstance(data, list) or len(data) != 6:
            return None
        purpose, challenge, jti, commenter_id, version, handle = data
        if purpose not in ("register", "login") or not all(
            isinstance(v, str) for v in (challenge, jti)
        ):
            return None
        return cls(purpose, challenge, jti, commenter_id, version, handle)


def _new_challenge(purpose: Purpose, **extra: Any) -> tuple[bytes, Challenge]:
    raw = secrets.token_bytes(32)
    return raw, Challenge(purpose, bytes_to_base64url(raw), secrets.token_urlsafe(16), **extra)


def registration_options(
    rp: RelyingParty,
    *,
    commenter_id: int,
    version: int,
    user_handle: str | None,
    user_name: str,
    display_name: str,
    existing: list[str],
) -> tuple[dict[str, Any], Challenge]:
    """``navigator.credentials.create`` options (JSON) and the challenge to keep."""
    handle = user_handle or bytes_to_base64url(secrets.token_bytes(32))
    raw, challenge = _new_challenge(
        "register", commenter_id=commenter_id, version=version, user_handle=handle
    )
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=base64url_to_bytes(handle),
        user_name=user_name,
        user_display_name=display_name,
        challenge=raw,
        timeout=CHALLENGE_MAX_AGE * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in existing
        ],
    )
    return options_to_json_dict(options), challenge


def authentication_options(rp: RelyingParty) -> tuple[dict[str, Any], Challenge]:
    """``navigator.credentials.get`` options for a discoverable credential (no allow list:
    the browser offers whichever passkey of this site it holds)."""
    raw, challenge = _new_challenge("login")
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=raw,
        timeout=CHALLENGE_MAX_AGE * 1000,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json_dict(options), challenge


@dataclass(frozen=True)
class Registered:
    """A verified new credential, ready for the store."""

    credential_id: str
    public_key: bytes
    sign_count: int
    aaguid: str
    backed_up: bool
    transports: list[str]


def credential_id_of(credential: Any) -> str:
    """The credential's id (base64url) from what the browser sent; ``PasskeyError`` if none."""
    found = credential.get("id") if isinstance(credential, dict) else None
    if (
        not isinstance(found, str)
        or len(found) > CREDENTIAL_ID_MAX
        or not _BASE64URL.fullmatch(found)
    ):
        raise PasskeyError("The browser sent no passkey.")
    return found


def verify_registration(rp: RelyingParty, credential: Any, challenge: Challenge) -> Registered:
    """Check a ``navigator.credentials.create`` answer against ``challenge``."""
    credential_id_of(credential)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(challenge.challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise PasskeyError(FAILED) from exc
    response = credential.get("response")
    transports = response.get("transports") if isinstance(response, dict) else None
    return Registered(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=str(verified.aaguid),
        backed_up=bool(verified.credential_backed_up),
        transports=[t for t in transports or [] if isinstance(t, str)][:8],
    )


def verify_authentication(
    rp: RelyingParty, credential: Any, challenge: Challenge, public_key: bytes
) -> int:
    """Check a ``navigator.credentials.get`` answer against ``challenge`` and the stored
    ``public_key``; the authenticator's new sign count (``check_sign_count`` judges it)."""
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(challenge.challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=public_key,
            # Our own rule judges the count (``check_sign_count``), so that a count going
            # back is told apart from other failures and audited.
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise PasskeyError(FAILED) from exc
    return int(verified.new_sign_count)


def user_handle_of(credential: Any) -> str | None:
    """The ``userHandle`` a discoverable credential's assertion names, if any."""
    response = credential.get("response") if isinstance(credential, dict) else None
    handle = response.get("userHandle") if isinstance(response, dict) else None
    return handle if isinstance(handle, str) and handle else None


def check_sign_count(stored: int, new: int) -> bool:
    """Whether a use reporting ``new`` may follow the ``stored`` count: it must go up while
    either counts (authenticators that keep no count report 0 every time)."""
    if stored == 0 and new == 0:
        return True
    return new > stored

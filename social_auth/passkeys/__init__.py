"""Passkeys (WebAuthn) for commenters and guests, framework-free: the relying party made from
the site's address, the ceremonies' options and their verification (PyPI ``webauthn``), the
challenge rules and the sign-count rule. The Flask routes are in ``social_auth.web.passkeys``."""

from .ceremony import (
    CHALLENGE_MAX_AGE,
    Challenge,
    Purpose,
    Registered,
    RelyingParty,
    authentication_options,
    check_sign_count,
    credential_id_of,
    registration_options,
    relying_party,
    user_handle_of,
    verify_authentication,
    verify_registration,
)

__all__ = [
    "CHALLENGE_MAX_AGE",
    "Challenge",
    "Purpose",
    "Registered",
    "RelyingParty",
    "authentication_options",
    "check_sign_count",
    "credential_id_of",
    "registration_options",
    "relying_party",
    "user_handle_of",
    "verify_authentication",
    "verify_registration",
]

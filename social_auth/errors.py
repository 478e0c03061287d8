"""One tree of errors; each carries what a page or a CLI needs to explain it."""

from __future__ import annotations


class SocialAuthError(Exception):
    """Base of every error this package raises on purpose."""

    #: HTTP status a view answers with when this error reaches it.
    status: int = 400
    #: Short machine-readable code, stable across releases.
    code: str = "social_auth_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(SocialAuthError):
    """The app's configuration is wrong; raised once, at ``init_app``."""

    code = "config_error"

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key


class NotFound(SocialAuthError):
    """A commenter or identity that the caller named does not exist."""

    status = 404
    code = "not_found"


class StoreConflict(SocialAuthError):
    """A store operation would break an invariant (for example, remove the last sign-in)."""

    status = 409
    code = "conflict"


class LastSignInMethod(StoreConflict):
    """Unlinking this identity would leave the commenter no way to sign in."""

    code = "last_sign_in_method"


class AccountConflict(StoreConflict):
    """The identity being connected already belongs to another commenter."""

    code = "account_conflict"

    def __init__(self, provider: str, subject: str, owner_public_id: str) -> None:
        super().__init__(f"This {provider} account is already linked to another commenter.")
        self.provider = provider
        self.subject = subject
        self.owner_public_id = owner_public_id


class NotSignedIn(SocialAuthError):
    """A page about the commenter's own accounts or data was asked for without a session."""

    status = 401
    code = "not_signed_in"


#: What a blocked commenter is told when a sign-in or a link is refused (``CommenterBlocked``).
BLOCKED_MESSAGE = "This account is blocked from commenting on this site."


class CommenterBlocked(SocialAuthError):
    """The commenter is blocked and may not sign in or comment."""

    status = 403
    code = "blocked"


class SignInError(SocialAuthError):
    """A sign-in could not be completed; the commenter sees ``message``.

    ``flow.finish`` fills ``next_path``, ``popup`` and ``draft`` from the flow cookie, so the
    page explaining the failure can return the commenter, with their draft, to where they were.
    """

    code = "sign_in_failed"
    next_path: str = "/"
    popup: bool = False
    draft: str | None = None


class StateMismatch(SignInError):
    """The callback's state is missing, unknown, replayed or for another provider."""

    code = "state_mismatch"


class StoreUnavailable(SignInError):
    """The identity store's database could not be reached; nothing was written."""

    status = 503
    code = "store_unavailable"


class SignInCancelled(SignInError):
    """The commenter (or the provider on their behalf) cancelled the sign-in."""

    code = "cancelled"


class ProviderError(SignInError):
    """The provider failed: timeout, 5xx, malformed answer, invalid token."""

    status = 502
    code = "provider_error"

    def __init__(self, provider: str, message: str, *, status: int = 502) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status


class GrantRefused(SocialAuthError):
    """An authorization server served by this app (the ``dev`` provider's) refuses a request;
    ``error`` is the OAuth error code it answers with."""

    code = "grant_refused"

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error


class InvalidInput(SocialAuthError):
    """A form or query value was rejected; ``field`` names it."""

    code = "invalid_input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotAdmin(SocialAuthError):
    """The request is not an admin's (``SOCIAL_AUTH_ADMIN_CHECK`` said no)."""

    status = 403
    code = "not_admin"


class CrossSiteRequest(SocialAuthError):
    """A state-changing admin request came from another site's page."""

    status = 403
    code = "cross_site"


class GuestDisabled(SocialAuthError):
    """Guest commenting is switched off on this site."""

    status = 403
    code = "guest_disabled"


class RateLimited(SocialAuthError):
    """Too many requests from one address or for one email."""

    status = 429
    code = "rate_limited"


class LinkInvalid(SocialAuthError):
    """A mailed link is unknown, expired, used, replaced by a newer one, or out of date."""

    status = 400
    code = "link_invalid"


class LinkElsewhere(SocialAuthError):
    """A confirmation link opened in a browser other than the one that asked for it."""

    status = 403
    code = "link_other_browser"


class MailNotSent(SocialAuthError):
    """The mail server refused or could not be reached; nothing was sent."""

    status = 503
    code = "mail_not_sent"


class CsrfError(SocialAuthError):
    """The request lacks a valid CSRF token; nothing was changed."""

    status = 403
    code = "csrf_failed"


class FetchRefused(SocialAuthError):
    """The safe fetcher (``social_auth.fetch``) would not fetch a URL, or gave up on it.

    ``reason`` is one of ``scheme``, ``address`` (a private, loopback, link-local or otherwise
    non-public address), ``too_large``, ``too_slow``, ``redirects``, ``status`` or
    ``unreachable``. What the visitor chose is a 400; what the far server did is a 502 (504
    when it was too slow).
    """

    code = "fetch_refused"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = {"scheme": 400, "address": 400, "too_slow": 504}.get(reason, 502)


class AkismetUnavailable(SocialAuthError):
    """Akismet could not give an answer: a bad key (``invalid``), a timeout, a 5xx, an answer
    that is not one of its words, or no connection. ``reason`` says which, for the admin."""

    status = 503
    code = "akismet_unavailable"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class AvatarRefused(SocialAuthError):
    """A picture was not kept: not PNG, JPEG, GIF or WebP by its content, too many pixels,
    undecodable, or its fetch failed; ``reason`` says which. The previous picture stays."""

    status = 422
    code = "avatar_refused"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class PasskeyError(SocialAuthError):
    """A passkey ceremony failed: a stale or replayed challenge, another origin or RP id, no
    user verification, or a response that does not verify. Nothing was changed."""

    status = 400
    code = "passkey_failed"


class PasskeyUnknown(PasskeyError):
    """The passkey the browser offered is not (or no longer) known here; ``credential_id``
    lets the page tell the browser (``PublicKeyCredential.signalUnknownCredential``)."""

    status = 404
    code = "unknown_credential"

    def __init__(self, message: str, credential_id: str, rp_id: str) -> None:
        super().__init__(message)
        self.credential_id = credential_id
        self.rp_id = rp_id


class PasskeySignCount(PasskeyError):
    """The authenticator's sign count went backwards: the credential may have been cloned.
    The sign-in is refused and an audit event written."""

    status = 403
    code = "passkey_sign_count"


class PasskeyUnavailable(PasskeyError):
    """This site offers no passkeys: its address is an IP address, not a domain name."""

    status = 404
    code = "passkeys_unavailable"


class FedcmError(SocialAuthError):
    """A FedCM or One Tap sign-in was refused: no or a bad ID token, a stale or used nonce, a
    missing or mismatched ``g_csrf_token``. Nothing was changed."""

    status = 400
    code = "fedcm_failed"

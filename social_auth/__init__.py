"""Flask-Social-Auth: the whole sign-in story of a blog's comment form."""

from . import signals
from .errors import (
    AccountConflict,
    CommenterBlocked,
    ConfigError,
    InvalidInput,
    LastSignInMethod,
    NotFound,
    NotSignedIn,
    ProviderError,
    SignInCancelled,
    SignInError,
    SocialAuthError,
    StateMismatch,
    StoreConflict,
)
from .extension import SocialAuth
from .provider import Capabilities, Profile, Provider
from .session import current_commenter
from .signals import (
    commenter_blocked,
    commenter_erased,
    commenter_signed_in,
    commenter_signed_out,
    commenters_merged,
    commenters_unmerged,
    identity_linked,
    identity_unlinked,
)
from .state import get_state
from .store import AuditEvent, Commenter, Identity, IdentityStore, SignIn

__all__ = [
    "AccountConflict",
    "AuditEvent",
    "Capabilities",
    "Commenter",
    "CommenterBlocked",
    "ConfigError",
    "Identity",
    "IdentityStore",
    "InvalidInput",
    "LastSignInMethod",
    "NotFound",
    "NotSignedIn",
    "Profile",
    "Provider",
    "ProviderError",
    "SignIn",
    "SignInCancelled",
    "SignInError",
    "SocialAuth",
    "SocialAuthError",
    "StateMismatch",
    "StoreConflict",
    "commenter_blocked",
    "commenter_erased",
    "commenter_signed_in",
    "commenter_signed_out",
    "commenters_merged",
    "commenters_unmerged",
    "current_commenter",
    "get_state",
    "identity_linked",
    "identity_unlinked",
    "signals",
]

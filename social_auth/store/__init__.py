"""The commenter identity store: models and the ``IdentityStore`` over SQLAlchemy."""

from .models import AuditEvent, Base, Commenter, Identity
from .store import (
    CommenterDetails,
    CommenterPage,
    IdentityStore,
    MergePreview,
    SignIn,
    Unmerged,
)

__all__ = [
    "AuditEvent",
    "Base",
    "Commenter",
    "CommenterDetails",
    "CommenterPage",
    "Identity",
    "IdentityStore",
    "MergePreview",
    "SignIn",
    "Unmerged",
]

"""The commenter identity store: models and the ``IdentityStore`` over SQLAlchemy."""

from .models import AuditEvent, Base, Commenter, Identity, UsedFlowState
from .store import IdentityStore, SignIn

__all__ = [
    "AuditEvent",
    "Base",
    "Commenter",
    "Identity",
    "IdentityStore",
    "SignIn",
    "UsedFlowState",
]

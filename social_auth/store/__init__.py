"""The commenter identity store: models and the ``IdentityStore`` over SQLAlchemy.

Modules import one way: ``models`` → ``results`` → ``connections`` → ``base``/``statements``
→ ``rows``/``hotpath`` → ``merging`` → ``reads``/``signin`` → ``store`` (and ``used_states``,
``email_links`` beside it).
"""

from . import avatars, health  # noqa: F401 - their tables join Base.metadata
from .models import AuditEvent, Base, Commenter, Identity, UsedFlowState
from .results import CommenterDetails, CommenterPage, MergePreview, SignIn, Unmerged
from .store import IdentityStore

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
    "UsedFlowState",
]

"""The commenter identity store: models and the ``IdentityStore`` over SQLAlchemy.

Modules import one way: ``models`` → ``results`` → ``connections`` → ``base``/``statements``
→ ``rows``/``hotpath`` → ``merging`` → ``reads``/``signin`` → ``store`` (and ``used_states``,
``email_links`` beside it).
"""

from .mastodon_apps import MastodonApp  # the handle sign-in's table (issue 14)
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
    "MastodonApp",
    "MergePreview",
    "SignIn",
    "Unmerged",
    "UsedFlowState",
]

"""The commenter identity store: models and the ``IdentityStore`` over SQLAlchemy.

Modules import one way: ``models`` → ``results`` → ``connections`` → ``base``/``statements``
→ ``rows``/``hotpath`` → ``merging`` → ``reads``/``signin`` → ``store`` (and ``used_states``,
``email_links`` beside it).
"""

# Their tables join the models' metadata, so the migrations test and Alembic see them.
from . import avatars, health  # noqa: F401
from .approvals import CommentApproval
from .mastodon_apps import MastodonApp  # the handle sign-in's table (issue 14)
from .models import AuditEvent, Base, Commenter, Identity, UsedFlowState
from .passkeys import Passkey
from .results import CommenterDetails, CommenterPage, MergePreview, SignIn, Unmerged
from .store import IdentityStore

__all__ = [
    "AuditEvent",
    "Base",
    "CommentApproval",
    "Commenter",
    "CommenterDetails",
    "CommenterPage",
    "Identity",
    "IdentityStore",
    "MastodonApp",
    "MergePreview",
    "Passkey",
    "SignIn",
    "Unmerged",
    "UsedFlowState",
]

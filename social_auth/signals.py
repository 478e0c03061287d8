"""Signals only notify; none of them changes what happens next.

The store-level ones (linked, unlinked, merged, unmerged, blocked, erased) are sent by
``IdentityStore`` itself, with the store as sender, after its transaction committed, so every
path (views, admin, CLI, linking) notifies alike; views must not send them again. The sign-in
and sign-out ones are sent by the session layer.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent with ``commenter`` (and ``identity``, or None for a guest) after a sign-in.
commenter_signed_in = _signals.signal("commenter-signed-in")
#: Sent with ``commenter`` after a sign-out.
commenter_signed_out = _signals.signal("commenter-signed-out")
#: Sent with ``commenter`` and ``identity`` after an identity is linked to the commenter.
identity_linked = _signals.signal("identity-linked")
#: Sent with ``commenter`` and ``identity`` after an identity is unlinked from the commenter.
identity_unlinked = _signals.signal("identity-unlinked")
#: Sent with ``source`` and ``target`` commenters after ``source`` was merged into ``target``.
commenters_merged = _signals.signal("commenters-merged")
#: Sent with ``source`` (restored) and ``target`` after ``undo_last_merge`` split them again.
commenters_unmerged = _signals.signal("commenters-unmerged")
#: Sent with ``commenter`` and ``until`` (None: indefinitely) after a block.
commenter_blocked = _signals.signal("commenter-blocked")
#: Sent with ``commenter`` (now a tombstone) after its personal data was erased.
commenter_erased = _signals.signal("commenter-erased")
#: Sent by the moderator with ``submission`` and ``verdict`` when a comment may be published.
comment_published = _signals.signal("comment-published")
#: Sent by the moderator with ``submission`` and ``verdict`` when a comment is held for review.
comment_held = _signals.signal("comment-held")
#: Sent by the moderator with ``submission`` and ``verdict`` when a comment is to be dropped.
comment_discarded = _signals.signal("comment-discarded")
#: Sent with ``commenter`` and ``passkey`` after a passkey was added to the commenter.
passkey_added = _signals.signal("passkey-added")
#: Sent with ``commenter`` and ``passkey`` after a passkey was removed by its owner.
passkey_removed = _signals.signal("passkey-removed")

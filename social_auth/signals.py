"""Signals only notify; none of them changes what happens next."""

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
#: Sent with ``commenter`` and ``until`` (None: indefinitely) after a block.
commenter_blocked = _signals.signal("commenter-blocked")
#: Sent with ``commenter`` (now a tombstone) after its personal data was erased.
commenter_erased = _signals.signal("commenter-erased")

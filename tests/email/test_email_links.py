"""``store.email_links`` on each backend: one live link per address and single use, when many
threads (standing in for workers) race on the same database."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from social_auth.store import Commenter, IdentityStore
from social_auth.store.email_links import EmailLinks, token_hash

T = TypeVar("T")
RACERS = 8


def race(action: Callable[[], T]) -> list[T]:
    """``action`` run by RACERS threads released at once."""
    start = threading.Barrier(RACERS)

    def run() -> T:
        start.wait()
        return action()

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(lambda _: run(), range(RACERS)))


def guest(store: IdentityStore, email: str = "ann@example.com") -> Commenter:
    return store.create_guest("Ann", email)


def test_a_link_is_found_by_its_token_and_used_once(store: IdentityStore):
    links = EmailLinks(store)
    ann = guest(store)
    token = links.issue(email="ann@example.com", commenter=ann, browser_hash=token_hash("b"))
    link = links.find(token)
    assert link is not None and link.email == "ann@example.com" and not link.is_sign_in
    assert links.find(token + "x") is None and links.find("") is None
    assert links.use(link) and not links.use(link)
    assert links.find(token) is None


def test_racing_workers_use_a_link_exactly_once(store: IdentityStore):
    links = EmailLinks(store)
    ann = guest(store)
    link = links.find(links.issue(email="ann@example.com", commenter=ann, browser_hash=None))
    assert link is not None
    assert sorted(race(lambda: links.use(link))) == [False] * (RACERS - 1) + [True]


def test_racing_verifications_verify_once_and_end_the_other_sessions(store: IdentityStore):
    links = EmailLinks(store)
    ann = guest(store)
    link = links.find(links.issue(email="ann@example.com", commenter=ann, browser_hash="h"))
    assert link is not None
    versions = race(lambda: links.use_verifying(link))
    assert sorted(versions, key=str) == [ann.session_version + 1] + [None] * (RACERS - 1)
    verified = store.get(ann.id)
    assert verified is not None and verified.email_verified
    assert verified.session_version == ann.session_version + 1


def test_a_verification_needs_the_commenter_as_it_was_when_asked(store: IdentityStore):
    links = EmailLinks(store)
    ann = guest(store)
    link = links.find(links.issue(email="ann@example.com", commenter=ann, browser_hash="h"))
    assert link is not None
    store.bump_session_version(ann)  # signed out since
    assert links.use_verifying(link) is None
    fresh = store.get(ann.id)
    assert fresh is not None and not fresh.email_verified


def test_racing_requests_for_one_address_leave_one_live_link(store: IdentityStore):
    links = EmailLinks(store)
    ann = guest(store)
    tokens = race(
        lambda: links.issue(email="Ann@Example.com", commenter=ann, browser_hash=None)
    )
    live = [t for t in tokens if links.find(t) is not None]
    assert len(set(tokens)) == RACERS and len(live) == 1


def test_a_newer_link_replaces_the_older_for_the_same_address_only(store: IdentityStore):
    links = EmailLinks(store)
    ann, bob = guest(store), guest(store, "bob@example.com")
    older = links.issue(email="ann@example.com", commenter=ann, browser_hash=None)
    bobs = links.issue(email="bob@example.com", commenter=bob, browser_hash=None)
    newer = links.issue(email="ANN@example.com", commenter=ann, browser_hash=None)
    assert links.find(older) is None
    assert links.find(newer) is not None and links.find(bobs) is not None


def test_erasing_a_commenter_removes_their_pending_links(store: IdentityStore):
    links = EmailLinks(store)
    ann, bob = guest(store), guest(store, "bob@example.com")
    ann_token = links.issue(email="ann@example.com", commenter=ann, browser_hash=None)
    bob_token = links.issue(email="bob@example.com", commenter=bob, browser_hash=None)
    store.erase(ann)
    # The row held Ann's address: erasure leaves no copy of it, and no link to use.
    assert links.find(ann_token) is None
    assert links.find(bob_token) is not None

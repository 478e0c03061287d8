"""The linking policy (DESIGN.md step 5) on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import update

from social_auth import AccountConflict, Capabilities, Profile, StoreConflict, signals
from social_auth.linking import (
    LinkingPolicy,
    Resolution,
    claim_guest,
    claimable_guests,
    resolve,
)
from social_auth.store import Commenter, IdentityStore
from social_auth.store.models import Identity

CAPABILITIES = {
    "google": Capabilities(returns_email=True, email_verified="claim"),
    "github": Capabilities(returns_email=True, email_verified="api_field"),
    "facebook": Capabilities(returns_email=True, email_verified="never"),
}
LINKING = LinkingPolicy(link_by_verified_email=True, capabilities=CAPABILITIES)
NO_LINKING = LinkingPolicy(link_by_verified_email=False, capabilities=CAPABILITIES)


def profile(
    provider: str, subject: str, email: str | None = None, verified: bool = False
) -> Profile:
    return Profile(
        provider=provider,
        subject=subject,
        display_name=f"{provider} {subject}",
        email=email,
        email_verified=verified,
    )


def verified_commenter(store: IdentityStore, email: str = "jane@example.com") -> Commenter:
    """A commenter who proved ``email`` with a Google sign-in."""
    return resolve(profile("google", "g-jane", email, True), None, store, NO_LINKING).commenter


@contextmanager
def received(signal: Any) -> Iterator[list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    def receiver(sender: object, **kwargs: Any) -> None:
        calls.append(kwargs)

    signal.connect(receiver)
    try:
        yield calls
    finally:
        signal.disconnect(receiver)


def identity_keys(store: IdentityStore, commenter: Commenter) -> set[tuple[str, str]]:
    row = store.get(commenter.id)
    assert row is not None
    return {(i.provider, i.subject) for i in row.identities}


# -- the policy object ------------------------------------------------------------------


def test_a_provider_that_never_verifies_is_never_trusted():
    assert not LINKING.trusts_email(profile("facebook", "1", "a@example.com", True))
    assert LINKING.trusts_email(profile("google", "1", "a@example.com", True))
    assert LINKING.trusts_email(profile("github", "1", "a@example.com", True))
    assert not LINKING.trusts_email(profile("google", "1", "a@example.com", False))


def test_an_unknown_provider_is_not_trusted_with_emails():
    assert not LINKING.trusts_email(profile("corp", "1", "a@example.com", True))


def test_vetting_clears_a_verification_the_policy_does_not_accept():
    vetted = LINKING.vetted(profile("facebook", "1", "a@example.com", True))
    assert vetted.email_verified is False and vetted.email == "a@example.com"


def test_the_policy_is_built_from_configured_provider_instances():
    class Corp:
        capabilities = Capabilities(returns_email=True, email_verified="claim")

    policy = LinkingPolicy.from_providers(
        {"corp": Corp()},  # type: ignore[dict-item]
        link_by_verified_email=True,
    )
    assert policy.trusts_email(profile("corp", "1", "a@example.com", True))


# -- plain sign-in ------------------------------------------------------------------------


def test_a_new_identity_creates_a_commenter(store: IdentityStore):
    result = resolve(profile("github", "1"), None, store, LINKING)
    assert result.outcome == "created" and result.is_new_commenter
    assert identity_keys(store, result.commenter) == {("github", "1")}


def test_a_known_identity_signs_in_its_commenter(store: IdentityStore):
    first = resolve(profile("github", "1"), None, store, LINKING)
    again = resolve(profile("github", "1"), None, store, LINKING)
    assert again.outcome == "signed_in_existing"
    assert again.commenter.id == first.commenter.id


def test_a_known_identity_keeps_its_commenter_whatever_its_email_now_says(store: IdentityStore):
    cat = resolve(profile("github", "1"), None, store, LINKING).commenter
    jane = verified_commenter(store)
    again = resolve(profile("github", "1", "jane@example.com", True), None, store, LINKING)
    assert again.outcome == "signed_in_existing"
    assert again.commenter.id == cat.id != jane.id


# -- linking by verified email -------------------------------------------------------------


def test_a_provider_verified_email_links_to_the_verified_commenter_when_opted_in(
    store: IdentityStore,
):
    jane = verified_commenter(store)
    with received(signals.identity_linked) as linked:
        result = resolve(profile("github", "9", "jane@example.com", True), None, store, LINKING)
    assert result.outcome == "linked_by_email"
    assert result.commenter.id == jane.id
    assert identity_keys(store, jane) == {("google", "g-jane"), ("github", "9")}
    assert [c["commenter"].id for c in linked] == [jane.id]
    assert store.audit_log(jane)[0].actor == "linking:verified-email"


def test_no_email_linking_unless_the_site_opted_in(store: IdentityStore):
    jane = verified_commenter(store)
    result = resolve(profile("github", "9", "jane@example.com", True), None, store, NO_LINKING)
    assert result.outcome == "created" and result.commenter.id != jane.id


def test_an_unverified_provider_email_does_not_link(store: IdentityStore):
    jane = verified_commenter(store)
    result = resolve(profile("github", "9", "jane@example.com", False), None, store, LINKING)
    assert result.outcome == "created" and result.commenter.id != jane.id
    assert not result.commenter.email_verified


def test_a_facebook_email_is_never_auto_linked_even_if_it_says_verified(store: IdentityStore):
    jane = verified_commenter(store)
    result = resolve(profile("facebook", "fb1", "jane@example.com", True), None, store, LINKING)
    assert result.outcome == "created" and result.commenter.id != jane.id
    # Nor does the new commenter count as having proved the email.
    assert not result.commenter.email_verified
    assert store.find_verified_by_email("jane@example.com").id == jane.id  # type: ignore[union-attr]


def test_an_unverified_existing_commenter_is_never_linked_to(store: IdentityStore):
    unverified = resolve(profile("github", "1", "jane@example.com"), None, store, LINKING)
    result = resolve(profile("google", "g2", "jane@example.com", True), None, store, LINKING)
    assert result.outcome == "created"
    assert result.commenter.id != unverified.commenter.id


def test_email_case_in_the_domain_and_ascii_local_part_still_links(store: IdentityStore):
    jane = verified_commenter(store, "Jane@Example.com")
    result = resolve(profile("github", "9", "jane@EXAMPLE.COM", True), None, store, LINKING)
    assert result.outcome == "linked_by_email" and result.commenter.id == jane.id


@pytest.mark.parametrize(
    "lookalike",
    [
        "j\u0430ne@example.com",  # Cyrillic a
        "jane@examp1e.com",
        "jane@example.com.evil.test",
        "jane+x@example.com",
        "JANE\u00e9@example.com",
    ],
)
def test_lookalike_emails_never_link(store: IdentityStore, lookalike: str):
    jane = verified_commenter(store, "jane@example.com")
    result = resolve(profile("github", "9", lookalike, True), None, store, LINKING)
    assert result.outcome == "created" and result.commenter.id != jane.id


def test_non_ascii_local_parts_keep_their_case(store: IdentityStore):
    jane = verified_commenter(store, "J\u00f6rg@example.com")
    other = resolve(profile("github", "9", "j\u00f6rg@example.com", True), None, store, LINKING)
    assert other.outcome == "created" and other.commenter.id != jane.id
    same = resolve(profile("github", "10", "J\u00f6rg@EXAMPLE.com", True), None, store, LINKING)
    assert same.outcome == "linked_by_email" and same.commenter.id == jane.id


def test_unicode_normalisation_forms_of_one_address_match(store: IdentityStore):
    jane = verified_commenter(store, "J\u00f6rg@example.com")  # precomposed o-umlaut
    result = resolve(profile("github", "9", "Jo\u0308rg@example.com", True), None, store, LINKING)
    assert result.outcome == "linked_by_email" and result.commenter.id == jane.id


# -- guests and pre-account hijacking -------------------------------------------------------


def test_a_guest_with_the_victims_email_never_absorbs_the_victims_sign_in(store: IdentityStore):
    attacker = store.create_guest("Mallory", "victim@example.com")
    victim = resolve(profile("google", "g-v", "victim@example.com", True), None, store, LINKING)
    assert victim.outcome == "created"
    assert victim.commenter.id != attacker.id
    assert store.get(attacker.id).identities == []  # type: ignore[union-attr]


def test_a_guest_session_connecting_is_a_plain_sign_in(store: IdentityStore):
    guest = store.create_guest("Mallory", "victim@example.com")
    result = resolve(profile("google", "g-v", "victim@example.com", True), guest, store, LINKING)
    assert result.outcome == "created" and result.commenter.id != guest.id
    assert store.get(guest.id).identities == []  # type: ignore[union-attr]


def test_the_victim_may_claim_the_guest_record_explicitly(store: IdentityStore):
    guest = store.create_guest("Me, earlier", "Victim@Example.com")
    victim = resolve(profile("google", "g-v", "victim@example.com", True), None, store, LINKING)
    assert [g.id for g in claimable_guests(victim.commenter, store, LINKING)] == [guest.id]
    with received(signals.commenters_merged) as merged:
        target = claim_guest(victim.commenter, guest, store, LINKING)
    assert target.id == victim.commenter.id
    assert store.get(guest.id).merged_into_id == victim.commenter.id  # type: ignore[union-attr]
    assert [(m["source"].id, m["target"].id) for m in merged] == [(guest.id, target.id)]
    assert claimable_guests(target, store, LINKING) == []


def test_a_magic_link_verified_commenter_may_claim_guests_with_that_email(store: IdentityStore):
    old = store.create_guest("Ann", "ann@example.com")
    new = store.create_guest("Ann", "ann@example.com")
    new = store.mark_email_verified(new, "ann@example.com")
    assert [g.id for g in claimable_guests(new, store, LINKING)] == [old.id]


def test_an_unproven_or_facebook_email_claims_nothing(store: IdentityStore):
    guest = store.create_guest("Ann", "ann@example.com")
    github_user = resolve(profile("github", "1", "ann@example.com"), None, store, LINKING)
    facebook_user = resolve(profile("facebook", "f", "ann@example.com", True), None, store, LINKING)
    for commenter in (github_user.commenter, facebook_user.commenter):
        assert claimable_guests(commenter, store, LINKING) == []
        with pytest.raises(StoreConflict):
            claim_guest(commenter, guest, store, LINKING)
    assert store.get(guest.id).merged_into_id is None  # type: ignore[union-attr]


def test_a_verified_guest_or_a_social_commenter_is_not_claimable(store: IdentityStore):
    jane = verified_commenter(store)
    other = resolve(profile("github", "1", "jane@example.com"), None, store, LINKING).commenter
    verified_guest = store.mark_email_verified(store.create_guest("J", None), "jane@example.com")
    assert claimable_guests(jane, store, LINKING) == []
    with pytest.raises(StoreConflict):
        claim_guest(jane, other, store, LINKING)
    with pytest.raises(StoreConflict):
        claim_guest(jane, verified_guest, store, LINKING)


# -- connecting while signed in -----------------------------------------------------------


def test_connecting_links_the_identity_to_the_current_commenter(store: IdentityStore):
    jane = verified_commenter(store)
    result = resolve(profile("github", "1", "other@example.com"), jane, store, NO_LINKING)
    assert result.outcome == "connected" and result.commenter.id == jane.id
    assert identity_keys(store, result.commenter) == {("google", "g-jane"), ("github", "1")}


def test_connecting_an_identity_already_connected_is_harmless(store: IdentityStore):
    jane = verified_commenter(store)
    result = resolve(profile("google", "g-jane", "jane@example.com", True), jane, store, LINKING)
    assert result.outcome == "connected" and result.commenter.id == jane.id
    assert len(result.commenter.identities) == 1


def test_connecting_another_commenters_identity_conflicts_and_changes_nothing(
    store: IdentityStore,
):
    jane = verified_commenter(store)
    cat = resolve(profile("github", "1"), None, store, LINKING).commenter
    with received(signals.identity_linked) as linked, pytest.raises(AccountConflict) as info:
        resolve(profile("github", "1"), jane, store, LINKING)
    assert info.value.owner_public_id == cat.public_id
    assert info.value.provider == "github"
    assert identity_keys(store, jane) == {("google", "g-jane")}
    assert identity_keys(store, cat) == {("github", "1")}
    assert linked == []
    assert store.audit_log(jane) == [] and store.audit_log(cat) == []


def test_connecting_to_a_commenter_merged_meanwhile_is_refused(store: IdentityStore):
    jane = verified_commenter(store)
    cat = resolve(profile("github", "1"), None, store, LINKING).commenter
    store.merge(jane, cat)
    with pytest.raises(StoreConflict):
        resolve(profile("github", "2"), jane, store, LINKING)
    assert store.find_identity("github", "2") is None


# -- tombstones ---------------------------------------------------------------------------


def test_a_merged_commenters_identity_signs_in_the_merge_target(store: IdentityStore):
    jane = verified_commenter(store)
    cat = resolve(profile("github", "1"), None, store, LINKING).commenter
    store.merge(cat, jane)
    result = resolve(profile("github", "1"), None, store, LINKING)
    assert result.outcome == "signed_in_existing" and result.commenter.id == jane.id


def test_an_identity_left_on_a_tombstone_is_followed_to_the_live_commenter(store: IdentityStore):
    jane = verified_commenter(store)
    cat = resolve(profile("github", "1"), None, store, LINKING).commenter
    third = resolve(profile("github", "3"), None, store, LINKING).commenter
    store.merge(cat, jane)
    store.merge(jane, third)  # cat's tombstone now points at third
    # A row written by hand (or by an older version) left on the first tombstone:
    with store.session() as s, s.begin():
        s.execute(update(Identity).where(Identity.subject == "1").values(commenter_id=cat.id))
    result = resolve(profile("github", "1"), None, store, LINKING)
    assert result.commenter.id == third.id
    assert store.find_identity("github", "1").commenter_id == third.id  # type: ignore[union-attr]


def test_an_identity_left_on_an_erased_commenter_starts_afresh(store: IdentityStore):
    cat = resolve(profile("github", "1"), None, store, LINKING).commenter
    other = resolve(profile("github", "2"), None, store, LINKING).commenter
    store.erase(cat)
    with store.session() as s, s.begin():
        s.execute(update(Identity).where(Identity.subject == "2").values(commenter_id=cat.id))
    result = resolve(profile("github", "2"), None, store, LINKING)
    assert result.outcome == "created"
    assert result.commenter.id not in (cat.id, other.id)


def test_after_erasure_the_same_identity_is_a_new_commenter(store: IdentityStore):
    cat = resolve(profile("github", "1"), None, store, LINKING).commenter
    store.erase(cat)
    result = resolve(profile("github", "1"), None, store, LINKING)
    assert result.outcome == "created" and result.commenter.id != cat.id


# -- races ----------------------------------------------------------------------------------


def test_racing_first_sign_ins_linked_by_email_all_reach_one_commenter(store: IdentityStore):
    jane = verified_commenter(store)
    racer = profile("github", "racer", "jane@example.com", True)
    barrier = threading.Barrier(8)

    def one(_: int) -> Resolution:
        barrier.wait()
        return resolve(racer, None, store, LINKING)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(8)))
    assert {r.commenter.id for r in results} == {jane.id}
    assert identity_keys(store, jane) == {("google", "g-jane"), ("github", "racer")}
    assert [e.action for e in store.audit_log(jane)] == ["link"]

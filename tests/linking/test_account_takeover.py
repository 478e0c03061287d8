"""Account-takeover attempts through linking, on SQLite and PostgreSQL: nOAuth (an issuer
asserting someone else's email), pre-hijacking through a guest record, unverified emails, and
look-alike or case-variant emails and subjects."""

from __future__ import annotations

import pytest

from social_auth import AccountConflict, Capabilities, Profile
from social_auth.linking import LinkingPolicy, claimable_guests, resolve
from social_auth.store import Commenter, IdentityStore

CAPABILITIES = {
    "google": Capabilities(returns_email=True, email_verified="claim"),
    "github": Capabilities(returns_email=True, email_verified="api_field"),
    "corp": Capabilities(returns_email=True, email_verified="claim"),
    "facebook": Capabilities(returns_email=True, email_verified="never"),
}
LINKING = LinkingPolicy(link_by_verified_email=True, capabilities=CAPABILITIES)
DEFAULT = LinkingPolicy(link_by_verified_email=False, capabilities=CAPABILITIES)
VICTIM_EMAIL = "victim@example.com"


def profile(
    provider: str, subject: str, email: str | None = None, verified: bool = False
) -> Profile:
    return Profile(provider, subject, f"{provider}:{subject}", email, verified)


def victim(store: IdentityStore, email: str = VICTIM_EMAIL) -> Commenter:
    """The victim: signed in with Google, which verified their email."""
    return resolve(profile("google", "g-victim", email, True), None, store, DEFAULT).commenter


def owner_of(store: IdentityStore, provider: str, subject: str) -> int | None:
    identity = store.find_identity(provider, subject)
    return identity.commenter_id if identity else None


# -- nOAuth ------------------------------------------------------------------------------------


def test_noauth_issuer_asserting_the_victims_email_unverified_gets_a_new_commenter(store):
    # Azure AD's "email" claim is whatever the tenant admin typed; without email_verified the
    # attacker's tenant must not reach the victim's account, even on a site that links by email.
    target = victim(store)
    result = resolve(profile("corp", "attacker-oid", VICTIM_EMAIL), None, store, LINKING)
    assert result.commenter.id != target.id and result.outcome == "created"
    assert not result.commenter.email_verified


def test_noauth_by_default_even_a_verified_email_from_another_provider_never_links(store):
    target = victim(store)
    result = resolve(profile("corp", "attacker-oid", VICTIM_EMAIL, True), None, store, DEFAULT)
    assert result.commenter.id != target.id


def test_noauth_provider_that_never_verifies_is_not_believed_when_it_says_verified(store):
    target = victim(store)
    result = resolve(profile("facebook", "fb-attacker", VICTIM_EMAIL, True), None, store, LINKING)
    assert result.commenter.id != target.id
    assert not result.commenter.email_verified  # vetted before the store could believe it


def test_noauth_unconfigured_provider_is_not_trusted_with_emails(store):
    target = victim(store)
    result = resolve(profile("rogue", "r-1", VICTIM_EMAIL, True), None, store, LINKING)
    assert result.commenter.id != target.id


def test_noauth_a_known_identity_changing_its_email_keeps_its_own_commenter(store):
    target = victim(store)
    attacker = resolve(
        profile("corp", "attacker-oid", "me@attacker.example", True), None, store, LINKING
    )
    again = resolve(profile("corp", "attacker-oid", VICTIM_EMAIL, True), None, store, LINKING)
    assert again.commenter.id == attacker.commenter.id != target.id


# -- pre-hijacking ----------------------------------------------------------------------------


def test_pre_hijacking_a_guest_with_the_victims_email_never_absorbs_their_sign_in(store):
    planted = store.create_guest("Victim (not)", VICTIM_EMAIL, None, None)
    result = resolve(profile("google", "g-victim", VICTIM_EMAIL, True), None, store, LINKING)
    assert result.commenter.id != planted.id
    assert store.get(planted.id).identities == []  # type: ignore[union-attr]


def test_pre_hijacking_a_guest_session_connecting_is_a_plain_sign_in(store):
    planted = store.create_guest("Attacker", VICTIM_EMAIL, None, None)
    result = resolve(profile("google", "g-victim", VICTIM_EMAIL, True), planted, store, LINKING)
    assert result.commenter.id != planted.id and result.outcome != "connected"


def test_pre_hijacked_guest_is_only_offered_to_the_proven_owner_never_merged(store):
    planted = store.create_guest("Attacker", VICTIM_EMAIL, None, None)
    owner = resolve(profile("google", "g-victim", VICTIM_EMAIL, True), None, store, LINKING)
    assert [g.id for g in claimable_guests(owner.commenter, store, LINKING)] == [planted.id]
    assert store.get(planted.id).merged_into_id is None  # type: ignore[union-attr]


def test_connecting_someone_elses_identity_conflicts_and_moves_nothing(store):
    target = victim(store)
    attacker = resolve(profile("github", "gh-attacker"), None, store, DEFAULT).commenter
    with pytest.raises(AccountConflict):
        resolve(profile("google", "g-victim", VICTIM_EMAIL, True), attacker, store, DEFAULT)
    assert owner_of(store, "google", "g-victim") == target.id


# -- unverified emails ------------------------------------------------------------------------


def test_unverified_provider_email_never_links_even_when_opted_in(store):
    target = victim(store)
    result = resolve(profile("github", "gh-1", VICTIM_EMAIL, False), None, store, LINKING)
    assert result.commenter.id != target.id


def test_verified_email_never_links_to_an_unverified_commenter(store):
    unverified = resolve(profile("github", "gh-2", VICTIM_EMAIL, False), None, store, DEFAULT)
    result = resolve(profile("google", "g-3", VICTIM_EMAIL, True), None, store, LINKING)
    assert result.commenter.id != unverified.commenter.id


# -- look-alikes and case ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "lookalike",
    [
        "vict\u0456m@example.com",  # Cyrillic i
        "victim@ex\u0430mple.com",  # Cyrillic a in the domain
        "\uff56ictim@example.com",  # fullwidth v
        "victim@example.com\u200b",  # zero-width space (IDNA 2003 maps it to nothing)
        "victim@\uff45xample.com",  # fullwidth e in the domain (IDNA 2003 maps it to e)
        "victim\u200d@example.com",  # zero-width joiner
        "v\u0131ctim@example.com",  # dotless i
        "victim@example.co",
        "victim+x@example.com",
        "victim@sub.example.com",
    ],
)
def test_lookalike_emails_never_link(store, lookalike):
    target = victim(store)
    result = resolve(profile("github", "gh-look", lookalike, True), None, store, LINKING)
    assert result.commenter.id != target.id
    found = store.find_verified_by_email(lookalike)
    assert found is None or found.id != target.id


@pytest.mark.parametrize(
    "variant", ["VICTIM@EXAMPLE.COM", "Victim@Example.Com", " victim@example.com "]
)
def test_case_variants_of_an_ascii_email_are_the_same_address(store, variant):
    target = victim(store)
    result = resolve(profile("github", "gh-case", variant.strip(), True), None, store, LINKING)
    assert result.commenter.id == target.id and result.outcome == "linked_by_email"


def test_non_ascii_local_parts_keep_their_case(store):
    target = victim(store, "\u00c9milie@example.com")
    result = resolve(
        profile("github", "gh-e", "\u00e9milie@example.com", True), None, store, LINKING
    )
    assert result.commenter.id != target.id


@pytest.mark.parametrize(
    "variant",
    [
        "ABC-123",
        "abc-123 ",
        " abc-123",
        "abc\u2010123",
        "\uff41bc-123",
        "abc-123\u200b",
        "abc-0123",
    ],
)
def test_subjects_are_compared_exactly(store, variant):
    first = resolve(profile("corp", "abc-123"), None, store, DEFAULT)
    other = resolve(profile("corp", variant), None, store, DEFAULT)
    assert other.commenter.id != first.commenter.id and other.outcome == "created"
    assert owner_of(store, "corp", "abc-123") == first.commenter.id


def test_the_same_subject_at_another_provider_is_another_person(store):
    first = resolve(profile("google", "12345"), None, store, DEFAULT)
    other = resolve(profile("github", "12345"), None, store, DEFAULT)
    assert other.commenter.id != first.commenter.id

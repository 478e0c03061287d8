"""The identity store's contract, run against every backend by inheritance."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from social_auth import AccountConflict, LastSignInMethod, NotFound, Profile, StoreConflict
from social_auth.store import IdentityStore
from social_auth.store.models import utcnow
from tests.conftest import empty_tables


def google(subject: str = "110169484474386276334", **extra: object) -> Profile:
    fields: dict[str, object] = {
        "display_name": "Jane Doe",
        "email": "jane@example.com",
        "email_verified": True,
        "username": None,
        "avatar_url": "https://lh3.example/a.png",
    }
    fields.update(extra)
    return Profile(provider="google", subject=subject, **fields)  # type: ignore[arg-type]


def github(subject: str = "583231", **extra: object) -> Profile:
    fields: dict[str, object] = {"display_name": "The Octocat", "username": "octocat"}
    fields.update(extra)
    return Profile(provider="github", subject=subject, **fields)  # type: ignore[arg-type]


class StoreContract:
    """Every ``IdentityStore`` backend must pass these."""

    @pytest.fixture
    def store(self) -> Iterator[IdentityStore]:
        raise NotImplementedError

    # -- sign-in ------------------------------------------------------------------------

    def test_first_sign_in_creates_a_commenter_with_one_identity(self, store: IdentityStore):
        commenter, identity, created = store.sign_in(google())
        assert created is True
        assert commenter.display_name == "Jane Doe"
        assert commenter.email_verified_at is not None
        assert [(i.provider, i.subject) for i in commenter.identities] == [
            ("google", "110169484474386276334")
        ]
        assert identity.commenter_id == commenter.id
        assert store.get_by_public_id(commenter.public_id) is not None

    def test_returning_sign_in_finds_the_same_commenter_and_refreshes_the_identity(
        self, store: IdentityStore
    ):
        first = store.sign_in(google())
        again = store.sign_in(google(display_name="Jane Q. Doe", avatar_url=None))
        assert again.created is False
        assert again.commenter.id == first.commenter.id
        assert again.identity.display_name == "Jane Q. Doe"
        assert again.identity.avatar_url is None
        assert again.identity.last_sign_in_at is not None
        assert again.identity.last_sign_in_at >= first.identity.last_sign_in_at  # type: ignore[operator]

    def test_subjects_compare_exactly_as_issued(self, store: IdentityStore):
        upper = store.sign_in(github("AbC"))
        lower = store.sign_in(github("abc"))
        assert upper.commenter.id != lower.commenter.id
        assert store.find_identity("github", "AbC").commenter_id == upper.commenter.id  # type: ignore[union-attr]
        assert store.find_identity("github", "abc").commenter_id == lower.commenter.id  # type: ignore[union-attr]
        assert store.find_identity("github", "ABC") is None

    def test_the_same_subject_at_two_providers_is_two_commenters(self, store: IdentityStore):
        a = store.sign_in(google("42"))
        b = store.sign_in(github("42"))
        assert a.commenter.id != b.commenter.id

    def test_an_unverified_provider_email_leaves_the_commenter_unverified(
        self, store: IdentityStore
    ):
        commenter, _, _ = store.sign_in(github(email="cat@example.com", email_verified=False))
        assert commenter.email == "cat@example.com"
        assert commenter.email_verified_at is None

    def test_emails_are_stored_as_given(self, store: IdentityStore):
        commenter, identity, _ = store.sign_in(google(email="Jane.Doe@Example.COM"))
        assert commenter.email == "Jane.Doe@Example.COM"
        assert identity.email == "Jane.Doe@Example.COM"

    # -- reads --------------------------------------------------------------------------

    def test_unknown_ids_read_as_none_or_not_found(self, store: IdentityStore):
        assert store.get(987654) is None
        assert store.get_by_public_id("nope") is None
        assert store.find_identity("google", "nope") is None
        with pytest.raises(NotFound, match="nope"):
            store.require("nope")

    def test_verified_email_lookup_folds_case_but_not_lookalikes(self, store: IdentityStore):
        commenter, _, _ = store.sign_in(google(email="Jane@Example.com"))
        assert store.find_verified_by_email("jane@EXAMPLE.com").id == commenter.id  # type: ignore[union-attr]
        assert store.find_verified_by_email("j\u0430ne@example.com") is None  # Cyrillic a
        assert store.find_verified_by_email("jane@examp1e.com") is None

    def test_verified_email_lookup_ignores_unverified_commenters(self, store: IdentityStore):
        store.create_guest("Mallory", "victim@example.com")
        store.sign_in(github(email="victim@example.com", email_verified=False))
        assert store.find_verified_by_email("victim@example.com") is None

    def test_search_matches_name_email_subject_username_and_public_id(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        cat = store.sign_in(github()).commenter
        guest = store.create_guest("Bob Guest", "bob@example.org")
        ids = lambda q: {c.id for c in store.search(q)}  # noqa: E731
        assert ids("jane") == {jane.id}
        assert ids("EXAMPLE.ORG") == {guest.id}
        assert ids("583231") == {cat.id}
        assert ids("octo") == {cat.id}
        assert ids(jane.public_id) == {jane.id}
        assert ids("") == {jane.id, cat.id, guest.id}

    def test_search_treats_like_wildcards_literally(self, store: IdentityStore):
        store.sign_in(google())
        assert store.search("%") == []
        assert store.search("_") == []

    # -- guests ---------------------------------------------------------------------------

    def test_a_guest_is_an_unverified_commenter_without_identities(self, store: IdentityStore):
        guest = store.create_guest("Ann", "ann@example.com", "https://ann.example")
        assert guest.is_guest and not guest.email_verified
        assert store.get(guest.id).website == "https://ann.example"  # type: ignore[union-attr]

    def test_changing_a_verified_guest_email_drops_the_verification(self, store: IdentityStore):
        guest = store.create_guest("Ann", "ann@example.com")
        guest = store.mark_email_verified(guest, "ann@example.com")
        assert guest.email_verified
        same = store.update_guest(guest, "Ann B", "ANN@example.com", None, None)
        assert same.email_verified
        changed = store.update_guest(same, "Ann B", "other@example.com", None, None)
        assert not changed.email_verified

    # -- link and unlink -------------------------------------------------------------------

    def test_link_adds_an_identity_and_audits_it(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        store.link(jane, github())
        reloaded = store.get(jane.id)
        assert {i.provider for i in reloaded.identities} == {"google", "github"}  # type: ignore[union-attr]
        assert [e.action for e in store.audit_log(jane)] == ["link"]

    def test_linking_an_identity_owned_by_someone_else_conflicts_and_changes_nothing(
        self, store: IdentityStore
    ):
        jane = store.sign_in(google()).commenter
        cat = store.sign_in(github()).commenter
        with pytest.raises(AccountConflict) as info:
            store.link(jane, github())
        assert info.value.owner_public_id == cat.public_id
        assert store.find_identity("github", "583231").commenter_id == cat.id  # type: ignore[union-attr]
        assert len(store.get(jane.id).identities) == 1  # type: ignore[union-attr]

    def test_linking_an_identity_already_owned_refreshes_it(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        identity = store.link(jane, google(display_name="J."))
        assert identity.display_name == "J."
        assert len(store.get(jane.id).identities) == 1  # type: ignore[union-attr]

    def test_unlink_refuses_the_last_sign_in_method(self, store: IdentityStore):
        _cat, identity, _ = store.sign_in(github())
        with pytest.raises(LastSignInMethod):
            store.unlink(identity)
        assert store.find_identity("github", "583231") is not None

    def test_unlink_removes_one_of_two_identities(self, store: IdentityStore):
        jane, google_identity, _ = store.sign_in(google())
        store.link(jane, github())
        store.unlink(google_identity)
        assert [i.provider for i in store.get(jane.id).identities] == ["github"]  # type: ignore[union-attr]

    def test_a_verified_email_counts_as_a_sign_in_method(self, store: IdentityStore):
        jane, identity, _ = store.sign_in(google())
        store.unlink(identity)  # the verified email (magic link) remains
        assert store.get(jane.id).identities == []  # type: ignore[union-attr]

    # -- merge ------------------------------------------------------------------------

    def test_merge_moves_identities_and_leaves_a_tombstone(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        cat = store.sign_in(github()).commenter
        target = store.merge(cat, jane, actor="admin:root")
        assert {i.provider for i in target.identities} == {"google", "github"}
        source = store.get(cat.id)
        assert source.merged_into_id == jane.id  # type: ignore[union-attr]
        assert source.session_version == cat.session_version + 1  # type: ignore[union-attr]
        assert store.find_identity("github", "583231").commenter_id == jane.id  # type: ignore[union-attr]
        assert [e.action for e in store.audit_log(jane)] == ["merge"]
        assert store.audit_log(jane)[0].details["source"] == cat.public_id

    def test_merge_into_itself_or_from_a_tombstone_is_refused(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        cat = store.sign_in(github()).commenter
        with pytest.raises(StoreConflict):
            store.merge(jane, jane)
        store.merge(cat, jane)
        with pytest.raises(StoreConflict):
            store.merge(cat, jane)

    # -- block, sessions, export, erase -----------------------------------------------------

    def test_block_covers_the_commenter_and_ends_their_sessions(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        blocked = store.block(jane, actor="admin:root")
        assert blocked.is_blocked
        assert blocked.session_version == jane.session_version + 1
        assert not store.unblock(blocked).is_blocked

    def test_a_block_with_an_expiry_lapses(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        blocked = store.block(jane, until=utcnow() + timedelta(hours=1))
        assert blocked.is_blocked
        assert not blocked.is_blocked_at(utcnow() + timedelta(hours=2))

    def test_bump_session_version_counts_up(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        assert store.bump_session_version(jane) == jane.session_version + 1
        assert store.bump_session_version(jane) == jane.session_version + 2

    def test_export_holds_everything_and_is_json(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        store.link(jane, github())
        data = json.loads(json.dumps(store.export(jane)))
        assert data["commenter"]["email"] == "jane@example.com"
        assert {i["provider"] for i in data["identities"]} == {"google", "github"}
        assert [e["action"] for e in data["audit_events"]] == ["link"]

    def test_erase_removes_personal_data_and_keeps_a_tombstone(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        erased = store.erase(jane, actor="commenter")
        assert erased.is_erased
        assert (erased.display_name, erased.email, erased.avatar_url) == ("", None, None)
        assert erased.identities == []
        assert erased.session_version == jane.session_version + 1
        assert store.find_identity("google", "110169484474386276334") is None
        assert store.find_verified_by_email("jane@example.com") is None
        event = store.audit_log(jane)[0]
        assert event.action == "erase" and "jane" not in json.dumps(event.details)

    def test_a_new_sign_in_after_erasure_is_a_new_commenter(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        store.erase(jane)
        again = store.sign_in(google())
        assert again.created and again.commenter.id != jane.id


class TestStoreOnSQLite(StoreContract):
    @pytest.fixture
    def store(self, sqlite_store: IdentityStore) -> Iterator[IdentityStore]:
        empty_tables(sqlite_store)
        yield sqlite_store


@pytest.mark.postgres
class TestStoreOnPostgreSQL(StoreContract):
    @pytest.fixture
    def store(self, postgres_store: IdentityStore) -> Iterator[IdentityStore]:
        empty_tables(postgres_store)
        yield postgres_store

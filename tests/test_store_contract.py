"""The identity store's contract, run against every backend by inheritance."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from social_auth import (
    AccountConflict,
    CommenterBlocked,
    LastSignInMethod,
    NotFound,
    Profile,
    StoreConflict,
    signals,
)
from social_auth.store import Commenter, IdentityStore
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

    def test_sign_in_existing_refreshes_a_known_identity_and_creates_nothing_new(
        self, store: IdentityStore
    ):
        assert store.sign_in_existing(google()) is None
        assert store.find_identity("google", "110169484474386276334") is None
        first = store.sign_in(google())
        again = store.sign_in_existing(google(display_name="Jane Q. Doe"))
        assert again is not None and again.created is False
        assert again.commenter.id == first.commenter.id
        assert again.identity.display_name == "Jane Q. Doe"
        assert [i.id for i in again.commenter.identities] == [first.identity.id]

    def test_sign_in_refuses_a_blocked_owner_and_writes_nothing(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        store.block(jane, actor="admin:root")
        before = store.find_identity("google", "110169484474386276334")
        for sign_in in (store.sign_in, store.sign_in_existing):
            with pytest.raises(CommenterBlocked):
                sign_in(google(display_name="Someone Else"))
        after = store.find_identity("google", "110169484474386276334")
        assert before is not None and after is not None
        assert (after.display_name, after.last_sign_in_at) == (
            before.display_name,
            before.last_sign_in_at,
        )
        assert store.get(jane.id).last_seen_at == jane.last_seen_at  # type: ignore[union-attr]

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

    def test_merge_preview_lists_what_would_move_and_changes_nothing(self, store: IdentityStore):
        guest = store.create_guest("", None)
        cat = store.sign_in(github(email="cat@example.com")).commenter
        preview = store.merge_preview(cat, guest)
        assert [i.subject for i in preview.identities] == ["583231"]
        assert preview.filled == ["display_name", "email"] and preview.problem is None
        assert store.get(guest.id).display_name == ""  # type: ignore[union-attr]
        assert store.merge(cat, guest).display_name == "The Octocat"
        assert "merged or erased" in (store.merge_preview(cat, guest).problem or "")
        assert "itself" in (store.merge_preview(guest, guest).problem or "")

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

    # -- signals ----------------------------------------------------------------------------

    def test_the_store_sends_its_signals_after_committing(self, store: IdentityStore):
        seen: list[tuple[str, object]] = []

        def listener(name: str) -> Callable[..., None]:
            def receive(sender: object, **kwargs: object) -> None:
                assert sender is store
                seen.append((name, kwargs.get("commenter") or kwargs.get("source")))

            return receive

        receivers = {
            signal: listener(name)
            for name, signal in [
                ("linked", signals.identity_linked),
                ("unlinked", signals.identity_unlinked),
                ("merged", signals.commenters_merged),
                ("blocked", signals.commenter_blocked),
                ("erased", signals.commenter_erased),
            ]
        }
        for signal, receiver in receivers.items():
            signal.connect(receiver)
        try:
            jane, google_identity, _ = store.sign_in(google())
            cat = store.sign_in(github()).commenter
            store.link(jane, github("2"))
            store.unlink(google_identity)
            store.merge(cat, jane)
            store.block(jane)
            store.erase(jane)
        finally:
            for signal, receiver in receivers.items():
                signal.disconnect(receiver)
        assert [name for name, _ in seen] == [
            "linked",
            "unlinked",
            "merged",
            "blocked",
            "erased",
        ]
        merged_source = seen[2][1]
        assert isinstance(merged_source, Commenter) and merged_source.merged_into_id == jane.id

    # -- undo merge -----------------------------------------------------------------------

    def test_undo_last_merge_moves_identities_back_and_clears_the_tombstone(
        self, store: IdentityStore
    ):
        jane = store.sign_in(google()).commenter
        cat = store.sign_in(github(email="cat@example.com")).commenter
        merged = store.merge(cat, jane, actor="admin:root")
        assert store.details(merged).can_undo_merge
        source, target = store.undo_last_merge(merged, actor="admin:root")
        assert source.id == cat.id and source.merged_into_id is None
        assert [i.provider for i in source.identities] == ["github"]
        assert [i.provider for i in target.identities] == ["google"]
        assert target.session_version == merged.session_version + 1
        assert store.find_identity("github", "583231").commenter_id == cat.id  # type: ignore[union-attr]
        assert [e.action for e in store.audit_log(jane)] == ["unmerge", "merge"]
        assert not store.details(target).can_undo_merge

    def test_undo_and_move_send_their_signals(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        cat, identity, _ = store.sign_in(github())
        store.link(cat, github("second"))
        seen: list[tuple[str, int]] = []

        def unmerged(sender: object, source: Commenter, target: Commenter) -> None:
            seen.append(("unmerged", source.id))

        def linked(sender: object, commenter: Commenter, identity: object) -> None:
            seen.append(("linked", commenter.id))

        def unlinked(sender: object, commenter: Commenter, identity: object) -> None:
            seen.append(("unlinked", commenter.id))

        with (
            signals.commenters_unmerged.connected_to(unmerged),
            signals.identity_linked.connected_to(linked),
            signals.identity_unlinked.connected_to(unlinked),
        ):
            store.move_identity(identity, jane, actor="cli")
            bob = store.sign_in(github("bob")).commenter
            store.merge(bob, cat)
            store.undo_last_merge(cat)
        assert seen == [("unlinked", cat.id), ("linked", jane.id), ("unmerged", bob.id)]

    def test_undo_clears_fields_the_merge_filled_in(self, store: IdentityStore):
        guest = store.create_guest("", None)
        cat = store.sign_in(github(email="cat@example.com")).commenter
        guest = store.mark_email_verified(guest, "g@example.com")
        merged = store.merge(cat, guest)
        assert merged.display_name == "The Octocat"
        _, target = store.undo_last_merge(merged)
        assert target.display_name == "" and target.email == "g@example.com"

    def test_undo_is_refused_after_an_identity_change(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        cat = store.sign_in(github()).commenter
        store.merge(cat, jane)
        store.link(jane, github("another"))
        with pytest.raises(StoreConflict, match="changed"):
            store.undo_last_merge(jane)
        assert store.get(cat.id).merged_into_id == jane.id  # type: ignore[union-attr]
        assert not store.details(jane).can_undo_merge

    def test_undo_without_a_merge_or_on_a_tombstone_is_refused(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        cat = store.sign_in(github()).commenter
        with pytest.raises(StoreConflict, match="no merge"):
            store.undo_last_merge(jane)
        store.merge(cat, jane)
        with pytest.raises(StoreConflict):
            store.undo_last_merge(cat)

    def test_undo_walks_back_merges_one_at_a_time(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        cat = store.sign_in(github()).commenter
        bob = store.sign_in(github("bob")).commenter
        old = store.sign_in(github("old")).commenter
        store.merge(old, cat)  # old's tombstone follows cat into jane, and back
        store.merge(cat, jane)
        store.merge(bob, jane)
        assert store.undo_last_merge(jane).source.id == bob.id
        assert store.undo_last_merge(jane).source.id == cat.id
        assert store.get(old.id).merged_into_id == cat.id  # type: ignore[union-attr]
        assert {i.subject for i in store.get(jane.id).identities} == {  # type: ignore[union-attr]
            "110169484474386276334"
        }
        with pytest.raises(StoreConflict):
            store.undo_last_merge(jane)

    # -- admin helpers --------------------------------------------------------------------

    def test_move_identity_gives_it_to_another_commenter_and_audits_both(
        self, store: IdentityStore
    ):
        jane = store.sign_in(google()).commenter
        cat, identity, _ = store.sign_in(github())
        store.link(cat, github("second"))
        moved = store.move_identity(identity, jane, actor="cli")
        assert moved.commenter_id == jane.id
        assert {i.subject for i in store.get(cat.id).identities} == {"second"}  # type: ignore[union-attr]
        assert store.audit_log(cat)[0].action == "identity_moved_out"
        assert store.audit_log(jane)[0].action == "identity_moved_in"

    def test_move_identity_refuses_to_strip_the_last_sign_in_method(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        cat, identity, _ = store.sign_in(github())
        with pytest.raises(LastSignInMethod):
            store.move_identity(identity, jane, actor="cli")
        assert store.find_identity("github", "583231").commenter_id == cat.id  # type: ignore[union-attr]

    def test_move_identity_to_a_tombstone_is_refused(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        cat, identity, _ = store.sign_in(github())
        store.link(cat, github("second"))
        bob = store.sign_in(github("bob")).commenter
        store.merge(bob, jane)
        with pytest.raises(StoreConflict):
            store.move_identity(identity, bob, actor="cli")

    def test_list_commenters_pages_through_search_results(self, store: IdentityStore):
        made = [store.create_guest(f"Guest {n}", f"g{n}@example.com") for n in range(5)]
        store.sign_in(google())
        first = store.list_commenters("guest", page=1, per_page=2)
        assert (first.total, first.pages, first.has_next) == (5, 3, True)
        assert [c.id for c in first.items] == [made[4].id, made[3].id]
        last = store.list_commenters("guest", page=3, per_page=2)
        assert [c.id for c in last.items] == [made[0].id] and not last.has_next
        assert store.list_commenters().total == 6

    def test_live_commenter_follows_merges_and_ends_at_erasure(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        cat = store.sign_in(github()).commenter
        bob = store.sign_in(github("bob")).commenter
        store.merge(cat, jane)
        store.merge(jane, bob)
        assert store.live_commenter(cat.id).id == bob.id  # type: ignore[union-attr]
        store.erase(bob)
        assert store.live_commenter(cat.id) is None

    def test_details_show_merges_both_ways(self, store: IdentityStore):
        jane = store.sign_in(google()).commenter
        cat = store.sign_in(github()).commenter
        store.merge(cat, jane)
        target = store.details(jane)
        assert [c.id for c in target.merged_from] == [cat.id]
        assert target.merged_into is None
        tombstone = store.details(cat)
        assert tombstone.merged_into.id == jane.id  # type: ignore[union-attr]
        assert [e.action for e in tombstone.audit_events] == ["merged_into"]

    def test_unverified_guests_are_found_by_email_key_only(self, store: IdentityStore):
        guest = store.create_guest("Ann", "Ann@Example.com")
        store.mark_email_verified(store.create_guest("Ann", None), "ann@example.com")
        store.sign_in(github(email="ann@example.com"))
        assert [g.id for g in store.unverified_guests({"ann@example.com"})] == [guest.id]
        assert store.unverified_guests(set()) == []


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

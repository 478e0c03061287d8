"""``/auth/connections``: list, connect (POST with CSRF), the conflict page and self-service
merge, disconnect, and claiming guest records; through the real routes and a local provider."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from social_auth import Profile, commenters_merged, get_state
from social_auth.store import Commenter
from social_auth.testing import make_commenter

from .conftest import make_provider
from .servers import FakeProvider, consent
from .signin_app import BASE, callback, client_for, counts, csrf, sign_in_as, signin_app

GITHUB_ID = "583231"  # tests/providers/payloads/github_user.json


@pytest.fixture
def app(tmp_path: Path, github: FakeProvider) -> Flask:
    # WordPress is configured but never called: commenters are made with its identities.
    return signin_app(
        tmp_path,
        {
            "github": make_provider("github", github).settings,
            "wordpress": make_provider("wordpress", github).settings,
        },
    )


def signed_in(app: Flask, **profile: str | bool) -> tuple[FlaskClient, Commenter]:
    commenter = make_commenter(app, provider="wordpress", **profile)  # type: ignore[arg-type]
    client = client_for(app)
    sign_in_as(client, commenter)
    return client, commenter


def connect(client: FlaskClient, provider: str = "github"):
    started = client.post(
        f"/auth/connections/{provider}", data={"csrf_token": csrf(client)}, base_url=BASE
    )
    assert started.status_code == 302, started.get_data(as_text=True)
    return callback(client, provider, consent(started.headers["Location"]))


def providers_of(app: Flask, commenter: Commenter) -> list[str]:
    found = get_state(app).store.get(commenter.id)
    assert found is not None
    return sorted(i.provider for i in found.identities)


def test_the_page_needs_a_signed_in_commenter(app: Flask):
    client = client_for(app)
    assert client.get("/auth/connections", base_url=BASE).status_code == 401
    answer = client.get("/auth/connections", base_url=BASE, headers={"Accept": "application/json"})
    assert answer.status_code == 401 and answer.json == {
        "error": "not_signed_in",
        "message": "Sign in first: this page is about your own accounts.",
    }


def test_the_page_lists_own_identities_as_html_and_json(app: Flask):
    client, _ = signed_in(app, display_name="Ann", subject="ann")
    html = client.get("/auth/connections", base_url=BASE).get_data(as_text=True)
    assert "Your connected accounts" in html and "Connect GitHub" in html
    body = client.get(
        "/auth/connections", base_url=BASE, headers={"Accept": "application/json"}
    ).json
    assert body is not None
    assert [(i["provider"], i["subject"], i["can_disconnect"]) for i in body["identities"]] == [
        ("wordpress", "ann", False)
    ]
    assert {"provider": "github", "title": "GitHub"} in body["providers"]


def test_connecting_links_the_new_identity_to_the_signed_in_commenter(app: Flask):
    client, me = signed_in(app, subject="ann")
    answer = connect(client)
    assert answer.status_code == 302 and answer.headers["Location"] == "/auth/connections"
    assert providers_of(app, me) == ["github", "wordpress"]
    assert counts(app) == (1, 2)
    page = client.get("/auth/connections", base_url=BASE).get_data(as_text=True)
    assert "The account is connected" in page


def test_a_get_or_a_post_without_the_token_connects_nothing(app: Flask):
    client, me = signed_in(app, subject="ann")
    assert client.get("/auth/connections/github", base_url=BASE).status_code == 405
    assert client.post("/auth/connections/github", base_url=BASE).status_code == 403
    assert providers_of(app, me) == ["wordpress"]


def test_a_connection_finished_in_another_session_links_nothing(app: Flask):
    client, me = signed_in(app, subject="ann")
    started = client.post(
        "/auth/connections/github", data={"csrf_token": csrf(client)}, base_url=BASE
    )
    someone_else = make_commenter(app, provider="wordpress", subject="eve")
    sign_in_as(client, someone_else)  # the browser changed hands meanwhile
    answer = callback(client, "github", consent(started.headers["Location"]))
    assert answer.status_code == 400 and "another session" in answer.get_data(as_text=True)
    assert providers_of(app, me) == ["wordpress"]
    assert providers_of(app, someone_else) == ["wordpress"]


def test_someone_elses_identity_gives_the_conflict_page_and_changes_nothing(app: Flask):
    owner = make_commenter(app, provider="github", subject=GITHUB_ID, display_name="Old me")
    client, me = signed_in(app, subject="ann", display_name="Ann")
    answer = connect(client)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 409
    assert "This GitHub account is already linked to another commenter" in html
    assert "Sign in with it and merge" in html and "Merge into my account" in html
    assert "GitHub: The Octocat" in html or "GitHub: Old me" in html  # what would move
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert providers_of(app, me) == ["wordpress"] and providers_of(app, owner) == ["github"]


def test_after_proving_both_the_commenter_merges_the_other_into_theirs(app: Flask):
    owner = make_commenter(app, provider="github", subject=GITHUB_ID)
    owners_browser = client_for(app)
    sign_in_as(owners_browser, owner)
    client, me = signed_in(app, subject="ann")
    merged: list[tuple[str, str]] = []

    def record(sender: object, source: Commenter, target: Commenter) -> None:
        merged.append((source.public_id, target.public_id))

    connect(client)
    assert client.get("/auth/merge", base_url=BASE).status_code == 200  # the page reloads
    with commenters_merged.connected_to(record):
        answer = client.post("/auth/merge", data={"csrf_token": csrf(client)}, base_url=BASE)
    assert answer.status_code == 302 and answer.headers["Location"] == "/auth/connections"
    assert providers_of(app, me) == ["github", "wordpress"]
    assert merged == [(owner.public_id, me.public_id)]
    me_now = owners_browser.get("/auth/me", base_url=BASE).json
    assert me_now is not None and me_now["authenticated"] is False  # B's sessions are over
    page = client.get("/auth/connections", base_url=BASE).get_data(as_text=True)
    assert "merged" in page and page.count('class="identity"') == 2


def test_merging_needs_the_proof_of_this_session(app: Flask):
    make_commenter(app, provider="github", subject=GITHUB_ID)
    client, me = signed_in(app, subject="ann")
    connect(client)
    other, _ = signed_in(app, subject="eve")
    refused = other.post("/auth/merge", data={"csrf_token": csrf(other)}, base_url=BASE)
    assert refused.status_code == 400
    assert client.post("/auth/merge", base_url=BASE).status_code == 403  # CSRF
    assert providers_of(app, me) == ["wordpress"]


def test_a_blocked_commenter_cannot_be_merged_away_from_its_block(app: Flask):
    owner = make_commenter(app, provider="github", subject=GITHUB_ID)
    get_state(app).store.block(owner, actor="test")
    client, me = signed_in(app, subject="ann")
    html = connect(client).get_data(as_text=True)
    assert "blocked" in html and "Merge into my account" not in html
    refused = client.post("/auth/merge", data={"csrf_token": csrf(client)}, base_url=BASE)
    assert refused.status_code == 400
    assert providers_of(app, me) == ["wordpress"]


def test_disconnecting_own_identities_but_never_the_last(app: Flask):
    client, me = signed_in(app, subject="ann")
    connect(client)
    found = get_state(app).store.get(me.id)
    assert found is not None
    github_identity = next(i for i in found.identities if i.provider == "github")
    url = f"/auth/connections/{github_identity.id}/disconnect"
    answer = client.post(url, data={"csrf_token": csrf(client)}, base_url=BASE)
    assert answer.status_code == 302
    assert providers_of(app, me) == ["wordpress"]
    last = next(i for i in found.identities if i.provider == "wordpress")
    refused = client.post(
        f"/auth/connections/{last.id}/disconnect",
        data={"csrf_token": csrf(client)},
        base_url=BASE,
    )
    assert refused.status_code == 409 and "only way to sign in" in refused.get_data(as_text=True)
    assert providers_of(app, me) == ["wordpress"]


def test_nobody_disconnects_someone_elses_identity(app: Flask):
    victim = make_commenter(app, provider="github", subject="v")
    second = Profile(provider="wordpress", subject="v2", display_name="V")
    get_state(app).store.link(victim, second)
    client, _ = signed_in(app, subject="mallory")
    target = victim.identities[0].id
    answer = client.post(
        f"/auth/connections/{target}/disconnect", data={"csrf_token": csrf(client)}, base_url=BASE
    )
    assert answer.status_code == 404
    assert providers_of(app, victim) == ["github", "wordpress"]
    huge = client.post(
        f"/auth/connections/{10**30}/disconnect", data={"csrf_token": csrf(client)}, base_url=BASE
    )
    assert huge.status_code == 404
    assert client.post(
        f"/auth/connections/{target}/disconnect", base_url=BASE
    ).status_code == 403  # and never without the token


def test_a_verified_email_lets_the_commenter_claim_a_guest_record(app: Flask):
    store = get_state(app).store
    guest = store.create_guest("Ann (guest)", "ann@example.org", None, None)
    other = store.create_guest("Not Ann", "someone@example.org", None, None)
    commenter = make_commenter(
        app, provider="github", subject=GITHUB_ID, email="ann@example.org", email_verified=True
    )
    client = client_for(app)
    sign_in_as(client, commenter)
    body = client.get(
        "/auth/connections", base_url=BASE, headers={"Accept": "application/json"}
    ).json
    assert body is not None
    assert [g["id"] for g in body["claimable_guests"]] == [guest.public_id]
    refused = client.post(
        f"/auth/claim/{other.public_id}", data={"csrf_token": csrf(client)}, base_url=BASE
    )
    assert refused.status_code == 409
    answer = client.post(
        f"/auth/claim/{guest.public_id}", data={"csrf_token": csrf(client)}, base_url=BASE
    )
    assert answer.status_code == 302
    claimed = store.get(guest.id)
    assert claimed is not None and claimed.merged_into_id == commenter.id
    html = client.get("/auth/connections", base_url=BASE).get_data(as_text=True)
    assert "guest comments are now part of this account" in html
    assert not re.search(r"/auth/claim/", html)


# -- the merge proof holds only for the session that earned it -------------------------------

PROOF = "__Host-social_auth_merge"  # on https


def earned_proof(app: Flask) -> tuple[FlaskClient, Commenter, Commenter, str]:
    """Ann connects the GitHub account the owner holds: the conflict page and its proof."""
    owner = make_commenter(app, provider="github", subject=GITHUB_ID)
    client, ann = signed_in(app, subject="ann")
    assert connect(client).status_code == 409
    cookie = client.get_cookie(PROOF, domain="blog.example")
    assert cookie is not None
    return client, ann, owner, cookie.value


def test_a_copied_merge_proof_merges_nothing_into_another_commenter(app: Flask):
    _, ann, owner, proof = earned_proof(app)
    eves, eve = signed_in(app, subject="eve")
    eves.set_cookie(PROOF, proof, domain="blog.example", secure=True)
    refused = eves.post("/auth/merge", data={"csrf_token": csrf(eves)}, base_url=BASE)
    assert refused.status_code == 400
    assert providers_of(app, eve) == ["wordpress"] and providers_of(app, owner) == ["github"]
    assert providers_of(app, ann) == ["wordpress"]


def test_a_merge_proof_from_before_a_sign_out_merges_nothing(app: Flask):
    client, ann, owner, proof = earned_proof(app)
    store = get_state(app).store
    store.bump_session_version(ann)  # signed out everywhere since
    fresh = store.get(ann.id)
    assert fresh is not None
    sign_in_as(client, fresh)
    client.set_cookie(PROOF, proof, domain="blog.example", secure=True)
    refused = client.post("/auth/merge", data={"csrf_token": csrf(client)}, base_url=BASE)
    assert refused.status_code == 400
    assert providers_of(app, ann) == ["wordpress"] and providers_of(app, owner) == ["github"]

"""The self-service merge's proof cookie holds only for the session that earned it: a copy in
another browser, or the same commenter's browser after a sign-out, merges nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from social_auth import get_state
from social_auth.store import Commenter
from social_auth.testing import make_commenter

from .conftest import make_provider
from .servers import FakeProvider, consent
from .signin_app import BASE, callback, client_for, csrf, sign_in_as, signin_app

GITHUB_ID = "583231"  # tests/providers/payloads/github_user.json
PROOF = "__Host-social_auth_merge"  # on https


@pytest.fixture
def app(tmp_path: Path, github: FakeProvider) -> Flask:
    return signin_app(
        tmp_path,
        {
            "github": make_provider("github", github).settings,
            "wordpress": make_provider("wordpress", github).settings,
        },
    )


def browser_of(app: Flask, subject: str) -> tuple[FlaskClient, Commenter]:
    commenter = make_commenter(app, provider="wordpress", subject=subject)
    client = client_for(app)
    sign_in_as(client, commenter)
    return client, commenter


def earn_proof(app: Flask) -> tuple[FlaskClient, Commenter, Commenter, str]:
    """Ann connects the GitHub account the owner holds: the conflict page and its proof."""
    owner = make_commenter(app, provider="github", subject=GITHUB_ID)
    client, ann = browser_of(app, "ann")
    started = client.post(
        "/auth/connections/github", data={"csrf_token": csrf(client)}, base_url=BASE
    )
    answer = callback(client, "github", consent(started.headers["Location"]))
    assert answer.status_code == 409
    cookie = client.get_cookie(PROOF, domain="blog.example")
    assert cookie is not None
    return client, ann, owner, cookie.value


def identities(app: Flask, commenter: Commenter) -> list[str]:
    found = get_state(app).store.get(commenter.id)
    assert found is not None
    return sorted(i.provider for i in found.identities)


def test_a_copied_proof_merges_nothing_into_another_commenter(app: Flask):
    _, ann, owner, proof = earn_proof(app)
    eves, eve = browser_of(app, "eve")
    eves.set_cookie(PROOF, proof, domain="blog.example", secure=True)
    refused = eves.post("/auth/merge", data={"csrf_token": csrf(eves)}, base_url=BASE)
    assert refused.status_code == 400
    assert identities(app, eve) == ["wordpress"] and identities(app, owner) == ["github"]
    assert identities(app, ann) == ["wordpress"]


def test_a_proof_from_before_a_sign_out_merges_nothing(app: Flask):
    client, ann, owner, proof = earn_proof(app)
    get_state(app).store.bump_session_version(ann)  # signed out everywhere since
    fresh = get_state(app).store.get(ann.id)
    assert fresh is not None
    sign_in_as(client, fresh)
    client.set_cookie(PROOF, proof, domain="blog.example", secure=True)
    refused = client.post("/auth/merge", data={"csrf_token": csrf(client)}, base_url=BASE)
    assert refused.status_code == 400
    assert identities(app, ann) == ["wordpress"] and identities(app, owner) == ["github"]

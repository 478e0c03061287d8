"""Sign in with a Mastodon handle through the real routes, against a Mastodon-shaped server
on 127.0.0.1: WebFinger, metadata (and the pre-4.3 fallback), one registration per server,
reused, renewed when refused, bounded, allow and deny lists, and hostile answers refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from social_auth import get_state
from social_auth.store.mastodon_apps import MastodonApps

from .conftest import POST, come_back, consent, handle_app, identities, press
from .mastodon_server import MastodonServer


def mastodon_app(tmp_path: Path, **options: object) -> Flask:
    return handle_app(tmp_path, SOCIAL_AUTH_HANDLES={"mastodon": options})


@pytest.fixture
def server():
    with MastodonServer().running() as running:
        yield running


def sign_in(client, server: MastodonServer):
    started = press(client, f"@{server.user}@{server.host}")
    assert started.status_code == 302, started.get_data(as_text=True)
    return come_back(client, consent(started.headers["Location"]))


def test_a_mastodon_handle_signs_in_with_the_actor_uri_as_subject(tmp_path, server):
    client = mastodon_app(tmp_path).test_client()
    finished = sign_in(client, server)
    assert finished.status_code == 302 and finished.headers["Location"].endswith(POST)
    [identity] = identities(client)
    assert identity["provider"] == "mastodon" and identity["subject"] == server.actor
    assert identity["display_name"] == "Alice Mastodon"
    assert identity["username"] == f"alice@{server.host}"
    assert "My draft" in client.get(POST).get_data(as_text=True)


def test_one_registration_per_server_is_kept_and_reused(tmp_path, server):
    app = mastodon_app(tmp_path)
    sign_in(app.test_client(), server)
    sign_in(app.test_client(), server)
    assert server.registrations == 1
    apps = MastodonApps(get_state(app).store)
    assert apps.count() == 1 and apps.find(server.base_url) is not None


def test_a_server_before_4_3_uses_the_documented_endpoints(tmp_path):
    with MastodonServer(legacy=True).running() as legacy:
        client = mastodon_app(tmp_path).test_client()
        finished = sign_in(client, legacy)
    assert finished.status_code == 302
    [identity] = identities(client)
    assert identity["subject"] == legacy.actor and identity["display_name"] == "Alice Legacy"


def test_a_refused_registration_is_forgotten_and_made_again(tmp_path, server):
    app = mastodon_app(tmp_path)
    sign_in(app.test_client(), server)
    server.forget_apps = True  # the server dropped our app (older servers "vacuumed" them)
    refused = sign_in(app.test_client(), server)
    assert refused.status_code == 502 and "My draft" in refused.get_data(as_text=True)
    assert MastodonApps(get_state(app).store).count() == 0
    server.forget_apps = False
    again = app.test_client()
    assert sign_in(again, server).status_code == 302
    assert server.registrations == 2 and identities(again)


def test_a_server_claiming_another_servers_account_is_refused(tmp_path):
    with MastodonServer(sub_override="https://mastodon.social/users/Gargron").running() as bad:
        client = mastodon_app(tmp_path).test_client()
        finished = sign_in(client, bad)
    assert finished.status_code == 502
    assert "not on that server" in finished.get_data(as_text=True)
    assert identities(client) == []


def test_registrations_are_bounded(tmp_path, server):
    app = mastodon_app(tmp_path, max_servers=1)
    sign_in(app.test_client(), server)
    with MastodonServer().running() as second:
        answer = press(app.test_client(), f"@alice@{second.host}")
    assert answer.status_code == 400
    assert "any more Mastodon servers" in answer.get_data(as_text=True)
    assert second.registrations == 0


def test_deny_and_allow_lists_are_applied_before_any_fetch(tmp_path, server):
    denied = mastodon_app(tmp_path, deny=["127.0.0.1"]).test_client()
    answer = press(denied, f"@alice@{server.host}")
    assert answer.status_code == 400 and "does not accept sign-ins" in answer.get_data(as_text=True)
    (tmp_path / "b").mkdir()
    allowed_elsewhere = mastodon_app(tmp_path / "b", allow=["mastodon.social"]).test_client()
    assert press(allowed_elsewhere, f"@alice@{server.host}").status_code == 400
    assert server.registrations == 0


def test_an_unknown_account_is_explained(tmp_path, server):
    client = mastodon_app(tmp_path).test_client()
    answer = press(client, f"@nobody@{server.host}", draft="still here")
    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert "was not found" in text and "still here" in text


def test_metadata_sending_the_code_to_another_site_is_refused(tmp_path):
    with MastodonServer(token_endpoint="https://collector.example/token").running() as bad:
        answer = press(mastodon_app(tmp_path).test_client(), f"@alice@{bad.host}")
    assert answer.status_code == 502
    assert "endpoints of another site" in answer.get_data(as_text=True)
    assert bad.registrations == 0

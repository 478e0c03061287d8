"""Handle identities are identities like any other: listed by ``flask social-auth providers``,
refused when their commenter is blocked, gone when the commenter is erased."""

from __future__ import annotations

import json

from social_auth import get_state

from .conftest import come_back, consent, handle_app, identities, press


def test_the_providers_command_lists_the_handle_sign_ins(tmp_path):
    app = handle_app(tmp_path, SOCIAL_AUTH_HANDLES={"indieauth": {}, "mastodon": {}})
    result = app.test_cli_runner().invoke(args=["social-auth", "providers", "--json"])
    rows = {r["name"]: r for r in json.loads(result.output)["providers"]}
    assert rows["mastodon"]["callback_url"] == "http://localhost/auth/callback/mastodon"
    assert rows["indieauth"]["title"] == "website (IndieAuth)"
    assert rows["mastodon"]["adapter"] == "handle"


def sign_in(client, site):
    started = press(client, site.me)
    return come_back(client, consent(started.headers["Location"]))


def test_a_blocked_commenter_cannot_sign_in_with_their_website(app, client, indie):
    sign_in(client, indie)
    store = get_state(app).store
    assert store.find_identity("indieauth", indie.me) is not None
    commenter = store.get_by_public_id(identities_owner(client))
    assert commenter is not None
    store.block(commenter, actor="test")
    again = app.test_client()
    refused = sign_in(again, indie)
    assert refused.status_code == 403
    assert identities(again) == []


def test_erasing_the_commenter_removes_the_website_identity(app, client, indie):
    sign_in(client, indie)
    store = get_state(app).store
    commenter = store.get_by_public_id(identities_owner(client))
    assert commenter is not None
    store.erase(commenter, actor="test")
    assert store.find_identity("indieauth", indie.me) is None


def identities_owner(client) -> str:
    me = client.get("/auth/me").json
    assert me is not None and me["commenter"] is not None
    return str(me["commenter"]["id"])

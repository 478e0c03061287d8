"""Sign in with your own website (IndieAuth) through the real routes, against an
IndieAuth-shaped server on 127.0.0.1, and what a hostile one is refused."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from social_auth.errors import InvalidInput
from social_auth.handles.indieauth import profile_url

from .conftest import POST, come_back, consent, identities, press
from .servers import IndieSite


def test_a_website_signs_in_and_the_draft_comes_back(client, indie):
    started = press(client, indie.me)
    assert started.status_code == 302
    asked = parse_qs(urlsplit(started.headers["Location"]).query)
    assert asked["me"] == [indie.me]
    assert asked["client_id"] == ["http://localhost/auth/handles/indieauth/client.json"]
    assert asked["redirect_uri"] == ["http://localhost/auth/callback/indieauth"]
    assert asked["code_challenge_method"] == ["S256"]
    finished = come_back(client, consent(started.headers["Location"]))
    assert finished.status_code == 302 and finished.headers["Location"].endswith(POST)
    [identity] = identities(client)
    assert identity["provider"] == "indieauth" and identity["subject"] == indie.me
    assert identity["display_name"] == "Alice Example"
    page = client.get(POST).get_data(as_text=True)
    assert "My draft" in page  # back in the textarea
    assert "using your website (IndieAuth) account" in page


def test_the_metadata_link_may_come_in_the_link_header(client):
    with IndieSite(link="header").running() as site:
        started = press(client, site.me)
        come_back(client, consent(started.headers["Location"]))
    assert identities(client)[0]["subject"] == site.me


def test_the_popup_opens_the_same_sign_in_with_the_typed_handle(client, indie):
    started = client.get(f"/auth/login/handle?next={POST}&popup=1&handle={indie.me}")
    assert started.status_code == 302
    finished = come_back(client, consent(started.headers["Location"]))
    assert finished.status_code == 200
    assert '"status": "signed-in"' in finished.get_data(as_text=True)


def test_a_site_without_an_indieauth_server_is_explained_and_the_draft_kept(client):
    with IndieSite(link="none").running() as site:
        answer = press(client, site.me, draft="Keep me")
    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert "does not name an IndieAuth server" in text and "Keep me" in text


def test_a_returned_me_that_names_another_server_is_refused_and_nothing_kept(client, indie):
    # A hostile server signs the visitor in "as" someone else's site (indie's): that site
    # names its own server, not the hostile one, so nothing is kept.
    with IndieSite(me_answer=indie.me).running() as hostile:
        started = press(client, hostile.me)
        finished = come_back(client, consent(started.headers["Location"]))
    assert finished.status_code == 502
    text = finished.get_data(as_text=True)
    assert "names another server" in text and "My draft" in text
    assert identities(client) == []


def test_metadata_naming_an_issuer_it_is_not_under_is_refused(client):
    with IndieSite(issuer_override="https://indieauth.example/").running() as site:
        answer = press(client, site.me)
    assert answer.status_code == 502
    assert "names another issuer" in answer.get_data(as_text=True)


def test_a_callback_from_another_issuer_is_refused(client):
    with IndieSite(iss="https://elsewhere.example/").running() as site:
        started = press(client, site.me)
        finished = come_back(client, consent(started.headers["Location"]))
    assert finished.status_code == 400
    assert "unexpected issuer" in finished.get_data(as_text=True)
    assert identities(client) == []


def test_a_site_on_a_private_address_is_refused_with_the_rule_on(tmp_path, indie):
    from .conftest import handle_app

    strict = handle_app(tmp_path, SOCIAL_AUTH_FETCH_ALLOW_PRIVATE=False).test_client()
    answer = press(strict, "https://localhost/")
    assert answer.status_code == 400
    assert "not a public address" in answer.get_data(as_text=True)


def test_our_client_metadata_document_names_our_callback(client):
    doc = client.get("/auth/handles/indieauth/client.json").json
    assert doc == {
        "client_id": "http://localhost/auth/handles/indieauth/client.json",
        "client_name": "localhost",
        "client_uri": "http://localhost/",
        "redirect_uris": ["http://localhost/auth/callback/indieauth"],
    }


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("alice.example", "https://alice.example/"),
        ("https://Alice.Example", "https://alice.example/"),
        ("https://alice.example/u?id=1", "https://alice.example/u?id=1"),
    ],
)
def test_profile_urls_are_canonicalised(typed, canonical):
    assert profile_url(typed) == canonical


@pytest.mark.parametrize(
    "typed",
    [
        "https://alice.example/#me",
        "https://user:pass@alice.example/",
        "https://alice.example:8443/",
        "https://172.28.92.51/",
        "https://alice.example/foo/../bar",
        "mailto:user@example.com",
    ],
)
def test_invalid_profile_urls_are_refused(typed):
    with pytest.raises(InvalidInput):
        profile_url(typed)

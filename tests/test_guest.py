"""Guest details: what is accepted, what is refused with a clear 400, and who a guest is."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from social_auth import InvalidInput, Profile, get_state
from social_auth.guest import clean_website, gravatar_url, validate_guest
from social_auth.testing import csrf_headers
from tests.webapp import make_app


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path)


def post_guest(app: Flask, accept: str = "application/json", client=None, **fields: str):
    client = client or app.test_client()
    data = {"name": "Ann", "email": "ann@example.com", **fields}
    return client.post(
        "/auth/guest", data=data, headers={**csrf_headers(client), "Accept": accept}
    )


def test_valid_details_are_cleaned():
    details = validate_guest("  Ann Smith ", " ann@Example.COM ", "example.com/blog")
    assert details.display_name == "Ann Smith"
    assert details.email == "ann@example.com"
    assert details.website == "https://example.com/blog"
    # Never a Gravatar link: a reader's browser would tell Gravatar who reads the page.
    assert details.avatar_url is None


def test_gravatar_hashes_the_trimmed_lowercased_email():
    assert gravatar_url(" Ann@Example.com") == gravatar_url("ann@example.com")


BAD_INPUT = [
    ("name", "", "enter your name"),
    ("name", "<script>alert(1)</script>", "cannot contain"),
    ("name", "evil\u202eexe.txt", "invisible or control"),
    ("name", "nul\x00byte", "invisible or control"),
    ("name", "zero\u200bwidth", "invisible or control"),
    ("name", "x" * 10_000, "at most 200"),
    ("email", "not-an-email", "not valid"),
    ("email", "ann@example.com\r\nBcc: victim@example.com", "control characters"),
    ("email", "a" * 10_000 + "@example.com", "too long"),
    ("email", "", "enter your email"),
    ("website", "javascript:alert(1)", "http:// or https://"),
    ("website", "JaVaScRiPt:alert(1)", "http:// or https://"),
    ("website", "data:text/html,hi", "http:// or https://"),
    ("website", "ftp://example.com", "http:// or https://"),
    ("website", "https://" + "a" * 10_000 + ".com", "at most"),
    ("website", "https://exa mple.com", "spaces"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUT)
def test_bad_guest_input_is_a_400_with_a_clear_json_message(
    app: Flask, field: str, value: str, message: str
):
    response = post_guest(app, **{field: value})
    assert response.status_code == 400
    body = response.json
    assert body is not None
    assert body["error"] == "invalid_input" and body["field"] == field
    assert message in body["message"].lower() or message in body["message"]
    assert get_state(app).store.search("") == []


def test_bad_input_in_a_page_request_is_a_400_page(app: Flask):
    response = post_guest(app, accept="text/html", website="javascript:alert(1)")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "<h1>Sorry</h1>" in text and "http:// or https://" in text
    assert "javascript:alert" not in text


def test_website_is_optional_and_only_http_or_https():
    assert clean_website("") is None
    assert clean_website("http://example.com") == "http://example.com"
    with pytest.raises(InvalidInput):
        clean_website("https://user:pw@example.com")


def test_a_guest_is_an_unverified_commenter_with_no_identities(app: Flask):
    response = post_guest(app)
    assert response.status_code == 200
    me = response.json
    assert me is not None
    assert me["authenticated"] is True
    assert me["commenter"]["guest"] is True
    assert me["commenter"]["email_verified"] is False
    assert me["identities"] == []


def test_a_guest_giving_a_verified_commenters_email_stays_a_stranger(app: Flask):
    store = get_state(app).store
    owner = store.sign_in(
        Profile("fakebook", "1", "Owner", email="ann@example.com", email_verified=True)
    ).commenter
    me = post_guest(app, name="Impostor").json
    assert me is not None
    assert me["commenter"]["id"] != owner.public_id
    assert me["identities"] == []
    again = post_guest(app, name="Impostor 2").json
    assert again is not None
    assert again["commenter"]["id"] not in (owner.public_id, me["commenter"]["id"])


def test_a_returning_guest_updates_their_details_in_place(app: Flask):
    client = app.test_client()
    first = post_guest(app, client=client).json
    second = post_guest(app, client=client, name="Ann B.").json
    assert first is not None and second is not None
    assert second["commenter"]["id"] == first["commenter"]["id"]
    assert second["commenter"]["display_name"] == "Ann B."


def test_guest_commenting_can_be_switched_off(tmp_path: Path):
    app = make_app(tmp_path, SOCIAL_AUTH_GUEST=False)
    response = post_guest(app)
    assert response.status_code == 403
    assert response.json is not None and response.json["error"] == "guest_disabled"

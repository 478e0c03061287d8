"""Whatever a client sends, the extension answers 2xx, 3xx or 4xx: never a 500."""

from __future__ import annotations

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from social_auth.testing import csrf_headers
from tests.webapp import make_app

FIXTURE = [HealthCheck.function_scoped_fixture]  # the module-scoped app is meant to be shared
ANSWERS = {200, 302, 400, 403, 404, 405, 429}
text = st.text(max_size=300) | st.sampled_from(["", "javascript:alert(1)", "a@b.co", "\x00"])


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return make_app(tmp_path_factory.mktemp("fuzz"))


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE)
@given(name=text, email=text, website=text, next_=text, accept=st.sampled_from(
    ["application/json", "text/html", "*/*", ""]
))
def test_guest_posts_never_fail_with_a_server_error(app, name, email, website, next_, accept):
    client = app.test_client()
    response = client.post(
        "/auth/guest",
        data={"name": name, "email": email, "website": website, "next": next_},
        headers={**csrf_headers(client), "Accept": accept},
    )
    assert response.status_code in ANSWERS
    if response.status_code == 302:
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith("//")


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE)
@given(token=st.text(max_size=500))
def test_any_magic_link_token_is_answered_without_a_server_error(app, token):
    client = app.test_client()
    page = client.get("/auth/email/verify", query_string={"token": token})
    assert page.status_code == 400
    response = client.post(
        "/auth/email/verify", data={"token": token}, headers=csrf_headers(client)
    )
    assert response.status_code == 400


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE)
@given(cookie=st.text(max_size=600))
def test_any_session_cookie_is_answered_without_a_server_error(app, cookie):
    client = app.test_client()
    client.set_cookie("social_auth_session", cookie)
    assert client.get("/auth/me").status_code == 200

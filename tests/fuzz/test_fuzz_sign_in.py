"""Whatever reaches the sign-in routes, they answer 2xx, 3xx or 4xx: never a 500."""

from __future__ import annotations

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from social_auth.testing import make_commenter
from tests.providers.signin_app import BASE, client_for, csrf, sign_in_as, signin_app

FIXTURE = [HealthCheck.function_scoped_fixture]  # the module-scoped app is meant to be shared
# 308: werkzeug's own redirect to a normalised path (a segment that is only whitespace).
ANSWERS = {200, 302, 308, 400, 401, 403, 404, 405, 409}
text = st.text(max_size=300) | st.sampled_from(
    ["", "//evil.example", "javascript:alert(1)", "\x00", "%0d%0a", "access_denied"]
)
params = st.dictionaries(
    st.sampled_from(["state", "code", "error", "iss", "oauth_token", "denied", "x"]), text
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return signin_app(
        tmp_path_factory.mktemp("signin-fuzz"),
        {"github": {"client_id": "c", "client_secret": "s"}},
        SOCIAL_AUTH_DEV_PROVIDER=True,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE)
@given(query=params, cookie=text, provider=st.sampled_from(["dev", "github", "nope"]))
def test_any_callback_is_answered_without_a_server_error(app, query, cookie, provider):
    client = client_for(app)
    if cookie:
        client.set_cookie("__Host-social_auth_flow", cookie, domain="blog.example")
    for method in (client.get, client.post):
        response = method(f"/auth/callback/{provider}", query_string=query, base_url=BASE)
        assert response.status_code in ANSWERS
        assert response.headers.get("Location", "/").startswith("/")


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE)
@given(next_=text, draft=text, popup=text)
def test_any_login_is_answered_without_a_server_error(app, next_, draft, popup):
    client = client_for(app)
    got = client.get("/auth/login/dev", query_string={"next": next_, "popup": popup}, base_url=BASE)
    assert got.status_code in ANSWERS
    posted = client.post(
        "/auth/login/dev",
        query_string={"next": next_},
        data={"draft": draft, "csrf_token": csrf(client)},
        base_url=BASE,
    )
    assert posted.status_code in ANSWERS


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE)
@given(query=st.dictionaries(text, text, max_size=6), form=st.dictionaries(text, text, max_size=6))
def test_any_dev_provider_request_is_answered_without_a_server_error(app, query, form):
    client = client_for(app)
    assert client.get("/auth/dev/authorize", query_string=query, base_url=BASE).status_code in (
        ANSWERS
    )
    form["csrf_token"] = csrf(client)
    for url in ("/auth/dev/authorize", "/auth/dev/token"):
        response = client.post(url, query_string=query, data=form, base_url=BASE)
        assert response.status_code in ANSWERS
    headers = {"Authorization": form.get("x", "Bearer x")} if "\n" not in form.get("x", "") else {}
    assert client.get("/auth/dev/userinfo", headers=headers, base_url=BASE).status_code in ANSWERS


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE)
@given(cookie=text, segment=st.text(min_size=1, max_size=80).filter(lambda t: "/" not in t))
def test_any_merge_proof_or_connection_id_is_answered_without_a_server_error(
    app, cookie, segment
):
    client = client_for(app)
    sign_in_as(client, make_commenter(app, provider="github"))
    if cookie:
        client.set_cookie("__Host-social_auth_merge", cookie, domain="blog.example")
    token = {"csrf_token": csrf(client)}
    for method, url in (
        (client.get, "/auth/merge"),
        (client.post, "/auth/merge"),
        (client.post, f"/auth/connections/{segment}"),
        (client.post, f"/auth/connections/{segment}/disconnect"),
        (client.post, f"/auth/claim/{segment}"),
    ):
        assert method(url, data=token, base_url=BASE).status_code in ANSWERS

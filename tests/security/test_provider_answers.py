"""Hostile or broken provider answers, each through the real login and callback routes with
JavaScript off and a comment draft: a token endpoint trickling its answer for half a minute, an
answer of 64 MiB, JSON nested 100,000 deep at every place a provider's JSON is read, a token
that cannot go into a header, a truncated body. Each is a clear 502 or 504 page that gives the
draft back, and signs nobody in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from flask import Flask, Response, request
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from social_auth.provider.transport import MAX_ANSWER_BYTES
from tests.issuers import CountingIssuer, b64, google_like_claims
from tests.providers.conftest import make_fake, make_provider
from tests.providers.servers import (
    HUGE_BYTES,
    NESTED_JSON,
    FakeProvider,
    Trickle,
    consent,
    http_answer,
    serve,
    signing_key,
)
from tests.providers.signin_app import (
    callback,
    client_for,
    counts,
    page_draft,
    sets_session,
    signin_app,
    start,
)
from tests.providers.test_twitter_oauth1 import FakeX, twitter

DRAFT = "My half-written comment"
SITE = {"SOCIAL_AUTH_SITE_URL": "https://blog.example"}
#: A deep enough ID-token header or payload that still fits ``MAX_ID_TOKEN_BYTES``.
NESTED_TOKEN_JSON = "[" * 20_000


def app_for(tmp_path: Path, name: str, settings: dict[str, Any]) -> Flask:
    return signin_app(tmp_path, {name: settings}, **SITE)


def github_app(tmp_path: Path, fake: FakeProvider, **extra: Any) -> Flask:
    return app_for(tmp_path, "github", make_provider("github", fake, **extra).settings)


def sign_in(app: Flask, name: str) -> tuple[FlaskClient, TestResponse]:
    """Press the icon with a draft typed, consent at the provider, come back."""
    client = client_for(app)
    started = start(client, name, draft=DRAFT)
    assert started.status_code == 302, started.get_data(as_text=True)
    return client, callback(client, name, consent(started.headers["Location"]))


def assert_failure_page(
    app: Flask, client: FlaskClient, answer: TestResponse, status: int, says: str
) -> None:
    """A failure page with the draft on it and in the draft cookie; nobody signed in."""
    html = answer.get_data(as_text=True)
    assert answer.status_code == status, html
    assert "Sign-in failed" in html and says in html and "Traceback" not in html
    assert DRAFT in html
    assert counts(app) == (0, 0) and not sets_session(answer)
    assert page_draft(client) == DRAFT  # "Back to where you were" finds it in the textarea


@pytest.fixture
def github() -> Iterator[FakeProvider]:
    with make_fake("github").running() as fake:
        yield fake


# -- a deadline for the whole call ------------------------------------------------------------


@pytest.mark.parametrize("trickled", ["status line and headers", "body"])
def test_a_token_answer_trickled_over_30_s_is_a_504_page_not_a_late_sign_in(
    tmp_path, github, trickled
):
    # A valid token response GitHub's API accepts, a byte at a time: each read brings a byte
    # well within timeout=1, so only a deadline on the whole call ends it.
    github.tokens["trickled-token"] = {}
    body = json.dumps({"access_token": "trickled-token", "token_type": "bearer", "pad": "x" * 60})
    answer = http_answer(body.encode())
    fast = len(answer) - len(body) if trickled == "body" else 0
    slow = Trickle(answer, fast=fast, delay=30 / (len(answer) - fast))
    with slow.running() as url:
        app = github_app(tmp_path, github, timeout=1, access_token_url=f"{url}/token")
        client, answered = sign_in(app, "github")
    assert_failure_page(app, client, answered, 504, "GitHub did not answer in time.")
    assert (slow.requests, slow.answered) == (1, 0), "cut off at the deadline, not read to its end"


# -- a size cap on every answer ---------------------------------------------------------------


@pytest.mark.parametrize("stage", ["token", "api"])
def test_an_answer_past_the_size_cap_is_refused_without_reading_the_rest(tmp_path, github, stage):
    github.faults = {stage: "huge"}
    app = github_app(tmp_path, github)
    client, answered = sign_in(app, "github")
    assert_failure_page(app, client, answered, 502, "answered with more than 1 MiB")
    # The client hung up after the cap: what the server got out is the cap plus socket buffers.
    assert MAX_ANSWER_BYTES <= github.huge_bytes_sent < HUGE_BYTES // 4


# -- malformed answers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("faults", "says"),
    [
        ({"token": "nested"}, "answered it unreadably"),
        ({"api": "nested"}, "answered with malformed JSON"),
    ],
)
def test_json_nested_100000_deep_from_an_oauth2_provider_is_a_502_page(
    tmp_path, github, faults, says
):
    github.faults = faults
    app = github_app(tmp_path, github)
    client, answered = sign_in(app, "github")
    assert_failure_page(app, client, answered, 502, says)


def test_an_access_token_that_cannot_go_into_a_header_is_a_502_page(tmp_path, github):
    github.token_extra = {"access_token": "t0ken\r\nX-Injected: yes"}
    app = github_app(tmp_path, github)
    client, answered = sign_in(app, "github")
    assert_failure_page(app, client, answered, 502, "sent a token or address that cannot be used")
    assert not any("X-Injected" in headers for _, headers, _ in github.headers_seen)


def test_a_token_answer_cut_short_of_its_content_length_is_a_502_page(tmp_path, github):
    whole = http_answer(b'{"access_token": "cut-short", "token_type": "bearer"}')
    cut = Trickle(whole[:-10], fast=len(whole), hang_up=True)
    with cut.running() as url:
        app = github_app(tmp_path, github, access_token_url=f"{url}/token")
        client, answered = sign_in(app, "github")
    assert_failure_page(app, client, answered, 502, "could not be reached or refused")


# -- OpenID Connect: discovery, keys, userinfo, the ID token ----------------------------------


@pytest.fixture
def issuer() -> Iterator[CountingIssuer]:
    fake = CountingIssuer(
        id_token_claims=google_like_claims(),
        userinfo={"sub": "110169484474386276334", "name": "From Userinfo"},
    )
    with fake.running():
        yield fake


def corp_app(tmp_path: Path, issuer: CountingIssuer) -> Flask:
    discovery = f"{issuer.base_url}/.well-known/openid-configuration"
    settings = {"provider": "oidc", "client_id": issuer.client_id, "client_secret": "secret-1"}
    return app_for(tmp_path, "corp", {**settings, "server_metadata_url": discovery})


def signed_raw(header: str, payload: str) -> str:
    """A JWS over any header and payload text, signed by the issuer's real key."""
    signing_input = f"{b64(header.encode())}.{b64(payload.encode())}"
    signature = signing_key("k1").private_key.sign(
        signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return f"{signing_input}.{b64(signature)}"


def test_nested_json_in_the_discovery_document_is_a_502_page_at_the_start(tmp_path, issuer):
    issuer.endpoint_faults["openid-configuration"] = "nested"
    app = corp_app(tmp_path, issuer)
    client = client_for(app)
    answered = start(client, "corp", draft=DRAFT)
    html = answered.get_data(as_text=True)
    assert answered.status_code == 502 and "answered with malformed JSON" in html
    assert DRAFT in html and page_draft(client) == DRAFT


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("jwks", "answered with malformed JSON"),
        ("userinfo", "answered with malformed JSON"),
        ("id-token-header", "returned a malformed ID token"),
        ("id-token-payload", "returned a malformed ID token"),
    ],
)
def test_nested_json_anywhere_an_oidc_sign_in_reads_is_a_502_page(tmp_path, issuer, where, says):
    if where == "id-token-header":
        issuer.forge = lambda claims: signed_raw(NESTED_TOKEN_JSON, json.dumps(claims))
    elif where == "id-token-payload":
        issuer.forge = lambda claims: signed_raw('{"alg":"RS256","kid":"k1"}', NESTED_TOKEN_JSON)
    else:
        issuer.endpoint_faults[where] = "nested"
    app = corp_app(tmp_path, issuer)
    client, answered = sign_in(app, "corp")
    assert_failure_page(app, client, answered, 502, says)


# -- OAuth 1.0a: JSON token answers -----------------------------------------------------------


class NestedX(FakeX):
    """X's OAuth 1.0a endpoints, one of which answers JSON nested 100,000 deep."""

    def __init__(self, endpoint: str) -> None:
        super().__init__()
        self.endpoint = endpoint

    def app(self) -> Flask:
        app = super().app()

        @app.before_request
        def nested() -> Response | None:
            if request.path != self.endpoint:
                return None
            return Response('{"oauth_token": ' + NESTED_JSON, mimetype="application/json")

        return app


def test_nested_json_for_an_oauth1_request_token_is_a_502_page_at_the_start(tmp_path):
    fake = NestedX("/oauth/request_token")
    with serve(fake.app()) as url:
        fake.base_url = url
        app = app_for(tmp_path, "twitter", twitter(fake).settings)
        client = client_for(app)
        answered = start(client, "twitter", draft=DRAFT)
    html = answered.get_data(as_text=True)
    assert answered.status_code == 502 and "answered it unreadably" in html
    assert DRAFT in html and page_draft(client) == DRAFT


def test_nested_json_for_an_oauth1_access_token_is_a_502_page(tmp_path):
    fake = NestedX("/oauth/access_token")
    with serve(fake.app()) as url:
        fake.base_url = url
        app = app_for(tmp_path, "twitter", twitter(fake).settings)
        client, answered = sign_in(app, "twitter")
    assert_failure_page(app, client, answered, 502, "answered it unreadably")

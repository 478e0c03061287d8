"""The ``twitter`` adapter (OAuth 1.0a) against a server built on oauthlib's endpoints, a
different codebase from Authlib's client, speaking X's documented OAuth 1.0a endpoints."""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from flask import Flask, Response, abort, redirect, request
from oauthlib.oauth1 import (
    AccessTokenEndpoint,
    AuthorizationEndpoint,
    RequestTokenEndpoint,
    RequestValidator,
    ResourceEndpoint,
)

from social_auth import flow
from social_auth.errors import ProviderError, SignInCancelled, StateMismatch
from social_auth.provider import Api, Profile
from social_auth.store import IdentityStore
from social_auth_providers.twitter import Twitter

from .conftest import callback_url
from .servers import consent, payload, serve

CLIENT_KEY = "xvz1evFS4wEEPTGEFPHB"
CLIENT_SECRET = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw"


class Validator(RequestValidator):  # type: ignore[misc]
    """Keeps request tokens, verifiers and access tokens in memory, as oauthlib asks."""

    enforce_ssl = False
    safe_characters = set(string.ascii_letters + string.digits + "-_")
    client_key_length = (10, 64)
    request_token_length = (10, 64)
    access_token_length = (10, 64)
    nonce_length = (10, 64)
    verifier_length = (10, 64)
    dummy_client = "dummy-client-key-000"
    dummy_request_token = "dummy-request-token-000"
    dummy_access_token = "dummy-access-token-000"
    realms: list[str] = []

    def __init__(self) -> None:
        super().__init__()
        self.request_tokens: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, str] = {}
        self.nonces: set[tuple[str, str, str]] = set()

    def get_client_secret(self, client_key, request):
        return CLIENT_SECRET if client_key == CLIENT_KEY else "dummy"

    def validate_client_key(self, client_key, request):
        return client_key == CLIENT_KEY

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request, **kw):
        key = (client_key, timestamp, nonce)
        if key in self.nonces:
            return False
        self.nonces.add(key)
        return True

    def validate_redirect_uri(self, client_key, redirect_uri, request):
        return redirect_uri.startswith("https://blog.example/")

    def validate_requested_realms(self, client_key, realms, request):
        return True

    def get_default_realms(self, client_key, request):
        return []

    def save_request_token(self, token, request):
        self.request_tokens[token["oauth_token"]] = {
            "secret": token["oauth_token_secret"],
            "callback": request.redirect_uri,
        }

    def verify_request_token(self, token, request):
        return token in self.request_tokens

    def get_realms(self, token, request):
        return []

    def verify_realms(self, token, realms, request):
        return True

    def save_verifier(self, token, verifier, request):
        self.request_tokens[token]["verifier"] = verifier["oauth_verifier"]

    def get_redirect_uri(self, token, request):
        return self.request_tokens[token]["callback"]

    def validate_request_token(self, client_key, token, request):
        return token in self.request_tokens

    def get_request_token_secret(self, client_key, token, request):
        return self.request_tokens.get(token, {}).get("secret", "dummy")

    def validate_verifier(self, client_key, token, verifier, request):
        return self.request_tokens.get(token, {}).get("verifier") == verifier

    def invalidate_request_token(self, client_key, request_token, request):
        self.request_tokens.pop(request_token, None)

    def save_access_token(self, token, request):
        self.access_tokens[token["oauth_token"]] = token["oauth_token_secret"]

    def validate_realms(self, client_key, token, request, uri=None, realms=None):
        return True

    def validate_access_token(self, client_key, token, request):
        return token in self.access_tokens

    def get_access_token_secret(self, client_key, token, request):
        return self.access_tokens.get(token, "dummy")


class FakeX:
    """api.x.com's OAuth 1.0a endpoints and ``1.1/account/verify_credentials.json``."""

    def __init__(self) -> None:
        self.validator = Validator()
        self.user = dict(payload("twitter_verify_credentials.json"))
        self.decision = "approve"
        self.base_url = ""

    def app(self) -> Flask:
        app = Flask(__name__)
        v = self.validator

        def oauthlib_response(result: tuple[dict[str, str], str, int]) -> Response:
            headers, body, status = result
            return Response(body, status=status, headers=headers)

        def args() -> tuple[str, str, str, dict[str, str]]:
            # The URI as sent (werkzeug's ``request.url`` decodes it into an IRI).
            return (
                f"{request.scheme}://{request.host}{request.environ['RAW_URI']}",
                request.method,
                request.get_data(as_text=True),
                dict(request.headers),
            )

        @app.post("/oauth/request_token")
        def request_token() -> Response:
            return oauthlib_response(RequestTokenEndpoint(v).create_request_token_response(*args()))

        @app.get("/oauth/authenticate")
        def authenticate() -> Any:
            token = request.args["oauth_token"]
            if self.decision == "deny":  # X sends the user back with ?denied=<token>
                return redirect(f"{v.get_redirect_uri(token, None)}?denied={token}")
            headers, _, status = AuthorizationEndpoint(v).create_authorization_response(
                request.url, realms=[]
            )
            return redirect(headers["Location"], code=status)

        @app.post("/oauth/access_token")
        def access_token() -> Response:
            credentials = {"user_id": self.user["id_str"], "screen_name": self.user["screen_name"]}
            return oauthlib_response(
                AccessTokenEndpoint(v).create_access_token_response(
                    *args(), credentials=credentials
                )
            )

        @app.get("/1.1/account/verify_credentials.json")
        def verify_credentials() -> Response:
            valid, _ = ResourceEndpoint(v).validate_protected_resource_request(*args())
            if not valid:
                abort(401)
            user = dict(self.user)
            if request.args.get("include_email") != "true":
                user.pop("email", None)
            return Response(json.dumps(user), mimetype="application/json")

        return app


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    fake = FakeX()
    with serve(fake.app()) as url:
        fake.base_url = url
        yield fake


def twitter(fake: FakeX, **extra: Any) -> Twitter:
    base = fake.base_url
    return Twitter(
        "twitter",
        {
            "client_id": CLIENT_KEY,
            "client_secret": CLIENT_SECRET,
            "request_token_url": f"{base}/oauth/request_token",
            "authorize_url": f"{base}/oauth/authenticate",
            "access_token_url": f"{base}/oauth/access_token",
            "api_base_url": f"{base}/1.1/",
            **extra,
        },
    )


def test_twitter_sign_in_completes_with_id_str_and_verified_email(
    fake_x, settings, db: IdentityStore
):
    provider = twitter(fake_x)
    started = flow.start(provider, callback_url(provider), settings=settings, draft="Hi X")
    params = consent(started.url)
    result = flow.finish(
        provider, started.cookie_value, params, callback_url(provider), settings=settings
    )
    profile = result.profile
    assert (profile.subject, profile.username, profile.display_name) == (
        "38895958",
        "theSeanCook",
        "Sean Cook",
    )
    assert profile.email == "sean@example.com" and profile.email_verified
    assert result.draft == "Hi X"
    assert db.sign_in(profile).created


def test_twitter_without_email_permission_gives_no_email(fake_x, settings):
    fake_x.user["email"] = None
    provider = twitter(fake_x)
    started = flow.start(provider, callback_url(provider), settings=settings)
    result = flow.finish(
        provider,
        started.cookie_value,
        consent(started.url),
        callback_url(provider),
        settings=settings,
    )
    assert result.profile.email is None and not result.profile.email_verified


def test_twitter_denied_is_a_cancel(fake_x, settings):
    fake_x.decision = "deny"
    provider = twitter(fake_x)
    started = flow.start(provider, callback_url(provider), settings=settings, draft="kept")
    with pytest.raises(SignInCancelled) as info:
        flow.finish(
            provider,
            started.cookie_value,
            consent(started.url),
            callback_url(provider),
            settings=settings,
        )
    assert info.value.draft == "kept"


def test_twitter_callback_for_another_request_token_is_refused(fake_x, settings):
    provider = twitter(fake_x)
    first = flow.start(provider, callback_url(provider), settings=settings)
    second = flow.start(provider, callback_url(provider), settings=settings)
    with pytest.raises(StateMismatch):
        flow.finish(
            provider,
            second.cookie_value,
            consent(first.url),
            callback_url(provider),
            settings=settings,
        )


def test_twitter_forged_verifier_is_refused_by_the_server(fake_x, settings):
    provider = twitter(fake_x)
    started = flow.start(provider, callback_url(provider), settings=settings)
    params = dict(consent(started.url), oauth_verifier=secrets.token_hex(10))
    with pytest.raises(ProviderError):
        flow.finish(
            provider, started.cookie_value, params, callback_url(provider), settings=settings
        )


def test_twitter_request_token_failure_is_a_provider_error(fake_x, settings):
    provider = twitter(fake_x, client_secret="wrong-secret")
    with pytest.raises(ProviderError, match="refused the token request"):
        flow.start(provider, callback_url(provider), settings=settings)


def test_signed_calls_with_parameters_that_need_encoding_verify_at_oauthlib(fake_x, settings):
    # The signature covers the query (RFC 5849 §3.4.1.3): our URL encoding and Authlib's
    # signature base string must agree with what oauthlib rebuilds from the request.
    answers: list[Any] = []

    class Chatty(Twitter):
        def profile(self, token: Mapping[str, Any], api: Api) -> Profile:
            odd = {"include_email": "true", "q": "a b+c,d/é~*&=%", "skip_status": "true"}
            answers.append(api.get_json("account/verify_credentials.json", odd))
            return super().profile(token, api)

    base = fake_x.base_url
    provider = Chatty("twitter", dict(twitter(fake_x).settings, api_base_url=f"{base}/1.1/"))
    started = flow.start(provider, callback_url(provider), settings=settings)
    result = flow.finish(
        provider,
        started.cookie_value,
        consent(started.url),
        callback_url(provider),
        settings=settings,
    )
    assert answers[0]["id_str"] == result.profile.subject == "38895958"

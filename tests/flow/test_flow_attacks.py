"""Attacks on the sign-in flow itself (RFC 9700 §4, RFC 9207), at the ``flow`` level: every
test drives real HTTP against a local provider and checks what reached it."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from social_auth import flow
from social_auth.errors import ProviderError, SignInCancelled, StateMismatch
from social_auth.flow import FlowSettings
from tests.issuers import CountingIssuer, google_like_claims, oidc_provider
from tests.providers.conftest import callback_url, make_fake, make_provider
from tests.providers.servers import FakeProvider, consent


def token_calls(fake: FakeProvider) -> int:
    return sum(1 for kind, _ in fake.requests_seen if kind == "token")


def start(fake: FakeProvider, settings: FlowSettings, adapter: str = "github", **kw: object):
    provider = make_provider(adapter, fake)
    started = flow.start(
        provider, callback_url(provider), settings=settings, next_path="/posts/1", draft="Hi"
    )
    return provider, started


# -- state ------------------------------------------------------------------------------------


def test_callback_with_missing_state_is_refused_before_the_code_is_exchanged(github, settings):
    provider, started = start(github, settings)
    params = consent(started.url)
    params.pop("state")
    with pytest.raises(StateMismatch) as info:
        flow.finish(
            provider, started.cookie_value, params, callback_url(provider), settings=settings
        )
    assert info.value.draft == "Hi" and token_calls(github) == 0


def test_callback_with_a_foreign_state_is_refused_login_csrf(github, settings):
    # The attacker starts a sign-in of their own and feeds its callback to the victim's browser,
    # which holds a flow cookie of its own: the attacker's code must never be redeemed there.
    provider, victim = start(github, settings)
    _, attacker = start(github, settings)
    attacker_params = consent(attacker.url)
    with pytest.raises(StateMismatch):
        flow.finish(
            provider,
            victim.cookie_value,
            attacker_params,
            callback_url(provider),
            settings=settings,
        )
    assert token_calls(github) == 0


def test_callback_without_any_flow_cookie_is_refused(github, settings):
    provider, started = start(github, settings)
    params = consent(started.url)
    with pytest.raises(StateMismatch):
        flow.finish(provider, None, params, callback_url(provider), settings=settings)
    assert token_calls(github) == 0


def test_replayed_callback_is_refused_and_the_code_is_redeemed_once(github, settings):
    provider, started = start(github, settings)
    params = consent(started.url)
    flow.finish(provider, started.cookie_value, params, callback_url(provider), settings=settings)
    with pytest.raises(StateMismatch, match="already used"):
        flow.finish(
            provider, started.cookie_value, params, callback_url(provider), settings=settings
        )
    assert token_calls(github) == 1


def test_state_of_another_provider_is_refused_at_this_callback(github, settings):
    _, started = start(github, settings)  # a GitHub flow...
    params = consent(started.url)
    with make_fake("x").running() as other:
        x = make_provider("x", other)
        with pytest.raises(StateMismatch, match="another provider"):  # ...answered at X's URL
            flow.finish(x, started.cookie_value, params, callback_url(x), settings=settings)
        assert token_calls(other) == 0 and token_calls(github) == 0


def test_flow_cookie_signed_with_another_key_is_refused(github, settings):
    provider, started = start(github, settings)
    params = consent(started.url)
    forged = FlowSettings(secret_key="attacker-key", used_states=settings.used_states)
    _, attacker = start(github, forged)
    with pytest.raises(StateMismatch):
        flow.finish(
            provider, attacker.cookie_value, params, callback_url(provider), settings=settings
        )


# -- PKCE and the code flow -------------------------------------------------------------------


def test_authorization_request_is_code_flow_with_s256_and_no_secrets(github, settings):
    provider, started = start(github, settings)
    query = {k: v[0] for k, v in parse_qs(urlsplit(started.url).query).items()}
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert started.state.code_verifier not in started.url
    assert provider.client_secret not in started.url
    assert "response_mode" not in query  # never fragment or form_post implicit variants


def test_injected_code_fails_without_its_pkce_verifier(github, settings):
    # A code stolen from the attacker's own flow (or the victim's, leaked by a log) is pasted
    # into a callback with a valid state: the verifier in the victim's cookie does not match.
    provider, victim = start(github, settings)
    victim_params = consent(victim.url)
    _, attacker = start(github, settings)
    stolen = consent(attacker.url)["code"]
    with pytest.raises(ProviderError) as info:
        flow.finish(
            provider,
            victim.cookie_value,
            {**victim_params, "code": stolen},
            callback_url(provider),
            settings=settings,
        )
    assert info.value.draft == "Hi"
    assert github.tokens == {}  # the server issued no token


def test_implicit_flow_tokens_on_the_callback_are_never_used(github, settings):
    provider, started = start(github, settings)
    params = consent(started.url)
    params.pop("code")
    params.update(access_token="planted-token", id_token="planted.id.token", token_type="bearer")
    with pytest.raises(ProviderError, match="no authorization code"):
        flow.finish(
            provider, started.cookie_value, params, callback_url(provider), settings=settings
        )
    assert token_calls(github) == 0


# -- mix-up (RFC 9207) ------------------------------------------------------------------------


def test_mix_up_answer_from_another_issuer_is_refused_before_the_code_is_sent(github, settings):
    provider, started = start(github, settings)
    params = consent(started.url)
    params["iss"] = "https://attacker.example/oauth"
    with pytest.raises(StateMismatch, match="unexpected issuer"):
        flow.finish(
            provider, started.cookie_value, params, callback_url(provider), settings=settings
        )
    assert token_calls(github) == 0


def test_issuer_advertising_rfc9207_must_name_itself_on_the_callback(settings):
    fake = CountingIssuer(
        id_token_claims=google_like_claims(),
        discovery_extra={"authorization_response_iss_parameter_supported": True},
    )
    with fake.running():
        provider = oidc_provider(fake)
        started = flow.start(provider, callback_url(provider), settings=settings)
        params = consent(started.url)  # this fake sends no iss
        with pytest.raises(StateMismatch, match="who issued it"):
            flow.finish(
                provider, started.cookie_value, params, callback_url(provider), settings=settings
            )
        assert fake.hits["token"] == 0


# -- cancel ------------------------------------------------------------------------------------


def test_cancelled_sign_in_consumes_the_state_and_keeps_the_draft(settings):
    fake = make_fake("github")
    fake.decision = "deny"
    with fake.running():
        provider, started = start(fake, settings)
        params = consent(started.url)
        with pytest.raises(SignInCancelled) as info:
            flow.finish(
                provider, started.cookie_value, params, callback_url(provider), settings=settings
            )
        assert (info.value.draft, info.value.next_path) == ("Hi", "/posts/1")
        # The same state, now with a code planted by someone else, is used up.
        with pytest.raises(StateMismatch):
            flow.finish(
                provider,
                started.cookie_value,
                {"state": params["state"], "code": "planted"},
                callback_url(provider),
                settings=settings,
            )
        assert token_calls(fake) == 0


# -- secrets stay out of logs ------------------------------------------------------------------


def test_no_code_token_verifier_or_client_secret_reaches_any_log(github, settings, caplog):
    caplog.set_level(logging.DEBUG)  # every logger: ours, Authlib's, urllib3's
    provider, started = start(github, settings)
    params = consent(started.url)
    flow.finish(provider, started.cookie_value, params, callback_url(provider), settings=settings)
    # A failing one too: error paths are where secrets usually leak.
    _, second = start(github, settings)
    bad = consent(second.url)
    with pytest.raises(ProviderError):
        flow.finish(
            provider,
            second.cookie_value,
            {**bad, "code": "x" + bad["code"]},
            callback_url(provider),
            settings=settings,
        )
    access_tokens = list(github.tokens)
    secrets = [params["code"], bad["code"], started.state.code_verifier, provider.client_secret]
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records, "nothing was logged at all: the test would prove nothing"
    for secret in [*secrets, *access_tokens]:
        assert secret not in text


# -- Referer leakage ---------------------------------------------------------------------------


def test_callback_pages_send_no_referer_and_load_nothing_third_party(app):
    from social_auth.views import popup_result

    with app.test_request_context("/auth/callback/fakebook?code=secret-code&state=s"):
        response = popup_result("signed-in", next_url="/posts/1")
    html = response.get_data(as_text=True)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert '<meta name="referrer" content="no-referrer">' in html
    assert "secret-code" not in html
    assert "http://" not in html.replace("http://localhost", "") and "https://" not in html


def test_the_provider_page_is_reached_without_leaking_our_url_to_third_parties(github, settings):
    # The authorization URL we send the browser to carries nothing of the blog's page but
    # the registered callback: no next path, no draft.
    _, started = start(github, settings)
    assert "posts" not in started.url and "Hi" not in parse_qs(urlsplit(started.url).query)
    response = requests.get(started.url, allow_redirects=False, timeout=5)
    assert "posts%2F1" not in response.headers["Location"]

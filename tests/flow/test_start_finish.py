"""``flow.start`` / ``flow.finish``: state, replay, cross-provider, RFC 9207, PKCE, faults, and
the draft surviving every outcome."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from itsdangerous import BadSignature, URLSafeTimedSerializer

from social_auth import flow
from social_auth.errors import InvalidInput, ProviderError, SignInCancelled, StateMismatch
from social_auth.flow import FlowSettings, MemoryUsedStates, SqlUsedStates
from social_auth.store import IdentityStore
from social_auth_providers.github import GitHub
from tests.conftest import FLOW_SECRET
from tests.providers.conftest import callback_url, make_fake, make_provider, sign_in
from tests.providers.servers import FakeProvider, consent


def started(provider, settings, **kwargs):
    kwargs.setdefault("next_path", "/posts/7#comments")
    kwargs.setdefault("draft", "My half-written comment")
    s = flow.start(provider, callback_url(provider), settings=settings, **kwargs)
    return s, consent(s.url)


def finish(provider, cookie, params, settings):
    return flow.finish(provider, cookie, params, callback_url(provider), settings=settings)


# -- state ----------------------------------------------------------------------------------


def test_callback_without_the_flow_cookie_is_refused(github, settings):
    provider = make_provider("github", github)
    _, params = started(provider, settings)
    with pytest.raises(StateMismatch, match="not started here"):
        finish(provider, None, params, settings)


def test_callback_without_state_is_refused_and_keeps_the_draft(github, settings):
    provider = make_provider("github", github)
    s, params = started(provider, settings)
    del params["state"]
    with pytest.raises(StateMismatch, match="no state") as info:
        finish(provider, s.cookie_value, params, settings)
    assert info.value.draft == "My half-written comment"
    assert info.value.next_path == "/posts/7#comments"


def test_callback_with_an_unknown_state_is_refused(github, settings):
    provider = make_provider("github", github)
    s, params = started(provider, settings)
    params["state"] = "attacker-chosen"
    with pytest.raises(StateMismatch, match="another sign-in"):
        finish(provider, s.cookie_value, params, settings)
    assert github.requests_seen[-1][0] == "authorize"  # no code was exchanged


def test_callback_with_replayed_state_is_refused(github, settings):
    provider = make_provider("github", github)
    s, params = started(provider, settings)
    assert finish(provider, s.cookie_value, params, settings).profile.subject == "583231"
    with pytest.raises(StateMismatch, match="already used"):
        finish(provider, s.cookie_value, params, settings)


def test_replayed_state_is_refused_by_another_worker_sharing_the_database(github, tmp_path: Path):
    store = IdentityStore.from_url(f"sqlite:///{tmp_path / 'states.sqlite3'}")
    store.upgrade_schema()
    worker_a = FlowSettings(secret_key=FLOW_SECRET, used_states=SqlUsedStates(store.engine))
    worker_b = FlowSettings(secret_key=FLOW_SECRET, used_states=SqlUsedStates(store.engine))
    provider = make_provider("github", github)
    s, params = started(provider, worker_a)
    finish(provider, s.cookie_value, params, worker_a)
    with pytest.raises(StateMismatch, match="already used"):
        finish(provider, s.cookie_value, params, worker_b)
    store.engine.dispose()


def test_state_from_one_provider_is_refused_at_another_providers_callback(github, settings):
    first = make_provider("github", github)
    other = GitHub("work-github", dict(first.settings))
    s, params = started(first, settings)
    with pytest.raises(StateMismatch, match="another provider") as info:
        finish(other, s.cookie_value, params, settings)
    assert info.value.draft == "My half-written comment"
    assert finish(first, s.cookie_value, params, settings).profile.subject == "583231"


def test_a_tampered_flow_cookie_is_refused(github, settings):
    provider = make_provider("github", github)
    s, params = started(provider, settings)
    forged = URLSafeTimedSerializer("not-our-key", salt=flow.SALT).dumps({"p": "github"})
    with pytest.raises(StateMismatch, match="not valid"):
        finish(provider, forged, params, settings)
    with pytest.raises(StateMismatch, match="not valid"):
        finish(provider, s.cookie_value[:-2] + "xx", params, settings)


def test_an_expired_flow_is_refused_but_its_draft_can_still_be_read(github):
    settings = FlowSettings(secret_key=FLOW_SECRET, used_states=MemoryUsedStates(), max_age=-1)
    provider = make_provider("github", github)
    s, params = started(provider, settings)
    with pytest.raises(StateMismatch, match="too long") as info:
        finish(provider, s.cookie_value, params, settings)
    assert info.value.draft == "My half-written comment"
    peeked = flow.peek(s.cookie_value, settings=settings)
    assert peeked is not None and peeked.draft == "My half-written comment"


def test_a_flow_signed_with_a_fallback_key_still_finishes(github):
    old = FlowSettings(secret_key="old-key", used_states=MemoryUsedStates())
    provider = make_provider("github", github)
    s, params = started(provider, old)
    rotated = FlowSettings(
        secret_key="new-key", fallbacks=["old-key"], used_states=MemoryUsedStates()
    )
    assert finish(provider, s.cookie_value, params, rotated).profile.subject == "583231"
    new = flow.start(provider, callback_url(provider), settings=rotated)
    assert flow.peek(new.cookie_value, settings=old) is None  # the newest key signs


def test_the_flow_cookie_is_bound_to_the_provider_instance_and_salted(github, settings):
    provider = make_provider("github", github)
    s = flow.start(provider, callback_url(provider), settings=settings)
    # Another purpose's serializer with the same key cannot read it.
    with pytest.raises(BadSignature):
        URLSafeTimedSerializer(FLOW_SECRET, salt="social-auth.other").loads(s.cookie_value)


# -- the provider's answer ------------------------------------------------------------------


def test_access_denied_is_a_cancel_with_the_draft_kept(settings):
    fake = make_fake("github")
    fake.decision = "deny"
    with fake.running():
        provider = make_provider("github", fake)
        s, params = started(provider, settings, popup=True)
        with pytest.raises(SignInCancelled) as info:
            finish(provider, s.cookie_value, params, settings)
    assert (info.value.draft, info.value.popup) == ("My half-written comment", True)
    # The cancelled state is consumed: it cannot be turned into a sign-in later.
    with pytest.raises(StateMismatch):
        finish(provider, s.cookie_value, params, settings)


def test_another_error_from_the_provider_is_a_provider_error(github, settings):
    provider = make_provider("github", github)
    s, params = started(provider, settings)
    params = {"state": params["state"], "error": "server_error"}
    with pytest.raises(ProviderError, match="server_error") as info:
        finish(provider, s.cookie_value, params, settings)
    assert info.value.status == 502


def test_rfc9207_iss_from_github_is_accepted_and_a_wrong_one_refused(github, settings):
    provider = make_provider("github", github)
    s, params = started(provider, settings)
    assert params["iss"] == "https://github.com/login/oauth"
    params["iss"] = "https://evil.example"
    with pytest.raises(StateMismatch, match="unexpected issuer"):
        finish(provider, s.cookie_value, params, settings)
    s, params = started(provider, settings)
    assert finish(provider, s.cookie_value, params, settings).profile.subject == "583231"


def test_an_injected_code_fails_without_its_pkce_verifier(github, settings):
    provider = make_provider("github", github)
    _, attacker_params = started(provider, settings)  # the attacker's own authorization code
    victim, victim_params = started(provider, settings)
    injected = dict(victim_params, code=attacker_params["code"])
    with pytest.raises(ProviderError, match="invalid_grant"):
        finish(provider, victim.cookie_value, injected, settings)


@pytest.mark.parametrize(
    ("stage", "fault", "status", "message"),
    [
        ("token", "500", 502, "could not be reached or refused"),
        ("token", "503", 502, "could not be reached or refused"),
        ("token", "html", 502, "unreadably"),
        ("token", "malformed", 502, "unreadably"),
        ("token", "slow", 504, "did not answer in time"),
        ("token", "no_token", 502, "did not return an access token"),
        ("token", "error", 502, "bad_verification_code"),
        ("api", "500", 502, r"failed \(HTTP 500\)"),
        ("api", "html", 502, "other than JSON"),
        ("api", "malformed", 502, "malformed JSON"),
        ("api", "slow", 504, "did not answer in time"),
    ],
)
def test_each_provider_fault_is_a_clear_error_and_keeps_the_draft(
    stage, fault, status, message, settings, db: IdentityStore
):
    fake = make_fake("github")
    with fake.running():
        provider = make_provider("github", fake, timeout=0.3)
        s, params = started(provider, settings)
        fake.faults[stage] = fault
        with pytest.raises(ProviderError, match=message) as info:
            finish(provider, s.cookie_value, params, settings)
    assert info.value.status == status
    assert info.value.draft == "My half-written comment"
    assert db.find_identity("github", "583231") is None


def test_an_unreachable_provider_is_a_502(settings):
    fake = FakeProvider()
    with fake.running():
        provider = make_provider("github", fake)
        s, params = started(provider, settings)
    with pytest.raises(ProviderError, match="could not be reached") as info:
        finish(provider, s.cookie_value, params, settings)
    assert info.value.status == 502


# -- next and the draft ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "/%2F%2Fevil.example",
        "/%2f/evil.example",
        "/%5Cevil.example",
        "%2F%2Fevil.example",
        "javascript:alert(1)",
        "https:evil.example",
        "https://evil.example/",
        "/posts/1\r\nSet-Cookie: a=b",
        "/posts/%0d%0aSet-Cookie:a=b",
        "/posts/\x00",
        "/posts/\t1",
        "/" + "a" * 5000,
        "",
        None,
        "posts/1",
        "/%252F%252Fevil.example",
    ],
)
def test_unsafe_next_values_fall_back_to_the_front_page(value):
    assert flow.safe_next(value) == "/"


@pytest.mark.parametrize("value", ["/", "/posts/1", "/posts/1?page=2#comments", "/tags/caf%C3%A9"])
def test_same_site_paths_are_kept(value):
    assert flow.safe_next(value) == value


def test_next_is_sanitised_before_it_is_signed(github, settings):
    provider = make_provider("github", github)
    s, params = started(provider, settings, next_path="//evil.example")
    assert finish(provider, s.cookie_value, params, settings).next_path == "/"


def test_result_carries_popup_next_and_draft(github, settings):
    provider = make_provider("github", github)
    s, params = started(provider, settings, popup=True, draft="Ünïcode draft ✓")
    result = finish(provider, s.cookie_value, params, settings)
    assert (result.popup, result.draft) == (True, "Ünïcode draft ✓")
    assert result.next_path == "/posts/7#comments"


def test_a_draft_too_long_for_a_cookie_is_refused_up_front(github, settings):
    provider = make_provider("github", github)
    draft = secrets.token_urlsafe(6000)  # random text: compression cannot save it
    with pytest.raises(InvalidInput, match="too long") as info:
        flow.start(provider, callback_url(provider), settings=settings, draft=draft)
    assert info.value.field == "draft"


def test_only_the_code_flow_is_requested(github, settings):
    provider = make_provider("github", github)
    sign_in(provider, settings)
    assert dict(github.requests_seen)["authorize"]["response_type"] == "code"

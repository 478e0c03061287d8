"""The flow cookie's format: compressed only when it carries a draft, and read either way (also
cookies written before that change, by a plain ``URLSafeTimedSerializer``)."""

from __future__ import annotations

from typing import Any

from itsdangerous import URLSafeTimedSerializer

from social_auth import flow
from social_auth.flow import FlowSettings, MemoryUsedStates
from social_auth.provider import AuthorizationRequest

SECRET = "flow-cookie-secret"
#: Natural text compresses well: a comment this long only fits the cookie compressed.
LONG_DRAFT = "I read the whole post and I think the second point is the important one. " * 80


class Provider:
    """Just what ``flow.start`` asks of a provider (no HTTP)."""

    instance_name = "corp"
    protocol = "oidc"

    def authorization_request(
        self, redirect_uri: str, state: str, code_verifier: str, nonce: str
    ) -> AuthorizationRequest:
        return AuthorizationRequest(f"https://issuer.example/authorize?state={state}", state)


def settings() -> FlowSettings:
    return FlowSettings(secret_key=SECRET, used_states=MemoryUsedStates())


def start(**kw: Any) -> flow.FlowStart:
    provider: Any = Provider()
    return flow.start(provider, "https://blog.example/auth/callback/corp", settings=settings(),
                      **kw)


def test_a_flow_without_a_draft_is_not_compressed_and_reads_back():
    started = start(next_path="/posts/1", popup=True)
    assert not started.cookie_value.startswith(".")
    cookie = flow.read_cookie(started.cookie_value, settings=settings())
    assert cookie.problem is None and cookie.state == started.state


def test_a_long_draft_is_compressed_so_it_still_fits_the_cookie():
    assert len(LONG_DRAFT) > flow.MAX_COOKIE_BYTES
    started = start(next_path="/posts/1", draft=LONG_DRAFT)
    assert started.cookie_value.startswith(".")
    assert len(started.cookie_value) <= flow.MAX_COOKIE_BYTES
    peeked = flow.peek(started.cookie_value, settings=settings())
    assert peeked is not None and peeked.draft == LONG_DRAFT


def test_a_cookie_written_by_a_plain_serializer_still_reads():
    started = start(next_path="/posts/1", draft="Hi")
    plain = URLSafeTimedSerializer(SECRET.encode(), salt=flow.SALT)
    payload = plain.loads(started.cookie_value)
    rewritten = plain.dumps(payload)  # compressed whenever zlib makes it shorter
    cookie = flow.read_cookie(rewritten, settings=settings())
    assert cookie.problem is None and cookie.state == started.state


def test_the_serializer_is_built_once_per_settings():
    one = settings()
    assert one.serializer() is one.serializer()

"""Fault injection: provider endpoints that hang, fail, or answer nonsense; discovery down; the
same callback twice at once; SMTP refusing mail; clock skew around the leeway. Each gives a
clear error with the draft kept, and writes nothing half-way."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from social_auth import flow, get_state
from social_auth.errors import ProviderError, SignInError, StateMismatch
from social_auth.flow import FlowSettings, SqlUsedStates
from social_auth.linking import LinkingPolicy, resolve
from social_auth.provider import LEEWAY
from social_auth.store import IdentityStore
from social_auth.testing import csrf_headers
from tests.apps import SECRET, make_blog
from tests.issuers import CountingIssuer, oidc_provider, signed_token_forge
from tests.providers.conftest import callback_url, make_fake, make_provider
from tests.providers.servers import consent
from tests.smtp import EphemeralController

SLOW = 1.0  # the fake's "slow" fault sleeps this long; the provider gives up after 0.3 s


def finish_oidc(issuer: CountingIssuer, settings: FlowSettings, **extra: Any):  # type: ignore[no-untyped-def]
    provider = oidc_provider(issuer, **extra)
    started = flow.start(provider, callback_url(provider), settings=settings, draft="my draft")
    params = consent(started.url)
    return flow.finish(
        provider, started.cookie_value, params, callback_url(provider), settings=settings
    )


def assert_clear_failure(exc: SignInError, status: int) -> None:
    assert exc.status == status and exc.draft == "my draft"
    assert exc.message.endswith(".") and "Traceback" not in exc.message


# -- userinfo and JWKS ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "fault", "status"),
    [
        ("userinfo", "500", 502),
        ("userinfo", "503", 502),
        ("userinfo", "html", 502),
        ("userinfo", "malformed", 502),
        ("userinfo", "slow", 504),
        ("jwks", "500", 502),
        ("jwks", "html", 502),
        ("jwks", "malformed", 502),
        ("jwks", "slow", 504),
        ("jwks", "empty", 502),
        ("jwks", "garbage-keys", 502),
    ],
)
def test_oidc_endpoint_faults_are_clear_errors_with_the_draft_kept(
    issuer, settings, stage, fault, status
):
    issuer.endpoint_faults[stage] = fault
    with pytest.raises(ProviderError) as info:
        finish_oidc(issuer, settings, timeout=0.3)
    assert_clear_failure(info.value, status)
    if stage == "jwks":
        assert issuer.hits["userinfo"] == 0


def test_discovery_down_fails_that_provider_only(settings):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    corp = oidc_provider_at(f"http://127.0.0.1:{dead}")
    with pytest.raises(ProviderError) as info:
        flow.start(corp, callback_url(corp), settings=settings)
    assert info.value.status in (502, 503, 504) and "could not be reached" in info.value.message
    with make_fake("github").running() as fake:
        github = make_provider("github", fake)
        started = flow.start(github, callback_url(github), settings=settings)
        params = consent(started.url)
        assert flow.finish(
            github, started.cookie_value, params, callback_url(github), settings=settings
        ).profile.subject


def oidc_provider_at(base: str):  # type: ignore[no-untyped-def]
    from social_auth_providers.oidc import OpenIDConnect

    return OpenIDConnect(
        "corp",
        {
            "client_id": "c",
            "client_secret": "s",
            "server_metadata_url": f"{base}/.well-known/openid-configuration",
            "timeout": 0.5,
        },
    )


def test_discovery_answering_500_or_html_fails_clearly(settings):
    for fault in ("500", "html", "malformed"):
        fake = CountingIssuer(id_token_claims={"sub": "1"})
        fake.endpoint_faults["openid-configuration"] = fault
        with fake.running():
            provider = oidc_provider(fake)
            with pytest.raises(ProviderError) as info:
                flow.start(provider, callback_url(provider), settings=settings)
            assert info.value.status == 502


# -- clock skew -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "accepted"),
    [
        ({"iat": +(LEEWAY // 2)}, True),  # the issuer's clock runs a little fast
        ({"iat": +(LEEWAY * 2)}, False),
        ({"exp": -(LEEWAY // 2)}, True),  # ours runs a little fast
        ({"exp": -(LEEWAY * 2)}, False),
    ],
    ids=["iat-within", "iat-beyond", "exp-within", "exp-beyond"],
)
def test_clock_skew_within_the_leeway_is_tolerated_and_beyond_it_refused(
    issuer, settings, claims, accepted
):
    now = int(time.time())
    changes = {name: now + offset for name, offset in claims.items()}
    issuer.forge = signed_token_forge(**changes)
    if accepted:
        assert finish_oidc(issuer, settings).profile.subject
    else:
        with pytest.raises(ProviderError) as info:
            finish_oidc(issuer, settings)
        assert_clear_failure(info.value, 502)
        assert issuer.hits["userinfo"] == 0


# -- the same callback twice at once -----------------------------------------------------------


def test_the_same_callback_twice_at_once_has_one_winner_and_one_commenter(store: IdentityStore):
    settings = FlowSettings(secret_key=SECRET, used_states=SqlUsedStates(store.engine))
    with make_fake("github").running() as fake:
        provider = make_provider("github", fake)
        started = flow.start(provider, callback_url(provider), settings=settings)
        params = consent(started.url)
        barrier = threading.Barrier(2)
        outcomes: list[Any] = []

        def callback() -> None:
            barrier.wait()
            try:
                result = flow.finish(
                    provider,
                    started.cookie_value,
                    params,
                    callback_url(provider),
                    settings=settings,
                )
                outcomes.append(resolve(result.profile, None, store, LinkingPolicy()))
            except SignInError as exc:
                outcomes.append(exc)

        threads = [threading.Thread(target=callback) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(outcomes) == 2 and len(errors) == 1 and isinstance(errors[0], StateMismatch)
    assert sum(1 for kind, _ in fake.requests_seen if kind == "token") == 1
    with store.session() as s:
        from sqlalchemy import func, select

        from social_auth.store import Commenter, Identity

        assert s.scalar(select(func.count(Commenter.id))) == 1
        assert s.scalar(select(func.count(Identity.id))) == 1


# -- SMTP refusing mail -----------------------------------------------------------------------


class Refusing:
    """An SMTP server that refuses every recipient (a full mailbox, a blocklisted sender)."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return "550 5.1.1 Mailbox unavailable"


@pytest.fixture(params=["refusing", "down"])
def bad_smtp(request: pytest.FixtureRequest) -> Iterator[int]:
    if request.param == "down":
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            yield sock.getsockname()[1]
        return
    controller = EphemeralController(Refusing(), hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


def smtp_blog(tmp_path: Path, port: int, **config: Any) -> Flask:
    return make_blog(
        tmp_path,
        SOCIAL_AUTH_MAILER="smtp",
        SOCIAL_AUTH_MAIL_SERVER="127.0.0.1",
        SOCIAL_AUTH_MAIL_PORT=port,
        **config,
    )


def test_smtp_refusing_a_guests_link_is_a_clear_503(tmp_path: Path, bad_smtp: int):
    app = smtp_blog(tmp_path, bad_smtp)
    client = app.test_client()
    headers = {**csrf_headers(client), "Accept": "application/json"}
    client.post("/auth/guest", data={"name": "Ann", "email": "ann@example.com"}, headers=headers)
    headers = {**csrf_headers(client), "Accept": "application/json"}
    response = client.post("/auth/email/start", data={}, headers=headers)
    assert response.status_code == 503
    assert response.json["error"] == "mail_not_sent"  # type: ignore[index]
    me = client.get("/auth/me").json
    assert me["commenter"]["email_verified"] is False  # type: ignore[index]


def test_smtp_refusing_an_anonymous_link_reveals_nothing(tmp_path: Path, bad_smtp: int):
    app = smtp_blog(tmp_path, bad_smtp)
    from social_auth import Profile

    get_state(app).store.sign_in(Profile("fakebook", "k", "K", "known@example.com", True))
    answers = []
    for email in ("known@example.com", "nobody@example.com"):
        client = app.test_client()
        response = client.post(
            "/auth/email/start",
            data={"email": email},
            headers={**csrf_headers(client), "Accept": "application/json"},
        )
        answers.append((response.status_code, response.json))
    assert answers[0] == answers[1] and answers[0][0] == 200


def test_smtp_refusing_mail_keeps_the_comment_draft_and_saves_no_comment(
    tmp_path: Path, bad_smtp: int
):
    app = smtp_blog(tmp_path, bad_smtp, SOCIAL_AUTH_GUEST_VERIFY_EMAIL=True)
    client = app.test_client()
    slug = "sourdough-starter-in-a-week"
    response = client.post(
        f"/posts/{slug}/comments",
        data={"comment": "My precious draft", "name": "Ann", "email": "ann@example.com"},
        headers=csrf_headers(client),
    )
    assert response.status_code == 503
    assert "try again" in response.get_data(as_text=True)
    page = client.get(f"/posts/{slug}").get_data(as_text=True)
    assert "My precious draft" in page  # back in the textarea
    assert 'class="comment-body"' not in page  # and not saved as a comment

"""Abuse of the magic-link mailer: flooding one address or from one client, finding out which
addresses are known, and dodging the per-client limit with ``X-Forwarded-For`` (trusted only
when the host put ``ProxyFix`` in front, as the README says)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.middleware.proxy_fix import ProxyFix

from social_auth import Profile, get_state
from social_auth.testing import csrf_headers
from social_auth.views import CLIENT_LIMIT, EMAIL_LIMIT
from tests.webapp import make_app


def ask(client: FlaskClient, email: str, **headers: str) -> int:
    response = client.post(
        "/auth/email/start",
        data={"email": email},
        headers={**csrf_headers(client), "Accept": "application/json", **headers},
    )
    response.close()  # as a WSGI server does after sending it: anonymous links go out then
    return response.status_code


def sent(app: Flask) -> list[str]:
    return [to for to, _, _ in get_state(app).mailer.sent]


def known(app: Flask, email: str = "known@example.com") -> None:
    get_state(app).store.sign_in(Profile("fakebook", "k", "Known", email, email_verified=True))


def test_flooding_one_address_is_cut_off_after_the_limit(app: Flask):
    known(app)
    codes = [ask(app.test_client(), "known@example.com") for _ in range(EMAIL_LIMIT + 2)]
    assert codes == [200] * EMAIL_LIMIT + [429, 429]
    assert len(sent(app)) == EMAIL_LIMIT


def test_case_variants_of_one_address_share_its_limit(app: Flask):
    known(app)
    variants = ["known@example.com", "KNOWN@example.com", "Known@EXAMPLE.com", "known@Example.Com"]
    codes = [ask(app.test_client(), v) for v in variants]
    assert codes == [200] * EMAIL_LIMIT + [429]


def test_flooding_from_one_client_is_cut_off_whatever_the_addresses(app: Flask):
    client = app.test_client()
    codes = [ask(client, f"n{i}@example.com") for i in range(CLIENT_LIMIT + 1)]
    assert codes == [200] * CLIENT_LIMIT + [429]


def test_answers_do_not_reveal_which_addresses_are_known(app: Flask):
    known(app)
    answers = []
    for email in ("known@example.com", "nobody@example.com"):
        client = app.test_client()
        response = client.post(
            "/auth/email/start", data={"email": email}, headers=csrf_headers(client)
        )
        body = re.sub(r'value="[^"]+"', "", response.get_data(as_text=True))
        answers.append((response.status_code, body, sorted(response.headers.keys())))
        response.close()  # as a WSGI server does after sending it: anonymous links go out then
    assert answers[0] == answers[1]
    assert sent(app) == ["known@example.com"]


def test_the_limit_answers_alike_for_known_and_unknown_addresses(app: Flask):
    known(app)
    for email in ("known@example.com", "nobody@example.com"):
        codes = [ask(app.test_client(), email) for _ in range(EMAIL_LIMIT + 1)]
        assert codes[-1] == 429


def test_x_forwarded_for_is_ignored_without_a_configured_proxy(app: Flask):
    client = app.test_client()
    codes = [
        ask(client, f"n{i}@example.com", **{"X-Forwarded-For": f"203.0.113.{i}"})
        for i in range(CLIENT_LIMIT + 1)
    ]
    assert codes[-1] == 429


@pytest.fixture
def proxied(tmp_path: Path) -> Flask:
    app = make_app(tmp_path)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # type: ignore[method-assign]
    return app


def test_behind_proxyfix_each_forwarded_client_has_its_own_limit(proxied: Flask):
    client = proxied.test_client()
    codes = [
        ask(client, f"n{i}@example.com", **{"X-Forwarded-For": f"203.0.113.{i}"})
        for i in range(CLIENT_LIMIT + 1)
    ]
    assert codes == [200] * (CLIENT_LIMIT + 1)


def test_behind_proxyfix_a_spoofed_leftmost_address_does_not_dodge_the_limit(proxied: Flask):
    # The trusted proxy appends the real address; only that rightmost entry is believed.
    client = proxied.test_client()
    codes = [
        ask(client, f"n{i}@example.com", **{"X-Forwarded-For": f"10.9.9.{i}, 198.51.100.7"})
        for i in range(CLIENT_LIMIT + 1)
    ]
    assert codes[-1] == 429


# -- sign-in starts ----------------------------------------------------------------------------


def start_app(tmp_path: Path, proxied: bool = False) -> Flask:
    from tests.providers.signin_app import signin_app

    app = signin_app(tmp_path, {}, SOCIAL_AUTH_DEV_PROVIDER=True)
    if proxied:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # type: ignore[method-assign]
    return app


def starts(client: FlaskClient, count: int, **headers: str) -> list[int]:
    return [
        client.get(
            "/auth/login/dev?popup=0&next=/posts/1",
            headers=headers,
            base_url="https://blog.example",
        ).status_code
        for _ in range(count)
    ]


def test_a_script_looping_on_sign_in_starts_is_cut_off(tmp_path: Path):
    from social_auth.views import START_LIMIT

    client = start_app(tmp_path).test_client()
    codes = starts(client, START_LIMIT + 2)
    assert codes[:START_LIMIT] == [302] * START_LIMIT and codes[START_LIMIT:] == [429, 429]
    page = client.get("/auth/login/dev?popup=0", base_url="https://blog.example")
    assert "Too many sign-ins" in page.get_data(as_text=True)


def test_sign_in_starts_ignore_x_forwarded_for_without_a_proxy(tmp_path: Path):
    from social_auth.views import START_LIMIT

    client = start_app(tmp_path).test_client()
    codes = [
        starts(client, 1, **{"X-Forwarded-For": f"203.0.113.{i % 250}"})[0]
        for i in range(START_LIMIT + 1)
    ]
    assert codes[-1] == 429


def test_sign_in_starts_behind_proxyfix_are_counted_per_forwarded_client(tmp_path: Path):
    from social_auth.views import START_LIMIT

    client = start_app(tmp_path, proxied=True).test_client()
    assert starts(client, START_LIMIT, **{"X-Forwarded-For": "198.51.100.1"})[-1] == 302
    assert starts(client, 1, **{"X-Forwarded-For": "198.51.100.1"}) == [429]
    assert starts(client, 1, **{"X-Forwarded-For": "198.51.100.2"}) == [302]


def test_a_refused_client_adds_no_counter_for_the_addresses_it_tries(app: Flask):
    from social_auth.ratelimit import MemoryRateLimiter

    limiter = get_state(app).rate_limiter
    assert isinstance(limiter, MemoryRateLimiter)
    client = app.test_client()
    codes = [ask(client, f"n{i}@example.com") for i in range(CLIENT_LIMIT + 50)]
    assert codes == [200] * CLIENT_LIMIT + [429] * 50
    # One counter for the client, one per address it was allowed to try; none for the 50 after.
    assert len(limiter) == CLIENT_LIMIT + 1
    assert limiter.storage.reset() == CLIENT_LIMIT + 1

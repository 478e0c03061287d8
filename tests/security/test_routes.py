"""The flow attacks and faults again, through the real ``/auth/login`` and ``/auth/callback``
routes: what the browser gets back (status, cookies, headers, the draft) and what the store holds
afterwards. The provider is the local GitHub stand-in, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from flask import Flask
from sqlalchemy import text

from tests.conftest import POSTGRES_URL, postgres_schema
from tests.providers.conftest import make_fake, oauth2_endpoints
from tests.providers.servers import FakeProvider, serve_site
from tests.providers.signin_app import (
    BASE,
    POST,
    callback,
    client_for,
    counts,
    page_draft,
    query_of,
    sets_session,
    signin_app,
    start,
)

from .test_redirects import HOSTILE

DRAFT = "My half-written comment"


@pytest.fixture
def github() -> Iterator[FakeProvider]:
    with make_fake("github").running() as fake:
        yield fake


@pytest.fixture
def app(tmp_path: Path, github: FakeProvider) -> Flask:
    return signin_app(tmp_path, {"github": oauth2_endpoints(github.base_url)})


def consent(response: Any) -> dict[str, str]:
    """The browser follows the login redirect to the provider, which answers at once."""
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    answer = requests.get(response.headers["Location"], allow_redirects=False, timeout=5)
    assert answer.status_code in (302, 303)
    return query_of(answer.headers["Location"])


def token_calls(fake: FakeProvider) -> int:
    return sum(1 for kind, _ in fake.requests_seen if kind == "token")


def test_route_callback_without_its_flow_cookie_signs_nobody_in(app, github):
    params = consent(start(client_for(app), "github"))
    stranger = client_for(app)
    response = callback(stranger, "github", params)
    assert response.status_code == 400 and not sets_session(response)
    assert counts(app) == (0, 0) and token_calls(github) == 0


def test_route_login_csrf_the_attackers_callback_in_the_victims_browser(app, github):
    attacker_params = consent(start(client_for(app), "github"))
    victim = client_for(app)
    start(victim, "github")  # the victim has a sign-in of their own under way
    response = callback(victim, "github", attacker_params)
    assert response.status_code == 400 and not sets_session(response)
    assert counts(app) == (0, 0) and token_calls(github) == 0
    assert page_draft(victim) == DRAFT


def test_route_replayed_callback_is_refused_and_signs_in_no_one_again(app, github):
    client = client_for(app)
    start_response = start(client, "github")
    flow_cookie = [h for h in start_response.headers.getlist("Set-Cookie") if "flow" in h]
    params = consent(start_response)
    assert callback(client, "github", params).status_code in (302, 303)
    replayer = client_for(app)
    name, _, rest = flow_cookie[0].partition("=")
    replayer.set_cookie(name, rest.split(";", 1)[0], domain="blog.example")
    response = callback(replayer, "github", params)
    assert response.status_code == 400 and not sets_session(response)
    assert counts(app) == (1, 1) and token_calls(github) == 1


def test_route_mix_up_iss_is_refused_before_the_code_is_exchanged(app, github):
    client = client_for(app)
    params = consent(start(client, "github"))
    response = callback(client, "github", {**params, "iss": "https://attacker.example"})
    assert response.status_code == 400 and not sets_session(response)
    assert token_calls(github) == 0 and page_draft(client) == DRAFT


@pytest.mark.parametrize("popup", [True, False])
def test_route_callback_answers_leak_no_code_and_send_no_referer(app, popup):
    client = client_for(app)
    params = consent(start(client, "github", popup=popup))
    response = callback(client, "github", params)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response.headers["Cache-Control"]
    body = response.get_data(as_text=True)
    location = response.headers.get("Location", "")
    for secret in (params["code"], params["state"]):
        assert secret not in body and secret not in location
    if not popup:
        assert location.endswith(POST)


@pytest.mark.parametrize("value", HOSTILE[:16])
def test_route_hostile_next_through_a_whole_sign_in_lands_on_this_site(app, value):
    client = client_for(app)
    response = client.get(f"/auth/login/github?popup=0&next={quote(value, safe='')}", base_url=BASE)
    finished = callback(client, "github", consent(response))
    assert finished.status_code in (302, 303)
    location = finished.headers["Location"]
    assert location in ("/", f"{BASE}/"), location


def test_route_no_code_or_token_reaches_any_log(app, github, caplog):
    caplog.set_level(logging.DEBUG)
    client = client_for(app)
    params = consent(start(client, "github"))
    callback(client, "github", params)
    secrets = [params["code"], *github.tokens, github.client_secret]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records
    for secret in secrets:
        assert secret not in logged


@pytest.mark.parametrize(("fault", "status"), [("500", 502), ("html", 502), ("slow", 504)])
def test_route_provider_fault_is_a_clear_page_keeps_the_draft_writes_nothing(
    tmp_path: Path, fault: str, status: int
):
    fake = make_fake("github")
    fake.faults["token"] = fault
    with fake.running():
        settings = {**oauth2_endpoints(fake.base_url), "timeout": 0.3}
        app = signin_app(tmp_path, {"github": settings})
        client = client_for(app)
        response = callback(client, "github", consent(start(client, "github")))
    assert response.status_code == status and not sets_session(response)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "GitHub" in body
    assert counts(app) == (0, 0) and page_draft(client) == DRAFT


def test_route_discovery_down_fails_that_provider_and_not_the_others(tmp_path: Path, github):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    corp = {
        "provider": "oidc",
        "client_id": "c",
        "client_secret": "s",
        "server_metadata_url": f"http://127.0.0.1:{dead}/.well-known/openid-configuration",
        "timeout": 0.5,
    }
    app = signin_app(tmp_path, {"github": oauth2_endpoints(github.base_url), "corp": corp})
    client = client_for(app)
    down = start(client, "corp")
    assert down.status_code in (502, 503, 504)
    assert "could not be reached" in down.get_data(as_text=True)
    assert page_draft(client) == DRAFT
    page = client.get(POST, base_url=BASE)
    assert page.status_code == 200
    buttons = dict(
        (m.group(2), m.group(1))
        for m in re.finditer(
            r'<button[^>]*class="([^"]*)"[^>]*data-provider="([^"]+)"', page.get_data(as_text=True)
        )
    )
    assert "sa-unavailable" in buttons["corp"] and "sa-unavailable" not in buttons["github"]
    assert callback(client, "github", consent(start(client, "github"))).status_code in (302, 303)
    assert counts(app) == (1, 1)


# -- the same callback twice at once, over real HTTP --------------------------------------------


def test_route_the_same_callback_twice_at_once_signs_in_once(tmp_path: Path, github):
    site = serve_site(
        lambda address: signin_app(
            tmp_path, {"github": oauth2_endpoints(github.base_url)}, SOCIAL_AUTH_SITE_URL=address
        )
    )
    with site as (app, base):
        browser = requests.Session()
        started = browser.get(f"{base}/auth/login/github?next={POST}", allow_redirects=False)
        answer = requests.get(started.headers["Location"], allow_redirects=False, timeout=5)
        callback_url = answer.headers["Location"]
        barrier = threading.Barrier(2)
        statuses: list[tuple[int, bool]] = []

        def hit() -> None:
            barrier.wait()
            r = requests.get(
                callback_url, cookies=browser.cookies, allow_redirects=False, timeout=10
            )
            statuses.append(
                (r.status_code, "social_auth_session=" in r.headers.get("Set-Cookie", ""))
            )

        threads = [threading.Thread(target=hit) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
    assert sorted(statuses) == [(302, True), (400, False)]
    assert counts(app) == (1, 1) and token_calls(github) == 1


# -- the database going away mid-callback -------------------------------------------------------


class TcpProxy:
    """Forwards a loopback port to PostgreSQL until ``cut()``: then every connection through it
    dies at once, as when the database server goes away."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.cut_off = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.cut_off:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_off:
                client.close()
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.cut_off = True
        self.listener.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass


class CuttingProvider(FakeProvider):
    """The GitHub stand-in, cutting the database off when the token is asked for: the flow
    state is consumed, the profile not yet stored."""

    proxy: TcpProxy | None = None

    def token(self) -> Any:
        if self.proxy is not None:
            self.proxy.cut()
        return super().token()


@pytest.mark.postgres
@pytest.mark.parametrize("when", ["at-the-token-call", "before-the-callback"])
def test_route_database_gone_mid_callback_is_a_503_with_no_cookie_and_no_rows(
    tmp_path: Path, when: str
):
    from urllib.parse import urlsplit

    with postgres_schema("sa_sec") as (schema, admin):
        target = urlsplit(POSTGRES_URL.replace("postgresql+psycopg", "postgresql"))
        proxy = TcpProxy((target.hostname or "127.0.0.1", target.port or 5432))
        url = POSTGRES_URL.replace(f":{target.port or 5432}/", f":{proxy.port}/")
        fake = make_fake("github")
        fake.__class__ = CuttingProvider
        try:
            with fake.running():
                app = signin_app(
                    tmp_path,
                    {"github": oauth2_endpoints(fake.base_url)},
                    SOCIAL_AUTH_DATABASE_URI=url,
                    SOCIAL_AUTH_DATABASE_ENGINE_OPTIONS={
                        "connect_args": {"options": f"-csearch_path={schema}", "connect_timeout": 2}
                    },
                )
                client = client_for(app)
                params = consent(start(client, "github"))
                if when == "before-the-callback":
                    proxy.cut()  # the replay guard's own write fails first
                else:
                    fake.proxy = proxy  # type: ignore[attr-defined]
                response = callback(client, "github", params)
                assert response.status_code == 503, response.get_data(as_text=True)[:400]
                assert not sets_session(response)
                body = response.get_data(as_text=True)
                assert "Traceback" not in body
                assert DRAFT in body or any(
                    "draft" in h for h in response.headers.getlist("Set-Cookie")
                )
            with admin.connect() as conn:
                conn.execute(text(f'SET search_path TO "{schema}"'))
                assert conn.scalar(text("SELECT count(*) FROM social_auth_commenter")) == 0
                assert conn.scalar(text("SELECT count(*) FROM social_auth_identity")) == 0
        finally:
            proxy.cut()

"""Enumeration by timing: an anonymous magic-link answer never waits for the mail server, so a
known address (mail sent) and an unknown one (nothing sent) take the same path back."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from social_auth import Profile, get_state
from tests.smtp import EphemeralController, Inbox
from tests.webapp import make_app


class HeldInbox(Inbox):
    """Accepts a message only once the test releases it: a mail server that is slow on cue."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def held() -> Iterator[tuple[int, HeldInbox]]:
    inbox = HeldInbox()
    controller = EphemeralController(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        inbox.release.set()
        controller.stop()


@pytest.fixture
def app(held: tuple[int, HeldInbox], tmp_path: Path) -> Flask:
    port, _ = held
    return make_app(
        tmp_path,
        SOCIAL_AUTH_MAILER="smtp",
        SOCIAL_AUTH_MAIL_SERVER="127.0.0.1",
        SOCIAL_AUTH_MAIL_PORT=port,
        SOCIAL_AUTH_MAIL_SENDER="blog@example.org",
    )


@pytest.fixture
def base_url(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def post_in_thread(
    base_url: str, email: str, *, as_guest: bool = False
) -> tuple[threading.Thread, list[int]]:
    browser = requests.Session()
    token = browser.get(f"{base_url}/auth/me", timeout=5).json()["csrf_token"]
    headers = {"X-CSRF-Token": token, "Accept": "application/json"}
    if as_guest:
        guest = browser.post(
            f"{base_url}/auth/guest",
            data={"name": "Ann", "email": email},
            headers=headers,
            timeout=5,
        )
        assert guest.status_code == 200
        headers["X-CSRF-Token"] = (
            guest.json().get("csrf_token")
            or browser.get(f"{base_url}/auth/me", timeout=5).json()["csrf_token"]
        )
    statuses: list[int] = []

    def ask() -> None:
        response = browser.post(
            f"{base_url}/auth/email/start", data={"email": email}, headers=headers, timeout=30
        )
        statuses.append(response.status_code)

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    return thread, statuses


def test_an_anonymous_request_for_a_known_address_is_answered_before_the_mail_goes(
    app: Flask, base_url: str, held: tuple[int, HeldInbox]
):
    _, inbox = held
    get_state(app).store.sign_in(Profile("fakebook", "1", "Known", "known@example.com", True))
    thread, statuses = post_in_thread(base_url, "known@example.com")
    thread.join(timeout=10)
    assert not thread.is_alive() and statuses == [200]
    assert inbox.messages == []  # answered while the mail server still holds the message
    inbox.release.set()
    assert [m["To"] for m in inbox.wait_for(1)] == ["known@example.com"]


def test_a_guest_asking_for_their_own_link_is_told_only_once_it_is_sent(
    base_url: str, held: tuple[int, HeldInbox]
):
    # The contrast that shows the test above can tell the two apart: this answer waits, so a
    # failure to send can be reported to the guest.
    _, inbox = held
    thread, statuses = post_in_thread(base_url, "ann@example.com", as_guest=True)
    thread.join(timeout=1.5)
    assert thread.is_alive() and statuses == []
    inbox.release.set()
    thread.join(timeout=10)
    assert statuses == [200] and [m["To"] for m in inbox.wait_for(1)] == ["ann@example.com"]

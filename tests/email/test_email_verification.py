"""Magic-link email verification, with mail delivered to a real SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import Message
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from social_auth import Profile, get_state
from social_auth.testing import csrf_headers
from tests.smtp import Inbox, smtp_server
from tests.webapp import make_app

__all__ = ["smtp_server"]  # the fixture, used by name

LINK = re.compile(r"http://localhost/auth/email/verify\?token=(\S+)")


@pytest.fixture
def mail(smtp_server: tuple[int, Inbox], tmp_path: Path) -> tuple[Flask, Inbox]:
    port, inbox = smtp_server
    app = make_app(
        tmp_path,
        SOCIAL_AUTH_MAILER="smtp",
        SOCIAL_AUTH_MAIL_SERVER="127.0.0.1",
        SOCIAL_AUTH_MAIL_PORT=port,
        SOCIAL_AUTH_MAIL_SENDER="blog@example.org",
        SOCIAL_AUTH_SITE_URL="http://localhost",
    )
    return app, inbox


def become_guest(client: FlaskClient, email: str = "ann@example.com") -> None:
    response = client.post(
        "/auth/guest",
        data={"name": "Ann", "email": email},
        headers={**csrf_headers(client), "Accept": "application/json"},
    )
    assert response.status_code == 200


def ask_for_link(client: FlaskClient, email: str = "") -> int:
    response = client.post(
        "/auth/email/start",
        data={"email": email} if email else {},
        headers={**csrf_headers(client), "Accept": "application/json"},
    )
    return response.status_code


def me(client: FlaskClient) -> dict:
    body = client.get("/auth/me").json
    assert body is not None
    return body


def link_token(message: Message) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    match = LINK.search(body.decode())
    assert match is not None, body
    return match.group(1)


def confirm(client: FlaskClient, token: str):
    return client.post(
        "/auth/email/verify", data={"token": token}, headers=csrf_headers(client)
    )


def open_link(client: FlaskClient, token: str):
    return client.get("/auth/email/verify", query_string={"token": token})


def test_the_link_arrives_by_smtp_and_confirms_the_email(mail: tuple[Flask, Inbox]):
    app, inbox = mail
    client = app.test_client()
    become_guest(client)
    assert ask_for_link(client) == 200
    (message,) = inbox.wait_for(1)
    assert message["To"] == "ann@example.com"
    assert message["From"] == "blog@example.org"
    assert "Confirm your email" in message["Subject"]
    token = link_token(message)

    page = open_link(client, token)
    assert page.status_code == 200
    assert b">Confirm</button>" in page.data and b'method="post"' in page.data
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert open_link(client, token).status_code == 200
    assert me(client)["commenter"]["email_verified"] is False  # GET consumed nothing

    assert confirm(client, token).status_code == 302
    assert me(client)["commenter"]["email_verified"] is True


def test_a_link_works_once(mail: tuple[Flask, Inbox]):
    app, inbox = mail
    client = app.test_client()
    become_guest(client)
    ask_for_link(client)
    token = link_token(inbox.wait_for(1)[0])
    assert confirm(client, token).status_code == 302
    again = confirm(client, token)
    assert again.status_code == 400
    assert b"used already" in again.data


def test_an_expired_link_is_refused(mail: tuple[Flask, Inbox], monkeypatch: pytest.MonkeyPatch):
    from social_auth.store import email_links

    app, inbox = mail
    client = app.test_client()
    become_guest(client)
    ask_for_link(client)
    token = link_token(inbox.wait_for(1)[0])
    later = email_links.utcnow() + timedelta(minutes=16)
    monkeypatch.setattr(email_links, "utcnow", lambda: later)
    response = open_link(client, token)
    assert response.status_code == 400 and b"expired" in response.data
    assert confirm(client, token).status_code == 400
    assert me(client)["commenter"]["email_verified"] is False


def test_tokens_for_other_purposes_are_not_links(mail: tuple[Flask, Inbox]):
    app, _ = mail
    client = app.test_client()
    become_guest(client)
    csrf = me(client)["csrf_token"]
    session_value = client.get_cookie("social_auth_session").value  # type: ignore[union-attr]
    for token in (csrf, session_value, "garbage"):
        assert open_link(client, token).status_code == 400
        assert confirm(client, token).status_code == 400
    assert me(client)["commenter"]["email_verified"] is False


def test_the_answer_never_reveals_whether_an_email_is_known(mail: tuple[Flask, Inbox]):
    app, inbox = mail
    get_state(app).store.sign_in(
        Profile("fakebook", "7", "Known", email="known@example.com", email_verified=True)
    )
    client = app.test_client()
    known = client.post(
        "/auth/email/start", data={"email": "known@example.com"}, headers=csrf_headers(client)
    )
    unknown = client.post(
        "/auth/email/start", data={"email": "nobody@example.com"}, headers=csrf_headers(client)
    )
    assert known.status_code == unknown.status_code == 200
    assert known.data == unknown.data
    assert inbox.messages == []  # an anonymous link goes out only after the answer was sent
    known.close()
    unknown.close()
    assert [m["To"] for m in inbox.wait_for(1)] == ["known@example.com"]


def test_requests_are_rate_limited_per_email(mail: tuple[Flask, Inbox]):
    app, inbox = mail
    client = app.test_client()
    become_guest(client)
    assert [ask_for_link(client) for _ in range(4)] == [200, 200, 200, 429]
    assert len(inbox.wait_for(3)) == 3


def test_a_link_opened_in_another_browser_changes_nothing(mail: tuple[Flask, Inbox]):
    # It used to verify the commenter who typed the address, and sign the owner in as them.
    app, inbox = mail
    impostor = app.test_client()
    become_guest(impostor, "victim@example.com")
    ask_for_link(impostor)
    token = link_token(inbox.wait_for(1)[0])
    owner = app.test_client()
    page = open_link(owner, token)
    assert page.status_code == 200 and b"asked for in another browser" in page.data
    assert b"<form" not in page.data
    refused = confirm(owner, token)
    assert refused.status_code == 403 and b"another browser" in refused.data
    assert me(owner)["authenticated"] is False
    assert me(impostor)["commenter"]["email_verified"] is False


def test_an_account_can_confirm_only_its_own_address(mail: tuple[Flask, Inbox]):
    from social_auth.testing import sign_in_client

    app, inbox = mail
    client = app.test_client()
    sign_in_client(client, provider="fakebook", email="ann@example.com")
    response = client.post(
        "/auth/email/start",
        data={"email": "someone.else@example.com"},
        headers={**csrf_headers(client), "Accept": "application/json"},
    )
    assert response.status_code == 400 and response.json["field"] == "email"  # type: ignore[index]
    assert ask_for_link(client) == 200  # its own address
    assert [m["To"] for m in inbox.wait_for(1)] == ["ann@example.com"]

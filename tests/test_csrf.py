"""Every state-changing POST needs a token bound to the browser; GET changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from social_auth import get_state
from social_auth.testing import csrf_headers, sign_in_client
from tests.webapp import make_app


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path)


def commenter_count(app: Flask) -> int:
    return len(get_state(app).store.search(""))


GUEST = {"name": "Ann", "email": "ann@example.com"}


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_a_guest_post_without_a_token_is_refused_and_creates_nobody(app: Flask, accept: str):
    client = app.test_client()
    client.get("/auth/me")  # has a CSRF cookie, but sends no token
    response = client.post("/auth/guest", data=GUEST, headers={"Accept": accept})
    assert response.status_code == 403
    assert commenter_count(app) == 0
    text = response.get_data(as_text=True)
    assert "security token" in text
    assert "Traceback" not in text


def test_logout_without_a_token_leaves_the_session_alone(app: Flask):
    client = app.test_client()
    commenter = sign_in_client(client)
    response = client.post("/auth/logout")
    assert response.status_code == 403
    assert client.get("/whoami").get_data(as_text=True) == commenter.public_id


def test_a_token_from_another_browser_is_refused(app: Flask):
    attacker = app.test_client()
    token = attacker.get("/auth/me").json["csrf_token"]  # type: ignore[index]
    victim = app.test_client()
    commenter = sign_in_client(victim)
    victim.get("/auth/me")
    response = victim.post("/auth/logout", data={"csrf_token": token})
    assert response.status_code == 403
    assert victim.get("/whoami").get_data(as_text=True) == commenter.public_id


def test_the_token_works_as_a_form_field_or_a_header(app: Flask):
    client = app.test_client()
    token = client.get("/auth/me").json["csrf_token"]  # type: ignore[index]
    assert client.post("/auth/guest", data={**GUEST, "csrf_token": token}).status_code == 302
    headers = csrf_headers(client)
    assert client.post("/auth/logout", headers=headers).status_code == 302
    assert client.get("/whoami").get_data(as_text=True) == "anonymous"


def test_a_second_csrf_token_field_from_the_host_form_does_not_break_ours(app: Flask):
    client = app.test_client()
    token = client.get("/auth/me").json["csrf_token"]  # type: ignore[index]
    data = {**GUEST, "csrf_token": ["flask-wtf-token", token]}
    assert client.post("/auth/guest", data=data).status_code == 302


def test_get_never_signs_out(app: Flask):
    client = app.test_client()
    commenter = sign_in_client(client)
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/whoami").get_data(as_text=True) == commenter.public_id


def test_sign_in_rotates_the_csrf_token(app: Flask):
    client = app.test_client()
    old = client.get("/auth/me").json["csrf_token"]  # type: ignore[index]
    client.post("/auth/guest", data={**GUEST, "csrf_token": old})
    new = client.get("/auth/me").json["csrf_token"]  # type: ignore[index]
    assert new != old
    assert client.post("/auth/logout", data={"csrf_token": old}).status_code == 403

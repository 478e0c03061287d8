"""A host app with the handle sign-ins on (the fetcher's address rule lifted for the local
servers), and the steps of a sign-in through its routes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.webapp import make_app

from .servers import IndieSite

POST = "/page"


def handle_app(tmp_path: Path, **config: Any) -> Flask:
    settings: dict[str, Any] = {
        "SOCIAL_AUTH_HANDLES": {"indieauth": {}},
        "SOCIAL_AUTH_FETCH_ALLOW_PRIVATE": True,
    }
    settings.update(config)
    return make_app(tmp_path, **settings)


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return handle_app(tmp_path)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def indie() -> Iterator[IndieSite]:
    with IndieSite().running() as site:
        yield site


def csrf(client: FlaskClient) -> str:
    body = client.get("/auth/me").json
    assert body is not None
    return str(body["csrf_token"])


def press(client: FlaskClient, handle: str, draft: str | None = "My draft") -> TestResponse:
    """The JS-off comment form: the handle field's button posts the whole form."""
    data = {"csrf_token": csrf(client), "social_auth_draft_field": "comment", "handle": handle}
    if draft is not None:
        data["comment"] = draft
    return client.post(f"/auth/login/handle?next={POST}", data=data)


def consent(authorization_url: str) -> str:
    """What the browser does at the commenter's server: it answers with the callback URL."""
    answer = requests.get(authorization_url, allow_redirects=False, timeout=5)
    assert answer.status_code in (302, 303), answer.text
    return answer.headers["Location"]


def come_back(client: FlaskClient, callback_url: str) -> TestResponse:
    parts = urlsplit(callback_url)
    assert parts.netloc == "localhost", callback_url
    return client.get(f"{parts.path}?{parts.query}")


def identities(client: FlaskClient) -> list[dict[str, Any]]:
    me = client.get("/auth/me").json
    assert me is not None
    return list(me["identities"])

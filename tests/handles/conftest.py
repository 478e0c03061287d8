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

from social_auth import get_state
from tests.webapp import make_app

from .servers import IndieSite

POST = "/page"
#: The apps a test made, whose database connections are closed when it ends (the suite runs
#: in one process: open SQLite files would pile up past what ``select()`` can watch).
MADE: list[Flask] = []


def handle_app(tmp_path: Path, **config: Any) -> Flask:
    settings: dict[str, Any] = {
        "SOCIAL_AUTH_HANDLES": {"indieauth": {}},
        "SOCIAL_AUTH_FETCH_ALLOW_PRIVATE": True,
    }
    settings.update(config)
    app = make_app(tmp_path, **settings)
    MADE.append(app)
    return app


@pytest.fixture(autouse=True)
def close_databases() -> Iterator[None]:
    yield
    while MADE:
        close_database(MADE.pop())


def close_database(app: Flask) -> None:
    """Close the pool and this thread's own SQLite connections (the store's readers and
    writers, the replay guard's), which would otherwise stay open as long as the app lives."""
    state = get_state(app)
    for owner, name in (
        (state.store, "_readers"),
        (state.store, "_writers"),
        (state.flow_settings.used_states, "_connections"),
    ):
        connections = getattr(owner, name, None)
        if connections is not None:
            connections.drop()
    state.store.engine.dispose()


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

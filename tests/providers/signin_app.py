"""A host app for the route-level sign-in tests: the real adapters, pointed at the local
provider servers, driven through the real ``/auth/login`` and ``/auth/callback`` routes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask, render_template_string
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from social_auth import SocialAuth, get_state
from social_auth.store import Commenter, Identity
from social_auth.testing import session_cookie
from social_auth_providers.dev import Dev
from social_auth_providers.facebook import Facebook
from social_auth_providers.github import GitHub
from social_auth_providers.google import Google
from social_auth_providers.oidc import OpenIDConnect
from social_auth_providers.twitter import Twitter
from social_auth_providers.wordpress import WordPress
from social_auth_providers.x import X
from tests.webapp import RecordingMailer

BASE = "https://blog.example"
ALL_ADAPTERS = [WordPress, X, Facebook, GitHub, Google, OpenIDConnect, Twitter, Dev]
POST = "/posts/1"


def signin_app(
    tmp_path: Path, providers: dict[str, dict[str, Any]], **config: Any
) -> Flask:
    """A blog page with the comment block, and SocialAuth over ``providers``."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="route-tests-secret-key",
        SOCIAL_AUTH_DATABASE_URI=f"sqlite:///{tmp_path / 'auth.sqlite3'}",
        SOCIAL_AUTH_PROVIDERS=providers,
        SOCIAL_AUTH_MAILER=RecordingMailer(),
        SOCIAL_AUTH_DEV_PROVIDER=False,
        SOCIAL_AUTH_SITE_URL=BASE,
    )
    app.config.update(config)
    ext = SocialAuth(app, providers=ALL_ADAPTERS)
    with app.app_context():
        ext.store.upgrade_schema()

    @app.get(POST)
    def post() -> str:
        return render_template_string(
            "<form>{{ social_auth_login(draft_field='comment') }}"
            "<textarea name=comment>{{ social_auth_draft() }}</textarea></form>"
        )

    return app


def client_for(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_HOST"] = "blog.example"
    return client


def sign_in_as(client: FlaskClient, commenter: Commenter) -> None:
    """Give ``client`` a session cookie for ``commenter`` on https://blog.example."""
    app: Flask = client.application
    provider = commenter.identities[0].provider if commenter.identities else None
    name, value = session_cookie(app, commenter, provider=provider, secure=True)
    client.set_cookie(name, value, domain="blog.example", secure=True, httponly=True)


def csrf(client: FlaskClient, base: str = BASE) -> str:
    body = client.get("/auth/me", base_url=base).json
    assert body is not None
    return str(body["csrf_token"])


def start(
    client: FlaskClient,
    name: str,
    *,
    draft: str | None = "My half-written comment",
    popup: bool = False,
    base: str = BASE,
) -> TestResponse:
    """Press the provider's icon: POST the comment form (JS off) or GET the popup URL."""
    if popup:
        return client.get(f"/auth/login/{name}?next={POST}&popup=1", base_url=base)
    data = {"csrf_token": csrf(client, base), "social_auth_draft_field": "comment"}
    if draft is not None:
        data["comment"] = draft
    return client.post(f"/auth/login/{name}?next={POST}&popup=0", data=data, base_url=base)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def callback(
    client: FlaskClient, name: str, params: dict[str, str], base: str = BASE
) -> TestResponse:
    return client.get(f"/auth/callback/{name}", query_string=params, base_url=base)


def set_cookies(response: TestResponse) -> dict[str, SimpleCookie]:
    """Each Set-Cookie header of ``response`` by cookie name."""
    found: dict[str, SimpleCookie] = {}
    for header in response.headers.getlist("Set-Cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        for name in cookie:
            found[name] = cookie
    return found


def sets_session(response: TestResponse) -> bool:
    """Whether ``response`` gives the browser a (non-empty) commenter session."""
    for name, cookie in set_cookies(response).items():
        if name.endswith("social_auth_session") and cookie[name].value:
            return True
    return False


def counts(app: Flask) -> tuple[int, int]:
    """(commenters, identities) in the app's store."""
    with get_state(app).store.session() as s:
        return (
            s.scalar(select(func.count()).select_from(Commenter)) or 0,
            s.scalar(select(func.count()).select_from(Identity)) or 0,
        )


def post_page(client: FlaskClient, base: str = BASE) -> tuple[str, str]:
    """The post page's (textarea content, block status line): the draft and notice the server
    kept, if any. Reading them uses them up, as a browser's next page does."""
    html = client.get(POST, base_url=base).get_data(as_text=True)
    draft = re.search(r"<textarea name=comment>(.*?)</textarea>", html, re.S)
    status = re.search(r'class="sa-status"[^>]*>(.*?)</p>', html, re.S)
    assert draft and status, html
    return draft.group(1), status.group(1)


def page_draft(client: FlaskClient, base: str = BASE) -> str:
    return post_page(client, base)[0]


def names(values: Iterable[Any]) -> list[str]:
    return sorted(str(v) for v in values)

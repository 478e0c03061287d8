"""A comment page makes the reader's browser contact nobody but the site: every request
Chromium makes is recorded, with a commenter whose provider picture lives on another server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from examples.blog import create_app
from social_auth import get_state
from social_auth.avatars.fetching import refresh
from social_auth.testing import make_commenter, session_cookie
from social_auth_providers.dev import Dev
from tests.avatars.servers import image_app
from tests.providers.servers import serve, serve_site
from tests.webapp import Fakebook, Letterbox, RecordingMailer

pytestmark = pytest.mark.browser
POST = "/posts/sourdough-starter-in-a-week"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Flask, str, str]]:
    """The blog, and an image server on another origin (the provider's picture host)."""
    with serve(image_app()) as images:
        def build(address: str) -> Flask:
            return create_app({
                "SECRET_KEY": "browser-tests-secret-key",
                "SOCIAL_AUTH_DATABASE_URI": f"sqlite:///{tmp_path / 'auth.sqlite3'}",
                "BLOG_DATABASE_URI": f"sqlite:///{tmp_path / 'blog.sqlite3'}",
                "BLOG_PROVIDER_ADAPTERS": [Fakebook, Letterbox, Dev],
                "SOCIAL_AUTH_PROVIDERS": {"fakebook": {}, "letterbox": {}},
                "SOCIAL_AUTH_MAILER": RecordingMailer(),
                "SOCIAL_AUTH_SITE_URL": address,
                "SOCIAL_AUTH_FETCH_ALLOW_PRIVATE": True,
            })

        with serve_site(build) as (app, base):
            yield app, base, images


def test_a_comment_page_loads_nothing_from_elsewhere(browser: Any, site: tuple[Flask, str, str]):
    app, base, images = site
    jane = make_commenter(app, display_name="Jane", provider="fakebook",
                          avatar_url=f"{images}/png")
    avatars = get_state(app).avatars
    assert avatars is not None
    assert refresh(avatars, jane, jane.identities[0]) == "fetched"
    context = browser.new_context(base_url=base)
    context.set_default_timeout(10_000)
    seen: list[str] = []
    context.on("request", lambda request: seen.append(request.url))
    name, value = session_cookie(app, get_state(app).store.require(jane.public_id),
                                 provider="fakebook")
    context.add_cookies([{"name": name, "value": value, "url": base}])
    try:
        page = context.new_page()
        page.goto(POST)
        page.fill("#comment", "Mine doubled overnight.")
        page.click("button.submit")
        page.wait_for_url(f"**{POST}#comment-*")
        page.wait_for_load_state("networkidle")
        avatar = page.locator(".sa-avatar")
        assert "/auth/avatars/" in (avatar.get_attribute("src") or "")
        assert page.evaluate("document.querySelector('.sa-avatar').naturalWidth") == 48
    finally:
        context.close()
    assert seen and all(url.startswith(base + "/") for url in seen), seen
    assert any("/auth/avatars/" in url for url in seen)

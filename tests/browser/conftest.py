"""Chromium through Playwright against the example blog, served by a real werkzeug server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.apps import served_blog_builder
from tests.providers.servers import serve_site

CHROMIUM = os.environ.get("SOCIAL_AUTH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def dev_sign_in(page: Any, subject: str, name: str, email: str = "") -> None:
    """Fill the dev provider's page and press "Sign in"."""
    page.fill("#subject", subject)
    page.fill("#name", name)
    page.fill("#email", email)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture(scope="session")
def blog_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    folder = tmp_path_factory.mktemp("blog")

    build = served_blog_builder(folder, "browser-tests-secret-key")
    with serve_site(build) as served:
        yield served


# ``browser``: one Chromium for the whole session, in tests/conftest.py (the security tests
# drive it too, and Playwright's sync API allows one instance per thread).


@pytest.fixture
def context(browser: Any, blog_server: tuple[Flask, str]) -> Iterator[Any]:
    _, base = blog_server
    context = browser.new_context(base_url=base, viewport={"width": 1100, "height": 900})
    context.set_default_timeout(10_000)

    # Only the test server exists here: refuse everything else (avatars from Gravatar) at
    # once instead of waiting for a network that is not there.
    def local_only(route: Any) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", local_only)
    try:
        yield context
    finally:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path

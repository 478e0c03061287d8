"""FedCM in headless Chromium against a local identity provider on another loopback origin:
the browser's account chooser (CDP ``FedCm``) in passive mode on page load and in active mode
from the provider's icon; the block updates without a reload and the comment stays."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from examples.blog import create_app
from social_auth import get_state
from social_auth_providers.google import Google
from social_auth_providers.oidc import OpenIDConnect
from tests.fedcm.idp import FedcmIdP
from tests.providers.servers import serve_site
from tests.webapp import RecordingMailer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

POST = "/posts/sourdough-starter-in-a-week"


@pytest.fixture(scope="module")
def idp() -> Iterator[FedcmIdP]:
    with FedcmIdP().running() as running:
        yield running


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, idp: FedcmIdP) -> Iterator[tuple[Flask, str]]:
    folder: Path = tmp_path_factory.mktemp("fedcm")

    def build(address: str) -> Flask:
        return create_app({
            "SECRET_KEY": "fedcm-tests-secret-key",
            "SOCIAL_AUTH_DATABASE_URI": f"sqlite:///{folder / 'auth.sqlite3'}",
            "BLOG_DATABASE_URI": f"sqlite:///{folder / 'blog.sqlite3'}",
            "BLOG_PROVIDER_ADAPTERS": [OpenIDConnect, Google],
            "SOCIAL_AUTH_PROVIDERS": {"corp": {
                "provider": "oidc", "title": "Corp", "client_id": idp.client_id,
                "client_secret": idp.client_secret,
                "server_metadata_url": f"{idp.base_url}/.well-known/openid-configuration",
                "fedcm": {"config_url": idp.config_url},
            }, "google": {
                "client_id": idp.client_id, "client_secret": idp.client_secret,
                "issuer": idp.base_url, "one_tap": True,
                "server_metadata_url": f"{idp.base_url}/.well-known/openid-configuration",
            }},
            "SOCIAL_AUTH_MAILER": RecordingMailer(),
            "SOCIAL_AUTH_SITE_URL": address,
        })

    with serve_site(build, host="localhost") as served:
        yield served


def new_context(browser: Any, base: str) -> Any:
    """A context that reaches only loopback servers (Google's script, say, is refused)."""
    context = browser.new_context(base_url=base)
    context.set_default_timeout(10_000)

    def local_only(route: Any) -> None:
        url = route.request.url
        if url.startswith(("http://localhost:", "http://127.0.0.1:")):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", local_only)
    return context


class Chooser:
    """The browser's FedCM dialogs, seen through CDP."""

    def __init__(self, page: Any) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("FedCm.enable", {"disableRejectionDelay": True})
        self.shown: list[dict[str, Any]] = []
        self.cdp.on("FedCm.dialogShown", lambda event: self.shown.append(event))

    def wait(self, page: Any, count: int = 1) -> dict[str, Any]:
        for _ in range(100):
            if len(self.shown) >= count:
                return self.shown[count - 1]
            page.wait_for_timeout(100)
        raise AssertionError("no FedCM dialog was shown")

    def select(self, dialog: dict[str, Any]) -> None:
        self.cdp.send("FedCm.selectAccount", {"dialogId": dialog["dialogId"], "accountIndex": 0})


def test_passive_fedcm_on_page_load_signs_in_without_a_reload(
    browser: Any, site: tuple[Flask, str], idp: FedcmIdP
):
    app, base = site
    context = new_context(browser, base)
    try:
        page = context.new_page()
        chooser = Chooser(page)
        page.goto(POST)
        dialog = chooser.wait(page)
        assert [a["accountId"] for a in dialog["accounts"]] == ["fed-1"]
        page.evaluate("window.notReloaded = true")
        page.fill("#comment", "Typed while the chooser was up")
        chooser.select(dialog)
        page.locator(".sa-name", has_text="Fran Fedcm").wait_for()
        assert page.evaluate("window.notReloaded") is True
        assert page.input_value("#comment") == "Typed while the chooser was up"
        assert idp.assertions[-1]["mode"] == "passive"
        identity = get_state(app).store.find_identity("corp", "fed-1")
        assert identity is not None and identity.email_verified
    finally:
        context.close()


def test_active_fedcm_from_the_provider_icon(browser: Any, site: tuple[Flask, str], idp: FedcmIdP):
    _, base = site
    context = new_context(browser, base)
    try:
        page = context.new_page()
        chooser = Chooser(page)
        page.goto(POST)
        passive = chooser.wait(page)
        chooser.cdp.send("FedCm.dismissDialog", {"dialogId": passive["dialogId"]})
        page.get_by_role("button", name="Log in with Corp").click()
        dialog = chooser.wait(page, 2)
        chooser.select(dialog)
        page.locator(".sa-name", has_text="Fran Fedcm").wait_for()
        assert idp.assertions[-1]["mode"] == "active"
        assert len(context.pages) == 1  # no popup was opened
    finally:
        context.close()


def test_one_tap_in_javascript_callback_mode_updates_the_block_and_keeps_the_draft(
    browser: Any, site: tuple[Flask, str], idp: FedcmIdP
):
    _, base = site
    context = new_context(browser, base)
    try:
        page = context.new_page()
        page.add_init_script("delete window.IdentityCredential;")  # One Tap alone, no FedCM
        page.goto(POST)
        nonce = page.get_attribute("#g_id_onload", "data-nonce")
        assert page.get_attribute("#g_id_onload", "data-use_fedcm_for_prompt") == "true"
        idp.id_token_claims = {"sub": "g-7", "name": "Gia Google", "email": "gia@example.com",
                               "email_verified": True}
        credential = idp.make_id_token(nonce=nonce)
        page.evaluate("window.notReloaded = true")
        page.fill("#comment", "Kept through One Tap")
        # What Google Identity Services calls with the user's ID token (data-callback).
        page.evaluate("c => window.socialAuthOneTap({credential: c, select_by: 'user'})",
                      credential)
        page.locator(".sa-name", has_text="Gia Google").wait_for()
        assert page.evaluate("window.notReloaded") is True
        assert page.input_value("#comment") == "Kept through One Tap"
    finally:
        context.close()


def test_without_fedcm_the_icon_opens_the_popup(browser: Any, site: tuple[Flask, str]):
    _, base = site
    context = new_context(browser, base)
    try:
        page = context.new_page()
        page.add_init_script("delete window.IdentityCredential;")
        page.goto(POST)
        asked: list[str] = []
        context.on("request", lambda r: asked.append(r.url))
        with page.expect_popup():
            page.get_by_role("button", name="Log in with Corp").click()
        assert any("/auth/login/corp?" in url and "popup=1" in url for url in asked)
        assert not any("/auth/fedcm/" in url for url in asked)
    finally:
        context.close()

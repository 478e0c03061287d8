"""Passkeys in Chromium: the example blog served at ``http://localhost:<port>`` (WebAuthn takes
a domain as RP id, never an IP address) and the DevTools virtual authenticator."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.apps import served_blog_builder
from tests.providers.servers import serve_site

POST = "/posts/sourdough-starter-in-a-week"
NO_CONDITIONAL_UI = (
    "PublicKeyCredential.isConditionalMediationAvailable = async () => false;"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    with serve_site(
        served_blog_builder(tmp_path_factory.mktemp("passkeys"), "passkey-tests-secret-key"),
        host="localhost",
    ) as s:
        yield s


class Authenticator:
    """A CDP virtual authenticator (resident keys, user verification) on one page."""

    def __init__(self, page: Any, transport: str = "internal") -> None:
        self.page = page
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable", {"enableUI": False})
        self.deleted: list[str] = []
        self.cdp.on("WebAuthn.credentialDeleted", lambda e: self.deleted.append(e["credentialId"]))
        options = {
            "protocol": "ctap2",
            "transport": transport,
            "hasResidentKey": True,
            "hasUserVerification": True,
            "isUserVerified": True,
            "automaticPresenceSimulation": True,
        }
        self.id = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})[
            "authenticatorId"
        ]

    def credentials(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.cdp.send(
            "WebAuthn.getCredentials", {"authenticatorId": self.id}
        )["credentials"]
        return found


def b64url(standard: str) -> str:
    """CDP's base64 credential id in the base64url the site stores."""
    return base64.urlsafe_b64encode(base64.b64decode(standard)).rstrip(b"=").decode()


@pytest.fixture
def context(browser: Any, site: tuple[Flask, str]) -> Iterator[Any]:
    _, base = site
    context = browser.new_context(base_url=base)
    context.set_default_timeout(10_000)

    def local_only(route: Any) -> None:
        # The site, and the attacker's pages on other loopback origins; nothing else.
        if route.request.url.startswith(("http://localhost:", "http://evil.localhost:")):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", local_only)
    try:
        yield context
    finally:
        context.close()

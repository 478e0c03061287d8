"""The ``oidc`` and ``google`` adapters against an independent OpenID provider: the npm package
``oidc-provider`` (panva), started on loopback. PKCE is required there; one instance keeps
profile claims only at userinfo, another puts them in the ID token."""

from __future__ import annotations

import html
import os
import re
import selectors
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from social_auth import flow
from social_auth.errors import ProviderError, SignInCancelled
from social_auth.flow import FlowSettings
from social_auth.provider import Provider
from social_auth.store import IdentityStore
from social_auth_providers.google import Google
from social_auth_providers.oidc import OpenIDConnect

from ..conftest import missing_part
from .servers import CALLBACK_BASE

HERE = Path(__file__).resolve().parent.parent / "oidc_provider"
CLIENT_ID, CLIENT_SECRET = "blog", "blog-secret-0123456789"


def start_issuer(conform: bool) -> Iterator[str]:
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "oidc-provider").is_dir():
        missing_part("node or the npm oidc-provider (make oidc-provider) is not installed")
    process = subprocess.Popen(
        [
            node,
            "server.mjs",
            CLIENT_ID,
            CLIENT_SECRET,
            *(CALLBACK_BASE + n for n in ("corp", "google")),
        ],
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "CONFORM": "1" if conform else "0"},
    )
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    try:
        if not selector.select(timeout=20):
            pytest.fail("oidc-provider did not start within 20 s")
        yield process.stdout.readline().strip()
    finally:
        selector.close()
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


@pytest.fixture(scope="module")
def claims_at_userinfo() -> Iterator[str]:
    yield from start_issuer(conform=True)


@pytest.fixture(scope="module")
def claims_in_id_token() -> Iterator[str]:
    yield from start_issuer(conform=False)


def configure(cls: type[Provider], name: str, issuer: str) -> Provider:
    settings = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "server_metadata_url": f"{issuer}/.well-known/openid-configuration",
    }
    if cls is Google:
        settings["issuer"] = issuer
    return cls(name, settings)


def log_in(authorization_url: str, account: str, *, cancel: bool = False) -> dict[str, str]:
    """A browser at oidc-provider's development login and consent pages."""
    with requests.Session() as browser:
        return _walk(browser, authorization_url, account, cancel)


def _walk(browser: requests.Session, url: str, account: str, cancel: bool) -> dict[str, str]:
    form: dict[str, str] | None = None
    for _ in range(12):
        if form is None:
            response = browser.get(url, allow_redirects=False, timeout=5)
        else:
            response = browser.post(url, data=form, allow_redirects=False, timeout=5)
            form = None
        if response.is_redirect:
            url = urljoin(url, response.headers["Location"])
            if url.startswith(CALLBACK_BASE):
                return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
            continue
        page = response.text
        action = re.search(r'<form[^>]*action="([^"]+)"', page)
        prompt = re.search(r'name="prompt" value="(\w+)"', page)
        assert action and prompt, page
        if cancel:
            abort = re.search(r'href="([^"]*abort[^"]*)"', page)
            assert abort, page
            url, cancel = urljoin(url, html.unescape(abort.group(1))), False
            continue
        url = urljoin(url, html.unescape(action.group(1)))
        form = {"prompt": prompt.group(1), "login": account, "password": "any"}
    raise AssertionError("no redirect to the callback")


def sign_in_at(provider: Provider, settings: FlowSettings, account: str, **kw: bool):
    callback = CALLBACK_BASE + provider.instance_name
    started = flow.start(provider, callback, settings=settings, draft="draft")
    params = log_in(started.url, account, **kw)
    return params, flow.finish(provider, started.cookie_value, params, callback, settings=settings)


def test_oidc_adapter_signs_in_with_claims_only_at_userinfo(
    claims_at_userinfo, settings, db: IdentityStore
):
    provider = configure(OpenIDConnect, "corp", claims_at_userinfo)
    params, result = sign_in_at(provider, settings, "ada")
    assert params["iss"] == claims_at_userinfo  # RFC 9207, advertised and sent
    profile = result.profile
    assert (profile.provider, profile.subject, profile.display_name) == ("corp", "ada", "Ada ada")
    assert profile.email == "ada@example.org" and profile.email_verified
    assert profile.username == "ada"
    assert db.sign_in(profile).created


def test_google_adapter_signs_in_with_claims_in_the_id_token(claims_in_id_token, settings):
    provider = configure(Google, "google", claims_in_id_token)
    _, result = sign_in_at(provider, settings, "grace")
    assert result.profile.subject == "grace" and result.profile.email == "grace@example.org"
    assert result.profile.raw["iss"] == claims_in_id_token


def test_google_adapter_completes_claims_from_userinfo(claims_at_userinfo, settings):
    provider = configure(Google, "google", claims_at_userinfo)
    _, result = sign_in_at(provider, settings, "linus")
    assert result.profile.display_name == "Ada linus" and result.profile.email_verified


def test_an_unverified_email_stays_unverified(claims_at_userinfo, settings):
    provider = configure(OpenIDConnect, "corp", claims_at_userinfo)
    _, result = sign_in_at(provider, settings, "unverified-bob")
    assert result.profile.email == "unverified-bob@example.org"
    assert not result.profile.email_verified


def test_cancel_at_the_issuer_is_a_cancel(claims_at_userinfo, settings):
    provider = configure(OpenIDConnect, "corp", claims_at_userinfo)
    with pytest.raises(SignInCancelled) as info:
        sign_in_at(provider, settings, "ada", cancel=True)
    assert info.value.draft == "draft"


def test_an_injected_code_fails_the_issuers_pkce_check(claims_at_userinfo, settings):
    provider = configure(OpenIDConnect, "corp", claims_at_userinfo)
    callback = CALLBACK_BASE + "corp"
    attacker = flow.start(provider, callback, settings=settings)
    stolen_code = log_in(attacker.url, "mallory")["code"]
    victim = flow.start(provider, callback, settings=settings)
    params = dict(log_in(victim.url, "ada"), code=stolen_code)
    with pytest.raises(ProviderError, match="invalid_grant"):
        flow.finish(provider, victim.cookie_value, params, callback, settings=settings)


def test_a_discovery_document_for_another_issuer_is_refused(claims_at_userinfo, settings):
    provider = OpenIDConnect(
        "corp",
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "server_metadata_url": f"{claims_at_userinfo}/.well-known/openid-configuration",
            "issuer": "https://login.example",
        },
    )
    with pytest.raises(ProviderError, match="another issuer"):
        flow.start(provider, CALLBACK_BASE + "corp", settings=settings)

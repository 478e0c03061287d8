"""How the provider side talks HTTP: client authentication at the token endpoint, the
authorization URL, no redirects followed, the provider marked unavailable after a failure, TLS
verified, and proxies from the environment (a real forward proxy on 127.0.0.1, and TLS through
its CONNECT tunnel)."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest

from social_auth.errors import ConfigError, ProviderError
from social_auth.provider import Api, Profile, Provider

from .conftest import callback_url, make_fake, make_provider, oauth2_endpoints, sign_in
from .proxy import ForwardProxy, LocalCA
from .servers import FakeProvider, s256

ME = {"id": 7, "name": "Ann"}
#: A client secret with every kind of character RFC 6749 §2.3.1's form-urlencoding changes.
ODD_SECRET = "s3cr:t+/=&% é"


@pytest.fixture(autouse=True)
def no_proxy_or_ca_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            monkeypatch.delenv(name)


class Plain(Provider):
    """A plain OAuth 2.0 adapter; each test picks its token endpoint authentication."""

    name = "plain"
    protocol = "oauth2"
    scope = "profile"

    def profile(self, token: Mapping[str, Any], api: Api) -> Profile:
        me = api.get_json("me")
        return Profile(provider=self.instance_name, subject=str(me["id"]), display_name=me["name"])


def plain(fake: FakeProvider, method: str) -> Provider:
    adapter = type("Plain", (Plain,), {"token_endpoint_auth_method": method})
    settings = {**oauth2_endpoints(fake.base_url), "client_secret": fake.client_secret}
    return adapter("plain", settings)


def token_call(fake: FakeProvider) -> tuple[dict[str, str], dict[str, str]]:
    """The token request's headers and form."""
    headers = next(h for path, h, _ in fake.headers_seen if path == "/token")
    return headers, dict(fake.requests_seen)["token"]


# -- the token request ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post", "none"])
def test_each_client_authentication_method_is_accepted_by_the_token_endpoint(method, settings):
    fake = FakeProvider(auth_method=method, client_secret=ODD_SECRET, api={"me": ME})
    with fake.running():
        provider = plain(fake, method)
        assert sign_in(provider, settings).profile.subject == "7"
    headers, form = token_call(fake)
    assert form["grant_type"] == "authorization_code"
    assert form["redirect_uri"] == callback_url(provider) and len(form["code_verifier"]) >= 43
    if method == "client_secret_basic":
        # RFC 6749 §2.3.1: id and secret each form-urlencoded, then joined and base64-encoded.
        credentials = base64.b64decode(headers["Authorization"].removeprefix("Basic "))
        assert credentials.decode() == f"client-1:{quote_plus(ODD_SECRET)}"
        assert "client_id" not in form and "client_secret" not in form
    elif method == "client_secret_post":
        assert "Authorization" not in headers
        assert (form["client_id"], form["client_secret"]) == ("client-1", ODD_SECRET)
    else:
        assert "Authorization" not in headers and "client_secret" not in form
        assert form["client_id"] == "client-1"


def test_an_adapter_with_a_client_authentication_we_do_not_do_is_refused_at_init():
    adapter = type("Plain", (Plain,), {"token_endpoint_auth_method": "private_key_jwt"})
    with pytest.raises(ConfigError, match="token_endpoint_auth_method"):
        adapter("plain", {"client_id": "c", "client_secret": "s"})


def test_a_client_authenticating_another_way_than_the_server_expects_is_refused(settings):
    fake = FakeProvider(auth_method="client_secret_basic", api={"me": ME})
    with (
        fake.running(),
        pytest.raises(ProviderError, match=r"refused the sign-in \(invalid_client\)"),
    ):
        sign_in(plain(fake, "client_secret_post"), settings)


def test_a_redirect_from_the_token_endpoint_is_not_followed(settings):
    fake = make_fake("github")
    fake.faults["token"] = "redirect"
    with fake.running(), pytest.raises(ProviderError, match="unreadably") as info:
        sign_in(make_provider("github", fake), settings)
    assert info.value.status == 502
    assert "elsewhere" not in dict(fake.requests_seen)  # the code and secret stayed home


def test_a_failed_call_marks_the_provider_unavailable_until_one_succeeds(settings):
    fake = make_fake("github")
    fake.faults["token"] = "500"
    with fake.running():
        provider = make_provider("github", fake)
        with pytest.raises(ProviderError, match="could not be reached or refused"):
            sign_in(provider, settings)
        assert not provider.available
        del fake.faults["token"]
        sign_in(provider, settings)
        assert provider.available


# -- the authorization URL -----------------------------------------------------------------------


def test_the_authorization_url_carries_the_protocol_and_extras_cannot_replace_it():
    class WithExtras(Plain):
        authorize_params = {
            "prompt": "consent",
            "state": "forged",
            "redirect_uri": "https://evil.example/",
            "code_challenge_method": "plain",
        }

    settings = {"client_id": "blog client", "client_secret": "s"}
    provider = WithExtras("plain", {**settings, "authorize_url": "https://id.example/a?t=blog"})
    verifier = "v" * 43
    request = provider.authorization_request("https://blog.example/cb", "st", verifier, "n")
    url = urlsplit(request.url)
    assert (url.scheme, url.netloc, url.path) == ("https", "id.example", "/a")
    assert {k: v for k, [v] in parse_qs(url.query).items()} == {
        "t": "blog",
        "prompt": "consent",
        "response_type": "code",
        "client_id": "blog client",
        "redirect_uri": "https://blog.example/cb",
        "scope": "profile",
        "state": "st",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    assert request.state == "st"


# -- TLS -----------------------------------------------------------------------------------------


def test_a_provider_certificate_nobody_vouches_for_is_refused(tmp_path: Path):
    fake = make_fake("github")
    fake.ssl_context = LocalCA(tmp_path).server_context()  # a CA this process does not trust
    with fake.running():
        provider = make_provider("github", fake)
        with pytest.raises(ProviderError, match="could not be reached") as info:
            provider.complete(
                {"code": "c"}, callback_url(provider), code_verifier="v" * 43, nonce="", extra={}
            )
    assert info.value.status == 502
    assert "token" not in dict(fake.requests_seen)


# -- proxies from the environment ----------------------------------------------------------------


def provider_calls(proxy: ForwardProxy) -> list[tuple[str, str, int]]:
    """What the proxy carried for the provider instance (not the test's browser stand-in)."""
    return [(m, urlsplit(t).path, port) for m, t, port in proxy.seen if "/authorize" not in t]


def test_http_proxy_carries_every_call_over_one_kept_alive_connection(monkeypatch, settings):
    proxy = ForwardProxy()
    with proxy.running() as address, make_fake("github").running() as fake:
        monkeypatch.setenv("HTTP_PROXY", f"http://{address}")
        provider = make_provider("github", fake)
        sign_in(provider, settings)
        assert sign_in(provider, settings).profile.subject == "583231"
    calls = provider_calls(proxy)
    assert [(m, path) for m, path, _ in calls] == [
        ("POST", "/token"),
        ("GET", "/api/user"),
        ("GET", "/api/user/emails"),
    ] * 2
    assert len({port for *_, port in calls}) == 1
    assert all(t.startswith(fake.base_url) for _, t, _ in proxy.seen)


def test_no_proxy_sends_the_hosts_it_names_direct_and_the_others_through_the_proxy(
    monkeypatch, settings
):
    proxy = ForwardProxy()
    with proxy.running() as address, make_fake("github").running() as fake:
        monkeypatch.setenv("http_proxy", f"http://{address}")
        monkeypatch.setenv("no_proxy", "example.org, localhost")
        port = urlsplit(fake.base_url).port
        provider = make_provider("github", fake, api_base_url=f"http://localhost:{port}/api/")
        assert sign_in(provider, settings).profile.subject == "583231"
    assert [(m, path) for m, path, _ in provider_calls(proxy)] == [("POST", "/token")]
    api_hosts = {h["Host"] for path, h, _ in fake.headers_seen if path.startswith("/api/")}
    assert api_hosts == {f"localhost:{port}"}  # arrived, directly


def test_no_proxy_accepts_ip_networks(monkeypatch, settings):
    proxy = ForwardProxy()
    with proxy.running() as address, make_fake("github").running() as fake:
        monkeypatch.setenv("HTTP_PROXY", f"http://{address}")
        monkeypatch.setenv("NO_PROXY", "10.0.0.0/8,127.0.0.0/8")
        assert sign_in(make_provider("github", fake), settings).profile.subject == "583231"
    assert provider_calls(proxy) == []


def test_https_proxy_with_credentials_tunnels_to_a_verified_tls_provider(
    tmp_path: Path, monkeypatch, settings
):
    ca = LocalCA(tmp_path)
    fake = make_fake("github")
    fake.ssl_context = ca.server_context()
    proxy = ForwardProxy(credentials="blog:p@ss word")
    with proxy.running() as address, fake.running():
        monkeypatch.setenv("HTTPS_PROXY", f"http://blog:p%40ss%20word@{address}")
        # What sites set for requests to trust their own CA; the browser stand-in uses it too.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca.ca_file))
        provider = make_provider("github", fake)
        assert sign_in(provider, settings).profile.subject == "583231"
    tunnels = {target for method, target, _ in proxy.seen if method == "CONNECT"}
    assert tunnels == {urlsplit(fake.base_url).netloc}
    assert [path for path, _, _ in fake.headers_seen] == [
        "/authorize",
        "/token",
        "/api/user",
        "/api/user/emails",
    ]

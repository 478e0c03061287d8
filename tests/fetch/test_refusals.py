"""What the safe fetcher refuses with the address rule on (the default): non-public addresses
after resolution, redirects to them, and anything but http(s). Each refusal names its reason
and nothing reaches the address."""

from __future__ import annotations

import ipaddress

import pytest

from social_auth.errors import FetchRefused
from social_auth.fetch import SafeFetcher, is_public

from .conftest import Names, OnlyThisServer

STRICT = SafeFetcher()


def refused(fetcher: SafeFetcher, url: str) -> FetchRefused:
    with pytest.raises(FetchRefused) as caught:
        fetcher.get(url)
    return caught.value


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",  # the cloud metadata service
        "100.64.0.1",  # shared address space (carrier-grade NAT)
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "2002:7f00:1::",  # 6to4 around 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 around 169.254.169.254
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    ],
)
def test_non_public_addresses_are_not_public(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_public(address):
    assert is_public(ipaddress.ip_address(address))


def test_a_loopback_address_is_refused_before_any_connection(site):
    local, base = site
    reason = refused(STRICT, f"{base}/ok")
    assert reason.reason == "address" and reason.status == 400
    assert local.seen == []


def test_a_name_resolving_to_loopback_is_refused_after_resolution(site):
    local, base = site
    port = base.rsplit(":", 1)[1]
    assert refused(STRICT, f"http://localhost:{port}/ok").reason == "address"
    assert refused(STRICT, f"http://[::ffff:127.0.0.1]:{port}/ok").reason == "address"
    assert local.seen == []


def test_a_name_with_one_private_address_among_public_ones_is_refused(site):
    _, base = site
    port = base.rsplit(":", 1)[1]
    table = {"mixed.test": [ipaddress.ip_address("1.1.1.1"), ipaddress.ip_address("10.0.0.1")]}
    assert refused(Names(table), f"http://mixed.test:{port}/ok").reason == "address"


@pytest.mark.parametrize(
    "target", ["http://127.0.0.1:{other}/ok", "http://169.254.169.254/latest/meta-data/"]
)
def test_a_redirect_to_a_private_address_is_refused(site, target):
    local, base = site
    port = int(base.rsplit(":", 1)[1])
    fetcher = OnlyThisServer(port)
    assert fetcher.get(f"{base}/ok").ok  # the starting server itself is reachable
    url = target.format(other=port + 1)
    reason = refused(fetcher, f"{base}/to?url={url}")
    assert reason.reason == "address"
    assert [path.split("?")[0] for path, _ in local.seen] == ["/ok", "/to"]


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "file:///etc/passwd", "gopher://example.com/", "javascript:alert(1)",
     "http://user:pass@example.com/", "http:///nohost", "http://exa mple.com/"],
)
def test_anything_but_a_plain_http_url_is_refused(url):
    assert refused(STRICT, url).reason == "scheme"


def test_a_redirect_to_another_scheme_is_refused(site):
    _, base = site
    fetcher = OnlyThisServer(int(base.rsplit(":", 1)[1]))
    assert refused(fetcher, f"{base}/to?url=file:///etc/passwd").reason == "scheme"

"""The local server the fetcher tests reach (real sockets on 127.0.0.1), and fetchers."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from social_auth.fetch import IPAddress, SafeFetcher
from tests.providers.servers import serve

from .servers import Site


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            monkeypatch.delenv(name)


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    local = Site()
    with serve(local.app()) as url:
        yield local, url


class OnlyThisServer(SafeFetcher):
    """The real address rule, except for the one local server a test starts from, so what
    that server redirects to is judged by the rule itself."""

    def __init__(self, port: int, **options: float) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.port = port

    def allows(self, ip: IPAddress, port: int) -> bool:
        if str(ip) == "127.0.0.1" and port == self.port:
            return True
        return super().allows(ip, port)


class Names(SafeFetcher):
    """A fetcher whose name lookups come from a table (a DNS of the test's own), counted."""

    def __init__(self, table: dict[str, list[IPAddress]], **options: bool) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.table = table
        self.lookups: list[str] = []

    def resolve(self, host: str, port: int, seconds: float) -> list[IPAddress]:
        self.lookups.append(host)
        return list(self.table[host])

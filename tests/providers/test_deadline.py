"""The deadline on a whole provider call, against bare socket servers on 127.0.0.1: it cuts a
call wherever the provider stalls (status line, headers, body; plain or TLS; on a fresh or a
kept-alive connection), the cut connection never goes back into the pool, and a deadline
never touches a call that finished in time."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from social_auth.errors import ProviderError
from social_auth.provider import Api, Profile, Provider

from .proxy import LocalCA
from .servers import Trickle, http_answer

ME = json.dumps({"id": 7, "name": "Ann", "padding": "x" * 40}).encode()
ANSWER = http_answer(ME)
HEAD = len(ANSWER) - len(ME)


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            monkeypatch.delenv(name)


class Plain(Provider):
    name = "plain"

    def profile(self, token: Mapping[str, Any], api: Api) -> Profile:
        raise NotImplementedError  # only ``get_json`` is called here


def plain(timeout: float) -> Provider:
    return Plain("plain", {"client_id": "c", "client_secret": "s", "timeout": timeout})


def get(provider: Provider, base: str) -> Any:
    return provider.get_json(f"{base}/me", {"access_token": "t"})


def cut_off(provider: Provider, base: str) -> bool:
    try:
        get(provider, base)
    except ProviderError as exc:
        assert (exc.status, exc.message) == (504, "plain did not answer in time.")
        return True
    return False


@pytest.mark.parametrize("fast", [0, HEAD - 5, HEAD], ids=["status-line", "headers", "body"])
def test_a_call_is_cut_at_its_deadline_wherever_the_provider_stalls(fast):
    # 0.2 s a byte is well within the 0.5 s read timeout: only the deadline ends the call.
    slow = Trickle(ANSWER, fast=fast, delay=0.2)
    with slow.running() as base:
        assert cut_off(plain(timeout=0.5), base)
    assert (slow.requests, slow.answered) == (1, 0)


def test_a_stalled_call_on_a_kept_alive_connection_is_cut_and_the_next_call_reconnects():
    slow = Trickle(ANSWER, delay=0.2, slow=frozenset({2}))
    provider = plain(timeout=0.5)
    with slow.running() as base:
        assert get(provider, base)["id"] == 7
        assert cut_off(provider, base)  # request 2, on the connection request 1 left open
        assert get(provider, base)["id"] == 7
        assert get(provider, base)["id"] == 7
    # The cut connection never went back into the pool; the new one is kept alive.
    assert (slow.connections, slow.requests, slow.answered) == (2, 4, 3)


def test_a_call_is_cut_at_its_deadline_over_tls(tmp_path: Path, monkeypatch):
    ca = LocalCA(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca.ca_file))
    slow = Trickle(ANSWER, delay=0.2, slow=frozenset({1}), ssl_context=ca.server_context())
    provider = plain(timeout=0.5)
    with slow.running() as base:
        assert cut_off(provider, base)
        assert get(provider, base)["id"] == 7
    assert (slow.connections, slow.answered) == (2, 1)


def test_deadlines_of_finished_calls_never_cut_the_calls_after_them():
    # Calls back to back on one kept-alive connection for twice the timeout: the deadlines of
    # the first ones pass while later ones are using that connection.
    quick = Trickle(ANSWER, slow=frozenset())
    provider = plain(timeout=0.05)
    with quick.running() as base:
        for _ in range(300):
            assert get(provider, base)["id"] == 7
    assert quick.connections == 1 and quick.answered == 300

"""The size cap on every provider answer (``MAX_ANSWER_BYTES``, 1 MiB), on the wire: a declared
length over it is refused before the body, a chunked or compressed answer as soon as it passes
it, and an answer just under it is read whole."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Request, Response

from social_auth.errors import ProviderError
from social_auth.provider.transport import MAX_ANSWER_BYTES

from .servers import FakeProvider, Trickle
from .test_deadline import plain

TOO_LARGE = "plain answered with more than 1 MiB."


def get(base: str, path: str = "/me", timeout: float = 5.0) -> Any:
    return plain(timeout).get_json(f"{base}{path}", {"access_token": "t"})


def test_the_cap_is_one_mebibyte():
    assert MAX_ANSWER_BYTES == 1024 * 1024


def test_a_declared_length_over_the_cap_is_refused_before_its_body_arrives():
    # The body never comes: reading it would wait for the deadline (a 504), not refuse (502).
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 67108864\r\n\r\n"
    stalled = Trickle(head + b'{"a": "' + b"a" * 100, fast=len(head) + 7, delay=60)
    with stalled.running() as base, pytest.raises(ProviderError) as info:
        get(base)
    assert (info.value.status, info.value.message) == (502, TOO_LARGE)


def test_a_compressed_answer_is_refused_once_its_decompressed_size_passes_the_cap():
    # 64 MiB of JSON in 64 KiB of gzip: what counts is what it would take in memory.
    bomb = gzip.compress(b'{"a": "' + b"a" * (64 * 1024 * 1024) + b'"}', compresslevel=9)
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        f"Content-Length: {len(bomb)}\r\n\r\n"
    ).encode()
    whole = Trickle(head + bomb, fast=len(head) + len(bomb))
    with whole.running() as base, pytest.raises(ProviderError) as info:
        get(base)
    assert (info.value.status, info.value.message) == (502, TOO_LARGE)


def just_under_the_cap() -> dict[str, str]:
    return {"id": "7", "name": "x" * (MAX_ANSWER_BYTES - 100)}


def streamed(request: Request, token: str) -> Response:
    text = json.dumps(just_under_the_cap()).encode()

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked on the wire
        for start in range(0, len(text), 50_000):
            yield text[start : start + 50_000]

    return Response(chunks(), mimetype="application/json")


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_an_answer_just_under_the_cap_is_read_whole(framing):
    fake = FakeProvider(api={"me": just_under_the_cap() if framing != "chunked" else streamed})
    with fake.running():
        fake.tokens["t"] = {}
        assert get(fake.base_url, "/api/me") == just_under_the_cap()

"""A local image server answering each accepted format and each hostile answer, and a
test-only fetcher (urllib3, one deadline, a size cap) used until ``fetch.SafeFetcher`` lands."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import urllib3
from flask import Flask, Response, redirect

from social_auth.errors import AvatarRefused

from .images import HTML, SVG, bomb, picture, polyglot

FIFTY_MB = 50 * 1024 * 1024


def image_app() -> Flask:
    app = Flask("images")
    answers: dict[str, tuple[bytes, str]] = {
        "png": (picture("PNG"), "image/png"),
        "jpeg": (picture("JPEG", red=120), "image/jpeg"),
        "gif": (picture("GIF", red=60), "image/gif"),
        "webp": (picture("WEBP", red=250), "image/webp"),
        # The header says image; the content decides.
        "svg": (SVG, "image/png"),
        "html": (HTML, "image/jpeg"),
        "polyglot": (polyglot(), "text/html"),
        "bomb": (bomb(), "image/png"),
    }

    @app.get("/<name>")
    def answer(name: str) -> Any:
        if name == "huge":
            chunk = b"\x89PNG\r\n\x1a\n" + b"\x00" * (64 * 1024 - 8)
            return Response((chunk for _ in range(FIFTY_MB // len(chunk))), mimetype="image/png")
        if name == "slow":
            def trickle() -> Iterator[bytes]:
                for byte in picture("PNG"):
                    time.sleep(0.05)
                    yield bytes([byte])
            return Response(trickle(), mimetype="image/png")
        if name == "to-loopback":
            return redirect("http://127.0.0.1:9/png")
        if name not in answers:
            return Response("no such picture", status=404)
        data, mime = answers[name]
        return Response(data, mimetype=mime)

    return app


@dataclass
class Answer:
    status: int
    body: bytes


class LocalFetcher:
    """Test-only: what the fetcher promises (deadline, size cap), over plain urllib3."""

    def __init__(self, deadline: float = 2.0) -> None:
        self.deadline = deadline
        self.http = urllib3.PoolManager()
        self.fetched: list[str] = []

    def get(self, url: str, *, headers: Mapping[str, str] | None = None,
            max_bytes: int | None = None, deadline: float | None = None) -> Answer:
        self.fetched.append(url)
        ends = time.monotonic() + (deadline or self.deadline)
        response = self.http.request("GET", url, headers=dict(headers or {}), redirect=False,
                                     preload_content=False, timeout=urllib3.Timeout(1.0))
        body = bytearray()
        try:
            for chunk in response.stream(64 * 1024):
                body += chunk
                if max_bytes is not None and len(body) > max_bytes:
                    raise AvatarRefused("too_large", "too large")
                if time.monotonic() > ends:
                    raise AvatarRefused("too_slow", "too slow")
        finally:
            response.release_conn()
        return Answer(response.status, bytes(body))

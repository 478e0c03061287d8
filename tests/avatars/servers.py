"""A local image server answering each accepted format and each hostile answer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, redirect, request

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

    hits: list[str] = []
    app.config["hits"] = hits

    @app.get("/<name>")
    def answer(name: str) -> Any:
        hits.append(request.path)
        if name == "huge":
            chunk = b"\x89PNG\r\n\x1a\n" + b"\x00" * (64 * 1024 - 8)
            return Response((chunk for _ in range(FIFTY_MB // len(chunk))), mimetype="image/png")
        if name == "slow":
            def trickle() -> Iterator[bytes]:
                for byte in picture("PNG"):
                    time.sleep(0.05)
                    yield bytes([byte])
            return Response(trickle(), mimetype="image/png")
        if len(name) == 64 and name in app.config.get("gravatars", ()):  # /<sha256 of email>
            return Response(picture("PNG", red=10), mimetype="image/png")
        if name == "to-loopback":
            return redirect("http://127.0.0.1:9/png")
        if name not in answers:
            return Response("no such picture", status=404)
        data, mime = answers[name]
        return Response(data, mimetype=mime)

    return app

"""A local server for the safe fetcher's tests: plain answers, redirects (chains, to
anywhere), a 50 MB answer streamed without a length, and a form echo."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from flask import Flask, Response, jsonify, redirect, request

#: The ``huge`` answer: 50 MB, streamed in 64 KiB chunks without a Content-Length.
HUGE_BYTES = 50 * 1000 * 1000
CHUNK = 64 * 1024


@dataclass
class Site:
    """What the test server saw: each request's path and ``Host`` header."""

    seen: list[tuple[str, str]] = field(default_factory=list)
    huge_sent: int = 0

    def app(self) -> Flask:
        app = Flask(__name__)

        @app.before_request
        def record() -> None:
            self.seen.append((request.full_path.rstrip("?"), request.headers.get("Host", "")))

        @app.get("/ok")
        def ok() -> Response:
            response = jsonify(hello="world")
            response.headers["X-Thing"] = "yes"
            response.headers.add("Link", '<https://a.example/>; rel="one"')
            response.headers.add("Link", '<https://b.example/>; rel="two"')
            return response

        @app.get("/missing")
        def missing() -> tuple[str, int]:
            return "not here", 404

        @app.get("/to")
        def to() -> Response:
            return redirect(request.args["url"], code=int(request.args.get("code", 302)))

        @app.get("/chain/<int:n>")
        def chain(n: int) -> Response:
            if n == 0:
                return jsonify(end=True)
            return redirect(f"/chain/{n - 1}")

        @app.route("/echo", methods=["POST"])
        def echo() -> Response:
            return jsonify(form=request.form.to_dict(), type=request.content_type)

        @app.route("/moved", methods=["POST"])
        def moved() -> Response:
            return redirect("/echo", code=307)

        @app.get("/huge")
        def huge() -> Response:
            def body() -> Iterator[bytes]:
                block = b"x" * CHUNK
                while self.huge_sent < HUGE_BYTES:
                    self.huge_sent += len(block)
                    yield block

            return Response(body(), mimetype="application/octet-stream")

        return app

"""A local Akismet for tests and benchmarks: real HTTP on 127.0.0.1, the documented form API.

``comment-check`` answers ``true`` (spam) or ``false`` (ham), with ``X-akismet-pro-tip:
discard`` for blatant spam; ``invalid`` with ``X-akismet-debug-help`` for a bad key; the
documented test triggers work (author ``akismet-guaranteed-spam`` or that address is spam,
``user_role=administrator`` is ham). ``mode`` makes it misbehave: ``spam``, ``discard``,
``ham`` (the answer for any other comment), ``slow`` (waits ``delay`` seconds first), ``500``,
``garbage`` (an HTML page). ``down()`` gives an address where nothing listens.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import Flask, Response, request
from werkzeug.serving import make_server

VALID_KEY = "akismet-test-key"
THANKS = "Thanks for making the web a better place."
SPAM_AUTHOR = "akismet-guaranteed-spam"
SPAM_EMAIL = "akismet-guaranteed-spam@example.com"


@dataclass
class FakeAkismet:
    key: str = VALID_KEY
    #: ``ham`` (default answer), ``spam``, ``discard``, ``slow``, ``500``, ``garbage``.
    mode: str = "ham"
    delay: float = 10.0
    #: Every call: (endpoint, its form fields).
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    url: str = ""
    release: threading.Event = field(default_factory=threading.Event)
    #: Keep connections open between calls (as Akismet does); off, each answer closes its
    #: connection, so a test run does not pile up idle sockets on either side.
    keep_alive: bool = False

    def calls(self, endpoint: str) -> list[dict[str, str]]:
        return [form for name, form in self.seen if name == endpoint]

    def app(self) -> Flask:
        app = Flask(__name__)
        app.add_url_rule(
            "/1.1/<endpoint>", view_func=self.endpoint, methods=["POST"]
        )
        return app

    def endpoint(self, endpoint: str) -> Response:
        form = request.form.to_dict()
        self.seen.append((endpoint, form))
        if self.mode == "slow":
            self.release.wait(self.delay)
        if self.mode == "500":
            return Response("Service Unavailable", status=500)
        if self.mode == "garbage":
            return Response("<html><body>Oops</body></html>", content_type="text/html")
        if endpoint == "verify-key":
            return self.text("valid" if form.get("api_key") == self.key else "invalid")
        if form.get("api_key") != self.key:
            return self.text("invalid", {"X-akismet-debug-help": "We were unable to parse your "
                                         "blog URI or API key."})
        for required in ("blog", "user_ip"):
            if not form.get(required):
                return self.text(f"Missing required field: {required}.",
                                 {"X-akismet-debug-help": f"Missing {required}"})
        if endpoint in ("submit-spam", "submit-ham"):
            return self.text(THANKS)
        if endpoint != "comment-check":
            return Response("Not found", status=404)
        return self.check(form)

    def check(self, form: dict[str, str]) -> Response:
        if form.get("user_role") == "administrator":
            return self.text("false")
        triggered = SPAM_AUTHOR in (form.get("comment_author"), form.get("comment_author_email",
                                                                         "").split("@")[0])
        if triggered or self.mode == "spam":
            return self.text("true")
        if self.mode == "discard":
            return self.text("true", {"X-akismet-pro-tip": "discard"})
        return self.text("false")

    def text(self, body: str, headers: dict[str, str] | None = None) -> Response:
        extra = {} if self.keep_alive else {"Connection": "close"}
        return Response(body, content_type="text/plain; charset=utf-8",
                        headers={**extra, **(headers or {})})

    @contextmanager
    def running(self) -> Iterator[FakeAkismet]:
        server = make_server("127.0.0.1", 0, self.app(), threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.url = f"http://127.0.0.1:{server.server_port}"
        try:
            yield self
        finally:
            self.release.set()  # a "slow" answer still waiting gives up now
            server.shutdown()
            thread.join(5)
            server.server_close()


def down() -> str:
    """An address on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"

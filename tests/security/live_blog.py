"""The example blog under a real HTTP server, and browsers (``requests`` sessions) driving it:
for the mailed-link tests, where two people's browsers and a real mailbox meet."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import make_server

from tests.apps import make_full_blog
from tests.smtp import Inbox

SLUG = "sourdough-starter-in-a-week"
TOKEN = re.compile(r"/auth/email/verify\?token=([A-Za-z0-9_-]+)")


@contextmanager
def live_blog(tmp_path: Path, smtp_port: int, **config: Any) -> Iterator[tuple[str, Flask]]:
    """The full blog (dev provider included) at http://127.0.0.1:<port>, its site address,
    mailing through the SMTP server at ``smtp_port``."""
    apps: list[Flask] = []
    server = make_server(
        "127.0.0.1", 0, lambda environ, start: apps[0](environ, start), threaded=True
    )
    base = f"http://127.0.0.1:{server.server_port}"
    apps.append(
        make_full_blog(
            tmp_path,
            SOCIAL_AUTH_SITE_URL=base,
            SOCIAL_AUTH_MAILER="smtp",
            SOCIAL_AUTH_MAIL_SERVER="127.0.0.1",
            SOCIAL_AUTH_MAIL_PORT=smtp_port,
            SOCIAL_AUTH_MAIL_SENDER="blog@example.org",
            **config,
        )
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base, apps[0]
    finally:
        server.shutdown()
        thread.join()


class Browser:
    """One person's browser: its own cookies, following nothing by itself."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()

    def get(self, path: str, **params: str) -> requests.Response:
        return self.http.get(
            self.base + path, params=params, allow_redirects=False, timeout=10
        )

    def post(self, path: str, **form: str) -> requests.Response:
        return self.http.post(
            self.base + path,
            data={"csrf_token": self.me()["csrf_token"], **form},
            allow_redirects=False,
            timeout=10,
        )

    def me(self) -> dict[str, Any]:
        body: dict[str, Any] = self.http.get(f"{self.base}/auth/me", timeout=10).json()
        return body

    def commenter_id(self) -> str | None:
        commenter = self.me()["commenter"]
        return commenter["id"] if commenter else None

    def comment_as_guest(self, name: str, email: str, text: str = "A comment") -> None:
        done = self.post(f"/posts/{SLUG}/comments", name=name, email=email, comment=text)
        assert done.status_code == 302, done.text

    def dev_sign_in(self, subject: str, name: str, email: str, *, verified: bool) -> None:
        """Sign in through the dev provider's pages; ``verified`` ticks its email box."""
        started = self.post("/auth/login/dev", next="/")
        assert started.status_code == 302, started.text
        page = self.http.get(started.headers["Location"], timeout=10)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None, page.text
        form = {"csrf_token": token.group(1), "action": "sign_in", "subject": subject,
                "name": name, "email": email}  # fmt: skip
        if verified:
            form["email_verified"] = "on"
        approved = self.http.post(
            started.headers["Location"], data=form, allow_redirects=False, timeout=10
        )
        assert approved.status_code == 302, approved.text
        done = self.http.get(approved.headers["Location"], allow_redirects=False, timeout=10)
        assert done.status_code == 302, done.text

    def ask_for_link(self, email: str = "") -> requests.Response:
        return self.post("/auth/email/start", **({"email": email} if email else {}))

    def open_link(self, token: str) -> requests.Response:
        return self.get("/auth/email/verify", token=token)

    def confirm(self, token: str) -> requests.Response:
        return self.post("/auth/email/verify", token=token)


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def newest_mail(inbox: Inbox, count: int) -> tuple[Message, str, str]:
    """The ``count``-th message to arrive: the message, its body, and its link's token."""
    message = inbox.wait_for(count)[count - 1]
    body = body_of(message)
    found = TOKEN.search(body)
    assert found is not None, body
    return message, body, found.group(1)

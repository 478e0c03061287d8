"""A host route that never touches the commenter runs (almost) nothing of ours.

The benchmark measures the cost (``anonymous_overhead_ratio_vs_plain_flask``); this test says
why it is small, and fails when an app-wide hook creeps back: it records every function of
``social_auth`` and of the example blog that runs while a host route answers.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from flask import Flask

from tests.apps import admin_app
from tests.blog.test_blog import blog


@contextmanager
def functions_called(*packages: str) -> Iterator[set[str]]:
    """Names (``module.function``) of the functions of ``packages`` called in the block."""
    called: set[str] = set()

    def record(frame: FrameType, event: str, _arg: Any) -> None:
        if event == "call":
            module = frame.f_globals.get("__name__", "")
            if module.split(".")[0] in packages:
                called.add(f"{module}.{frame.f_code.co_name}")

    sys.setprofile(record)
    try:
        yield called
    finally:
        sys.setprofile(None)


def host_route(app: Flask) -> Flask:
    @app.get("/host/plain")
    def plain() -> str:
        return "a page of the host"

    return app


def test_a_host_route_runs_only_the_prefix_test(tmp_path: Path):
    app = host_route(admin_app(tmp_path))
    client = app.test_client()
    client.get("/host/plain")  # warm: first requests may import or compile
    with functions_called("social_auth") as called:
        response = client.get("/host/plain")
    assert response.status_code == 200
    assert called == {"social_auth.extension.our_urls"}


def test_a_blog_route_runs_none_of_the_blogs_owner_hooks(tmp_path: Path):
    app = host_route(blog(tmp_path, BLOG_ADMIN_PASSWORD="owner-password"))
    client = app.test_client()
    client.get("/host/plain")
    with functions_called("social_auth", "examples") as called:
        response = client.get("/host/plain")
    assert response.status_code == 200
    assert called == {"social_auth.extension.our_urls"}


def test_admin_answers_still_forbid_framing_when_no_route_matches(tmp_path: Path):
    app = host_route(admin_app(tmp_path))
    client = app.test_client()
    for method, url, status in (("GET", "/auth/admin/no-such-page", 404),
                                ("PUT", "/auth/admin/", 405)):
        response = client.open(url, method=method)
        assert response.status_code == status
        assert response.headers["X-Frame-Options"] == "DENY"
    assert "X-Frame-Options" not in client.get("/host/plain").headers

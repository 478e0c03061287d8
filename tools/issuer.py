"""The npm oidc-provider as an OpenID issuer on a loopback port, and a browser's walk through it.

The load test and the sign-in benchmarks both drive real sign-ins against it. The node server
itself lives in ``tests/oidc_provider`` (``make oidc-provider`` installs it there).
"""

from __future__ import annotations

import html
import os
import re
import selectors
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import requests

ROOT = Path(__file__).resolve().parents[1]
OIDC_DIR = ROOT / "tests" / "oidc_provider"
CLIENT_ID, CLIENT_SECRET = "blog", "blog-secret-0123456789"
REQUEST_TIMEOUT = 20.0


class Unavailable(RuntimeError):
    """A part the run needs (node, oidc-provider, PostgreSQL, gunicorn) is missing."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def issuer(*redirect_uris: str) -> Iterator[str]:
    """The npm oidc-provider on a loopback port; yields its issuer URL."""
    node = shutil.which("node")
    if node is None or not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        raise Unavailable("node or the npm oidc-provider (make oidc-provider) is not installed")
    process = subprocess.Popen(
        [node, "server.mjs", CLIENT_ID, CLIENT_SECRET, *redirect_uris],
        cwd=OIDC_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "CONFORM": "1"},
    )
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    try:
        if not selector.select(timeout=20):
            raise Unavailable("oidc-provider did not start within 20 s")
        yield process.stdout.readline().strip()
    finally:
        selector.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        process.stdout.close()


def walk_issuer(browser: requests.Session, url: str, account: str, callback_prefix: str) -> str:
    """The issuer's development login and consent pages; returns the callback URL."""
    form: dict[str, str] | None = None
    for _ in range(12):
        if form is None:
            response = browser.get(url, allow_redirects=False, timeout=REQUEST_TIMEOUT)
        else:
            response = browser.post(url, data=form, allow_redirects=False, timeout=REQUEST_TIMEOUT)
            form = None
        if response.is_redirect:
            url = urljoin(url, response.headers["Location"])
            if url.startswith(callback_prefix):
                return url
            continue
        page = response.text
        action = re.search(r'<form[^>]*action="([^"]+)"', page)
        prompt = re.search(r'name="prompt" value="(\w+)"', page)
        if not action or not prompt:
            raise AssertionError(f"unexpected issuer page ({response.status_code})")
        url = urljoin(url, html.unescape(action.group(1)))
        form = {"prompt": prompt.group(1), "login": account, "password": "any"}
    raise AssertionError("the issuer never sent the browser back")

"""Finding 3: a mailed link's token never reaches a shipped log. It travels in the query of the
page (``GET /auth/email/verify?token=…``) and the body of the confirming POST; gunicorn's
shipped format (``examples/blog/gunicorn.conf.py``) prints only paths, and the development
server's request log (Werkzeug's, ``make run``) has the token redacted by the extension."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.smtp import Inbox, smtp_server

from .live_blog import Browser, live_blog, newest_mail

__all__ = ["smtp_server"]  # the fixture, used by name

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CONFIG = ROOT / "examples" / "blog" / "gunicorn.conf.py"


def confirm_by_mail(browser: Browser, inbox: Inbox) -> str:
    """A guest asks for a link and confirms it in its browser; returns the link's token."""
    browser.comment_as_guest("Ann", "ann@example.com")
    assert browser.ask_for_link().status_code == 200
    _, _, token = newest_mail(inbox, 1)
    assert browser.open_link(token).status_code == 200
    assert browser.confirm(token).status_code == 302
    return token


def test_the_dev_servers_request_log_never_shows_a_token(
    tmp_path: Path, smtp_server: tuple[int, Inbox], caplog: pytest.LogCaptureFixture
):
    port, inbox = smtp_server
    caplog.set_level(logging.INFO, logger="werkzeug")
    with live_blog(tmp_path, port) as (base, _):
        token = confirm_by_mail(Browser(base), inbox)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert not [line for line in lines if token in line]
    assert any("GET /auth/email/verify?token=[redacted]" in line for line in lines), lines
    assert any("POST /auth/email/verify " in line for line in lines), lines


@contextmanager
def gunicorn(tmp_path: Path, smtp_port: int) -> Iterator[tuple[str, Path]]:
    """gunicorn with the shipped config (one worker, an ephemeral port) serving the blog;
    yields its address and the file its access log goes to."""
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    env = {**os.environ, "TEST_BLOG_DIR": str(tmp_path), "TEST_BLOG_SMTP_PORT": str(smtp_port)}
    command = [
        sys.executable, "-m", "gunicorn", "--config", str(SHIPPED_CONFIG),
        "--bind", "127.0.0.1:0", "--workers", "1", "tests.security.gunicorn_blog:app()",
    ]  # fmt: skip
    with access.open("w") as out, errors.open("w") as err:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err)
    try:
        base = None
        for _ in range(300):  # gunicorn names its port once it listens; ~30 s at most
            found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", errors.read_text())
            if found or process.poll() is not None:
                base = found.group(1) if found else None
                break
            time.sleep(0.1)
        assert base is not None, errors.read_text()
        yield base, access
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_the_shipped_gunicorn_access_log_never_shows_a_token(
    tmp_path: Path, smtp_server: tuple[int, Inbox]
):
    port, inbox = smtp_server
    with gunicorn(tmp_path, port) as (base, access):
        token = confirm_by_mail(Browser(base), inbox)
    log = access.read_text()
    assert token not in log
    assert '"GET /auth/email/verify" 200' in log and '"POST /auth/email/verify" 302' in log

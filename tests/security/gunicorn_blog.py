"""The example blog for a gunicorn that a test starts (``tests.security.gunicorn_blog:app()``),
configured from ``TEST_BLOG_DIR`` (its SQLite files) and ``TEST_BLOG_SMTP_PORT`` (its mailbox)."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from tests.apps import make_blog


def app() -> Flask:
    return make_blog(
        Path(os.environ["TEST_BLOG_DIR"]),
        SOCIAL_AUTH_SITE_URL="http://blog.example",
        SOCIAL_AUTH_MAILER="smtp",
        SOCIAL_AUTH_MAIL_SERVER="127.0.0.1",
        SOCIAL_AUTH_MAIL_PORT=int(os.environ["TEST_BLOG_SMTP_PORT"]),
        SOCIAL_AUTH_MAIL_SENDER="blog@example.org",
    )

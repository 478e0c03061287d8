"""A small blog that mounts Flask-Social-Auth under its comment form."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from social_auth import SocialAuth

social_auth = SocialAuth()


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Flask's factory convention: ``flask --app examples.blog:create_app run``."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("BLOG_SECRET_KEY", "dev-only-not-secret"),
        SOCIAL_AUTH_DEV_PROVIDER=False,
    )
    if test_config:
        app.config.update(test_config)
    social_auth.init_app(app)
    with app.app_context():
        social_auth.store.upgrade_schema()

    @app.get("/")
    def index() -> str:
        return "<h1>Flask-Social-Auth example blog</h1><p>Posts and comments arrive soon.</p>"

    return app

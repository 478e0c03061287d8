"""A minimal host app for the session, guest and view tests, with providers of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from flask import Flask

from social_auth import Provider, SocialAuth
from social_auth.session import current_commenter


class Fakebook(Provider):
    """A provider registered only in tests (real adapters come from the providers package)."""

    name = "fakebook"
    title = "Fakebook"
    icon = '<svg viewBox="0 0 24 24"><rect width="24" height="24" rx="4" fill="#1877f2"/></svg>'
    required_settings: ClassVar[tuple[str, ...]] = ()


class Letterbox(Provider):
    """A provider without an icon: the block shows a letter badge."""

    name = "letterbox"
    title = "Letterbox"
    required_settings: ClassVar[tuple[str, ...]] = ()


class RecordingMailer:
    """Keeps what it was asked to send (the SMTP tests use a real server instead)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))


def make_app(tmp_path: Path, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="test-secret-key-for-tests",
        SOCIAL_AUTH_DATABASE_URI=f"sqlite:///{tmp_path / 'social_auth.sqlite3'}",
        SOCIAL_AUTH_PROVIDERS={"fakebook": {}, "letterbox": {}},
        SOCIAL_AUTH_MAILER=RecordingMailer(),
        # Where Flask's test client says it is: links and callbacks are made from it.
        SOCIAL_AUTH_SITE_URL="http://localhost",
    )
    app.config.update(config)
    ext = SocialAuth(app, providers=[Fakebook, Letterbox])
    with app.app_context():
        ext.store.upgrade_schema()

    @app.get("/whoami")
    def whoami() -> str:
        c = current_commenter
        return c.public_id if c.is_authenticated and c.public_id else "anonymous"

    @app.get("/page")
    def page() -> str:
        from flask import render_template_string

        return render_template_string(
            "<form>{{ social_auth_login(draft_field='comment') }}"
            "<textarea name=comment>{{ social_auth_draft() }}</textarea></form>"
        )

    return app

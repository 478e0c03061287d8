"""Apps and helpers several test homes share: the example blog built for tests, the host app
with an admin check, the walk over an app's URL map (every route, so a route added later is
covered without touching a test), and a commenter with a hostile profile."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, request
from sqlalchemy import text

from examples.blog import create_app
from social_auth import Commenter, Profile, get_state
from social_auth.store import Base
from social_auth_providers.dev import Dev
from tests.webapp import Fakebook, Letterbox, RecordingMailer, make_app

SECRET = "security-battery-secret"


def make_blog(tmp_path: Path, **config: Any) -> Flask:
    """The example blog with test providers, on SQLite files of its own."""
    return create_app(
        {
            "SECRET_KEY": SECRET,
            "SOCIAL_AUTH_DATABASE_URI": f"sqlite:///{tmp_path / 'auth.sqlite3'}",
            "BLOG_DATABASE_URI": f"sqlite:///{tmp_path / 'blog.sqlite3'}",
            "BLOG_PROVIDER_ADAPTERS": [Fakebook, Letterbox],
            "SOCIAL_AUTH_PROVIDERS": {"fakebook": {}, "letterbox": {}},
            "SOCIAL_AUTH_MAILER": RecordingMailer(),
            "SOCIAL_AUTH_SITE_URL": "http://localhost",
            **config,
        }
    )


def make_full_blog(tmp_path: Path, **config: Any) -> Flask:
    """The blog with every route mounted: the dev provider's pages and the admin too."""
    from social_auth_providers.dev import Dev

    return make_blog(
        tmp_path,
        BLOG_PROVIDER_ADAPTERS=[Fakebook, Letterbox, Dev],
        SOCIAL_AUTH_DEV_PROVIDER=True,
        BLOG_ADMIN_PASSWORD="admin-password-for-tests",
        **config,
    )


# -- the host app with admin pages --------------------------------------------------------------


def served_blog_builder(folder: Path, secret: str) -> Callable[[str], Flask]:
    """For ``serve_site``: the example blog at the address a live server got, with the test
    providers and the dev provider, whose pages the same threaded server serves (sign-ins go
    through the real /auth/login and /auth/callback routes)."""

    def build(address: str) -> Flask:
        return create_app(
            {
                "SECRET_KEY": secret,
                "SOCIAL_AUTH_DATABASE_URI": f"sqlite:///{folder / 'auth.sqlite3'}",
                "BLOG_DATABASE_URI": f"sqlite:///{folder / 'blog.sqlite3'}",
                "BLOG_PROVIDER_ADAPTERS": [Fakebook, Letterbox, Dev],
                "SOCIAL_AUTH_PROVIDERS": {"fakebook": {}, "letterbox": {}},
                "SOCIAL_AUTH_DEV_PROVIDER": True,
                "SOCIAL_AUTH_MAILER": RecordingMailer(),
                "SOCIAL_AUTH_SITE_URL": address,
            }
        )

    return build


def is_admin() -> bool:
    """Tests' admin check: a cookie stands in for the host's own admin login."""
    return request.cookies.get("test_admin") == "yes"


def admin_app(tmp_path: Path, **config: Any) -> Flask:
    return make_app(tmp_path, SOCIAL_AUTH_ADMIN_CHECK=is_admin, **config)


# -- walking the URL map ------------------------------------------------------------------------


def snapshot(app: Flask) -> list[Any]:
    """Every row of the identity store and of the blog's database."""
    rows: list[Any] = []
    with get_state(app).store.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows.append((table.name, sorted(map(repr, conn.execute(table.select()).all()))))
    sessions = app.extensions.get("blog_sessions")
    if sessions is not None:
        with sessions() as s:
            rows.append(("comments", repr(s.execute(text("SELECT * FROM blog_comment")).all())))
    return rows


def routes(app: Flask, method: str) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if method in (rule.methods or ()) and not rule.endpoint.endswith("static"):
            found.append((rule.endpoint, rule.rule))
    return sorted(found)


#: Arguments some routes take in the query rather than the path.
QUERY = {"social_auth.verify_email": ("token",)}


def build(app: Flask, endpoint: str, values: dict[str, Any]) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    args = {name: values.get(name, "1") for name in rule.arguments}
    args.update({name: values[name] for name in QUERY.get(endpoint, ())})
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **args)


# -- hostile input ------------------------------------------------------------------------------

XSS_NAME = '<img src=x onerror="alert(1)">Eve & "co" \'x\''


def hostile_commenter(app: Flask) -> Commenter:
    profile = Profile(
        provider="fakebook",
        subject="evil",
        display_name=XSS_NAME,
        username="<script>alert(2)</script>",
        avatar_url="javascript:alert(3)",
        profile_url="javascript:alert(4)//https://example.com",
    )
    return get_state(app).store.sign_in(profile).commenter

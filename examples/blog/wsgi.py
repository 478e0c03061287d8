"""The example blog configured from the environment, for several gunicorn workers.

``make serve-prod`` runs it on PostgreSQL with Redis-backed rate limits::

    BLOG_SECRET_KEY=… BLOG_SITE_URL=https://blog.example \
        gunicorn --config examples/blog/gunicorn.conf.py 'examples.blog.wsgi:app_from_environment()'

Environment (all optional but the secret and the site address):

``BLOG_SECRET_KEY``
    signs cookies and links; required (``BLOG_SECRET_KEY_FALLBACKS``: comma-separated old keys).
``BLOG_SITE_URL``
    the site's public address, e.g. ``https://blog.example``; required. Mailed sign-in links,
    OAuth callbacks and the popup's message origin are made from it, never from the request's
    ``Host`` or ``X-Forwarded-Host`` (which a visitor can forge, even behind ``ProxyFix``).
``BLOG_DATABASE_URL``
    SQLAlchemy URL for the identity store and the comments
    (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
``BLOG_REDIS_URL``
    shared rate limits (default ``redis://127.0.0.1:6379/0``; empty: per-process limits).
``BLOG_PROVIDERS``
    ``SOCIAL_AUTH_PROVIDERS`` as JSON.
``BLOG_DEV_PROVIDER``
    ``1`` offers the local dev provider (never on a public site).
``BLOG_PROXIES``
    how many reverse proxies stand in front (nginx: 1); their ``X-Forwarded-For``,
    ``X-Forwarded-Proto`` and ``X-Forwarded-Host`` are then believed, through Werkzeug's
    ``ProxyFix``. Leave it unset without a proxy: anyone could otherwise claim any client
    address and dodge rate limits. Nothing security-relevant reads the forwarded host: every
    absolute URL comes from ``BLOG_SITE_URL``.
``BLOG_SMTP_HOST``, ``BLOG_SMTP_PORT``, ``BLOG_MAIL_SENDER``
    send magic links through that SMTP server (default: printed to the console).
``BLOG_SERVED_BY``
    ``1`` adds an ``X-Served-By: <pid>`` header (the load test uses it to see which worker
    answered; it reveals nothing else, but leave it off in production).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import create_app

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def app_from_environment(environ: dict[str, str] | None = None) -> Flask:
    env = os.environ if environ is None else environ
    database = env.get("BLOG_DATABASE_URL") or DEFAULT_DATABASE
    fallbacks = [k for k in env.get("BLOG_SECRET_KEY_FALLBACKS", "").split(",") if k]
    config: dict[str, Any] = {
        "SECRET_KEY": env["BLOG_SECRET_KEY"],
        "SECRET_KEY_FALLBACKS": fallbacks,
        "SOCIAL_AUTH_SITE_URL": env.get("BLOG_SITE_URL") or None,
        "SOCIAL_AUTH_DATABASE_URI": database,
        "SOCIAL_AUTH_DATABASE_ENGINE_OPTIONS": {"pool_size": 10, "pool_pre_ping": True},
        "BLOG_DATABASE_URI": database,
        "SOCIAL_AUTH_REDIS_URL": env.get("BLOG_REDIS_URL", "redis://127.0.0.1:6379/0") or None,
        "SOCIAL_AUTH_PROVIDERS": json.loads(env.get("BLOG_PROVIDERS") or "{}"),
        "SOCIAL_AUTH_DEV_PROVIDER": env.get("BLOG_DEV_PROVIDER") == "1",
        "SOCIAL_AUTH_MAILER": "smtp" if env.get("BLOG_SMTP_HOST") else "console",
    }
    if env.get("BLOG_SMTP_HOST"):
        config["SOCIAL_AUTH_MAIL_SERVER"] = env["BLOG_SMTP_HOST"]
        config["SOCIAL_AUTH_MAIL_PORT"] = int(env.get("BLOG_SMTP_PORT") or 25)
        config["SOCIAL_AUTH_MAIL_SENDER"] = env.get("BLOG_MAIL_SENDER") or "blog@localhost"
    app = create_app(config)
    proxies = int(env.get("BLOG_PROXIES") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    if env.get("BLOG_SERVED_BY") == "1":
        app.wsgi_app = _served_by(app.wsgi_app)  # type: ignore[method-assign]
    return app


def _served_by(wsgi: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def start(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            served_by = ("X-Served-By", str(os.getpid()))
            return start_response(status, [*headers, served_by], *args)

        return wsgi(environ, start)

    return middleware


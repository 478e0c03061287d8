"""Page cost: what knowing the commenter adds to a page, through raw WSGI calls.

The example blog (``examples.blog.create_app``) gets two routes of its own in the benchmark:
``/bench/bare`` returns a fixed line and never touches the extension; ``/bench/page`` returns
the same line with ``current_commenter``'s name, so the difference between the two is exactly
resolving the commenter (cookie check, store read, revocation check). Each call is
``app(environ, start_response)`` with the environ built once (copied per call, as a server
hands each request its own dict), so no test client cost is counted.

Cases, each divided by the bare route *of the same app* in the same round, requested with the
same ``Cookie`` header (a signed-in browser sends it to every route; parsing it, and Flask's own
session cookie, is the request's cost, not the commenter lookup's):

- ``anonymous_page_ratio``: no cookie, SQLite store;
- ``anonymous_overhead_ratio_vs_plain_flask``: the blog's bare route, no cookie, divided by the
  same route of a plain Flask app with the same ``SECRET_KEY``: what installing the extension
  costs a host route that never touches ``current_commenter`` (the blog's own hooks included);
- ``signed_in_page_ratio_sqlite``: a signed-in commenter on SQLite (one indexed query);
- ``signed_in_page_ratio_postgres``: on PostgreSQL with ``SOCIAL_AUTH_REDIS_URL`` set (one Redis
  ``GET`` while the commenter is unchanged, sent as the request arrives once the route is known
  to look at the commenter, see ``social_auth.revocation``);
- ``flask_login_page_ratio_sqlite``: the anchor, a Flask-Login app whose ``user_loader``
  reads the user with the SQLAlchemy ORM from Flask's session, on SQLite (and on PostgreSQL,
  in ``details``).

The blog's real post page (``/posts/<slug>``: its comments query and templates, with our login
block) is timed too, signed in vs anonymous, shown in the table only.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .harness import Context, interleave, ratio_of

POSTGRES_URL = os.environ.get(
    "SOCIAL_AUTH_BENCH_DATABASE_URL",
    os.environ.get(
        "SOCIAL_AUTH_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
)
REDIS_URL = os.environ.get("SOCIAL_AUTH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "bench-secret-key"
SLUG = "sourdough-starter-in-a-week"


class LoginBase(DeclarativeBase):
    pass


class User(UserMixin, LoginBase):
    """The Flask-Login anchor's user table."""

    __tablename__ = "bench_login_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))


def wsgi_call(app: Any, path: str, cookie: str | None = None) -> Callable[[], bytes]:
    """A callable doing one raw WSGI request; checks the status once up front."""
    from werkzeug.test import EnvironBuilder

    headers = {"Cookie": cookie} if cookie else {}
    builder = EnvironBuilder(path=path, base_url="http://blog.example", headers=headers)
    environ = builder.get_environ()
    builder.close()
    status: list[str] = []

    def start_response(s: str, _headers: Any, _exc_info: Any = None) -> Any:
        status.append(s)
        return None

    def call() -> bytes:
        body = app(dict(environ), start_response)
        try:
            return b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    out = call()
    if not status or not status[-1].startswith("200"):
        raise RuntimeError(f"{path} answered {status[-1:]}: {out[:200]!r}")
    return call


def add_bench_routes(app: Any) -> None:
    from markupsafe import escape

    from social_auth.session import current_commenter

    @app.get("/bench/bare")
    def bench_bare() -> str:
        return "<p>Hello, visitor</p>"

    @app.get("/bench/page")
    def bench_page() -> str:
        who = current_commenter
        return f"<p>Hello, {escape(who.display_name) if who else 'visitor'}</p>"


def blog_app(folder: Path, **config: Any) -> Any:
    from examples.blog import create_app

    app = create_app({
        "SECRET_KEY": SECRET,
        "BLOG_DATABASE_URI": f"sqlite:///{folder / 'blog.sqlite3'}",
        "SOCIAL_AUTH_DATABASE_URI": f"sqlite:///{folder / 'social_auth.sqlite3'}",
        # The pages make no absolute URL: any address of the site does.
        "SOCIAL_AUTH_SITE_URL": "http://127.0.0.1",
        **config,
    })
    add_bench_routes(app)
    return app


def signed_in_cookie(app: Any) -> tuple[str, str]:
    """A commenter with an identity, and its session cookie header."""
    from social_auth.testing import make_commenter, session_cookie

    commenter = make_commenter(app, display_name="Jane Doe", provider="github",
                               avatar_url="https://avatars.example/jane.png")
    name, value = session_cookie(app, commenter, provider="github")
    return f"{name}={value}", commenter.display_name


@contextmanager
def postgres_schema() -> Iterator[str | None]:
    """A fresh schema in the benchmark database, dropped afterwards (None: no PostgreSQL)."""
    from sqlalchemy import create_engine, text

    schema = f"bench_page_{uuid.uuid4().hex[:10]}"
    engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        print(f"   PostgreSQL unavailable ({exc.__class__.__name__}): skipping its cases")
        engine.dispose()
        yield None
        return
    try:
        yield schema
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except Exception:
        return False


def flask_login_app(database_url: str, engine_options: dict[str, Any]) -> tuple[Any, str]:
    """The anchor: Flask-Login with a SQLAlchemy ORM ``user_loader``; returns the app and the
    session cookie of a signed-in user."""
    from flask import Flask
    from flask_login import LoginManager, current_user, login_user
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    engine = create_engine(database_url, **engine_options)
    LoginBase.metadata.create_all(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions() as s, s.begin():
        user = User(name="Jane Doe", email="jane@example.com")
        s.add(user)
    app = Flask("bench_flask_login")
    app.config["SECRET_KEY"] = SECRET
    manager = LoginManager(app)

    @manager.user_loader
    def load_user(user_id: str) -> Any:
        with sessions() as s:
            return s.get(User, int(user_id))

    @app.get("/bench/bare")
    def bare() -> str:
        return "<p>Hello, visitor</p>"

    @app.get("/bench/page")
    def page() -> str:
        from markupsafe import escape

        who = current_user
        return f"<p>Hello, {escape(who.name) if who.is_authenticated else 'visitor'}</p>"

    @app.get("/bench/login")
    def login() -> str:
        login_user(user)
        return "ok"

    client = app.test_client()
    client.get("/bench/login")
    cookie = client.get_cookie("session")
    assert cookie is not None
    app.extensions["bench_engine"] = engine
    return app, f"session={cookie.value}"


def plain_flask_app(social_auth_in: Path | None = None) -> Any:
    """The anchor of the anonymous overhead: Flask alone, the same ``SECRET_KEY``, one route;
    with ``social_auth_in`` (a folder), the same app with only the extension installed."""
    from flask import Flask

    app = Flask("bench_plain")
    app.config["SECRET_KEY"] = SECRET
    if social_auth_in is not None:
        from social_auth import SocialAuth

        app.config["SOCIAL_AUTH_DATABASE_URI"] = f"sqlite:///{social_auth_in / 'plain.sqlite3'}"
        app.config["SOCIAL_AUTH_SITE_URL"] = "http://127.0.0.1"
        extension = SocialAuth(app)
        with app.app_context():
            extension.store.upgrade_schema()

    @app.get("/bench/bare")
    def bare() -> str:
        return "<p>Hello, visitor</p>"

    return app


def run(ctx: Context) -> None:
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench_page_")))
        (folder / "sqlite").mkdir()
        app = blog_app(folder / "sqlite")
        cookie, name = signed_in_cookie(app)
        fns: dict[str, Callable[[], Any]] = {
            "bare": wsgi_call(app, "/bench/bare"),
            "bare_cookie": wsgi_call(app, "/bench/bare", cookie),
            "anonymous": wsgi_call(app, "/bench/page"),
            "signed_in": wsgi_call(app, "/bench/page", cookie),
            "post_anonymous": wsgi_call(app, f"/posts/{SLUG}"),
            "post_signed_in": wsgi_call(app, f"/posts/{SLUG}", cookie),
        }
        assert name.encode() in fns["signed_in"]()
        fns["plain_bare"] = wsgi_call(plain_flask_app(), "/bench/bare")
        fns["plain_with_extension"] = wsgi_call(plain_flask_app(folder), "/bench/bare")
        login_app, login_cookie = flask_login_app(f"sqlite:///{folder / 'login.sqlite3'}", {})
        fns["fl_bare"] = wsgi_call(login_app, "/bench/bare", login_cookie)
        fns["fl_page"] = wsgi_call(login_app, "/bench/page", login_cookie)
        assert b"Jane Doe" in fns["fl_page"]()

        schema = stack.enter_context(postgres_schema())
        pg = schema is not None and redis_available()
        if schema is not None and not pg:
            print("   Redis unavailable: skipping the PostgreSQL case")
        if pg:
            options = {"connect_args": {"options": f"-csearch_path={schema}"}}
            (folder / "pg").mkdir()
            pg_app = blog_app(folder / "pg", SOCIAL_AUTH_DATABASE_URI=POSTGRES_URL,
                              SOCIAL_AUTH_DATABASE_ENGINE_OPTIONS=options,
                              SOCIAL_AUTH_REDIS_URL=REDIS_URL)
            pg_cookie, _ = signed_in_cookie(pg_app)
            fns["pg_bare"] = wsgi_call(pg_app, "/bench/bare", pg_cookie)
            fns["pg_signed_in"] = wsgi_call(pg_app, "/bench/page", pg_cookie)
            assert name.encode() in fns["pg_signed_in"]()
            pg_login, pg_login_cookie = flask_login_app(POSTGRES_URL, options)
            fns["fl_pg_bare"] = wsgi_call(pg_login, "/bench/bare", pg_login_cookie)
            fns["fl_pg_page"] = wsgi_call(pg_login, "/bench/page", pg_login_cookie)

        t = interleave(fns, rounds=ctx.rounds(50), calls=ctx.calls(120), warmup=2)
        anonymous = ratio_of("anonymous/bare", t["anonymous"], t["bare"])
        signed = ratio_of("signed-in/bare", t["signed_in"], t["bare_cookie"])
        signed_vs_plain = ratio_of("signed-in/bare without cookie", t["signed_in"], t["bare"])
        login = ratio_of("flask-login/bare", t["fl_page"], t["fl_bare"])
        post = ratio_of("post signed-in/anonymous", t["post_signed_in"], t["post_anonymous"])
        post_bare = ratio_of("post anonymous/bare", t["post_anonymous"], t["bare"])
        overhead = ratio_of("blog bare/plain flask", t["bare"], t["plain_bare"])
        # The same without the blog's own hooks: only what installing the extension adds.
        extension_only = ratio_of("plain flask with/without the extension",
                                  t["plain_with_extension"], t["plain_bare"])
        bare_us = t["bare"].median * 1e6
        ctx.record("anonymous_page_ratio", anonymous, target="<= 1.05",
                   note=f"bare route {bare_us:.0f} µs")
        added_us = (t["bare"].median - t["plain_bare"].median) * 1e6
        ctx.record("anonymous_overhead_ratio_vs_plain_flask", overhead, target="<= 1.03",
                   note=f"{added_us:+.1f} µs on {t['plain_bare'].median * 1e6:.0f} µs")
        # The anonymous page's own cost against Flask alone: the ratio above divides by the
        # blog's bare route, which got cheaper when the app-wide hooks went.
        page_vs_plain = ratio_of("anonymous page/plain flask", t["anonymous"], t["plain_bare"])
        ctx.show("anonymous_page_vs_plain_flask", page_vs_plain,
                 note="the page reading current_commenter, no cookie / plain Flask's bare route")
        ctx.show("anonymous_overhead_extension_only", extension_only,
                 note="a plain Flask app with only SocialAuth installed")
        ctx.record("signed_in_page_ratio_sqlite", signed, target="<= 1.6",
                   note=f"{t['signed_in'].median * 1e6:.0f} µs")
        if pg:
            pg_signed = ratio_of("pg signed-in/bare", t["pg_signed_in"], t["pg_bare"])
            ctx.record("signed_in_page_ratio_postgres", pg_signed, target="<= 2.5",
                       note=f"{t['pg_signed_in'].median * 1e6:.0f} µs, with Redis")
        ctx.record("flask_login_page_ratio_sqlite", login,
                   note=f"anchor: Flask-Login + ORM, {t['fl_page'].median * 1e6:.0f} µs")
        if pg:
            pg_login_ratio = ratio_of("flask-login pg/bare", t["fl_pg_page"], t["fl_pg_bare"])
            ctx.show("flask_login_page_ratio_postgres", pg_login_ratio,
                     note=f"anchor on PostgreSQL, {t['fl_pg_page'].median * 1e6:.0f} µs")
            ctx.detail("flask_login_page_postgres", pg_login_ratio.as_json())
        ctx.show("post_page_signed_in_vs_anonymous", post,
                 note=f"the blog's post page, {t['post_anonymous'].median * 1e6:.0f} µs "
                      "anonymous")
        for key, comparison in (("page_anonymous", anonymous), ("page_signed_in_sqlite", signed),
                                ("anonymous_overhead_vs_plain_flask", overhead),
                                ("anonymous_overhead_extension_only", extension_only),
                                ("anonymous_page_vs_plain_flask", page_vs_plain),
                                ("page_flask_login_sqlite", login), ("post_page", post),
                                ("post_page_vs_bare", post_bare),
                                ("page_signed_in_sqlite_vs_bare_without_cookie",
                                 signed_vs_plain)):
            ctx.detail(key, comparison.as_json())
        if pg:
            ctx.detail("page_signed_in_postgres", pg_signed.as_json())
        if pg:
            from social_auth import get_state

            get_state(pg_app).store.engine.dispose()
            pg_login.extensions["bench_engine"].dispose()

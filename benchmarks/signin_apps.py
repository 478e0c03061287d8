"""The two apps the sign-in benchmark serves under gunicorn, each with a timing middleware.

``benchmarks.signin_apps:ours()`` is the example blog (``examples.blog.wsgi``) as configured from
the environment; ``benchmarks.signin_apps:dance()`` is the usual Flask-Dance recipe doing the same
sign-in: an ``OAuth2ConsumerBlueprint`` with PKCE pointed at the same OpenID provider, Flask-Login,
and Flask-Dance's SQLAlchemy storage (``OAuthConsumerMixin`` and a ``User`` model); on
``oauth_authorized`` it reads the userinfo, finds or creates the user and logs them in.

Measurement code only: urllib3's ``HTTPConnectionPool.urlopen`` (the layer every HTTP call of
both apps goes through, whether by ``requests`` or by urllib3 directly) is wrapped to add up the
time spent waiting on the provider during a request (the outermost call only: urllib3 retries by
calling itself), and a WSGI middleware answers with ``X-Bench-App-Us`` (the request's time until
it starts its response, minus that wait) and ``X-Bench-Wait-Us``. What a client library does
around the call (preparing it, merging settings, building its response object) is the app's
time. Gunicorn sync workers serve one request at a time, so a module global is enough.

Environment: ``SIGNIN_ISSUER`` (issuer URL), ``SIGNIN_DANCE_DB`` (SQLAlchemy URL of the
Flask-Dance app), ``SIGNIN_SECRET``; ``BLOG_*`` for ours (see ``examples.blog.wsgi``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import requests
import urllib3.connectionpool
from flask_dance.consumer.storage.sqla import OAuthConsumerMixin
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, create_engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    mapped_column,
    relationship,
    scoped_session,
    sessionmaker,
)

CLIENT_ID, CLIENT_SECRET = "blog", "blog-secret-0123456789"



class _Meter(threading.local):
    """Per thread (a profiler or test may run the client in the same process): the provider
    wait of the request being served, and how deep we are in ``urlopen``."""

    wait = 0.0
    depth = 0


_meter = _Meter()


def _install_wait_meter() -> None:
    pool_class = urllib3.connectionpool.HTTPConnectionPool
    if getattr(pool_class.urlopen, "_bench_metered", False):
        return
    original = pool_class.urlopen

    def urlopen(self: Any, *args: Any, **kwargs: Any) -> Any:
        meter = _meter
        meter.depth += 1
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            meter.depth -= 1
            if meter.depth == 0:
                meter.wait += time.perf_counter() - started

    urlopen._bench_metered = True  # type: ignore[attr-defined]
    pool_class.urlopen = urlopen  # type: ignore[method-assign]


def metered(wsgi: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    _install_wait_meter()
    clock = time.perf_counter

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        _meter.wait = 0.0
        started = clock()

        def start(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            elapsed = clock() - started
            wait = _meter.wait
            extra = [
                ("X-Bench-App-Us", str(round((elapsed - wait) * 1e6))),
                ("X-Bench-Wait-Us", str(round(wait * 1e6))),
            ]
            return start_response(status, [*headers, *extra], *args)

        return wsgi(environ, start)

    return middleware


class Base(DeclarativeBase):
    pass


class User(UserMixin, Base):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    email: Mapped[str | None] = mapped_column(String(256))
    picture: Mapped[str | None] = mapped_column(String(512))


class OAuth(OAuthConsumerMixin, Base):
    __tablename__ = "flask_dance_oauth"
    provider_user_id: Mapped[str] = mapped_column(String(256), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey(User.id))
    user: Mapped[User] = relationship(User)


def ours() -> Any:
    from examples.blog.wsgi import app_from_environment

    app = app_from_environment()
    app.wsgi_app = metered(app.wsgi_app)  # type: ignore[method-assign]
    return app


def build_dance(create: bool = False) -> Any:
    from flask import Flask, jsonify, redirect
    from flask_dance.consumer import OAuth2ConsumerBlueprint, oauth_authorized
    from flask_dance.consumer.storage.sqla import SQLAlchemyStorage
    from flask_login import LoginManager, current_user, login_user

    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the provider is on http loopback
    issuer = os.environ["SIGNIN_ISSUER"]
    meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()

    engine = create_engine(os.environ["SIGNIN_DANCE_DB"])
    if create:
        Base.metadata.create_all(engine)
        engine.dispose()
        return None
    db = scoped_session(sessionmaker(engine))

    app = Flask(__name__)
    app.secret_key = os.environ["SIGNIN_SECRET"]
    login_manager = LoginManager(app)

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return db.get(User, int(user_id))

    bp = OAuth2ConsumerBlueprint(
        "corp",
        __name__,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        authorization_url=meta["authorization_endpoint"],
        token_url=meta["token_endpoint"],
        scope=["openid", "email", "profile"],
        use_pkce=True,
        redirect_to="done",
        storage=SQLAlchemyStorage(OAuth, db, user=current_user),
    )
    app.register_blueprint(bp, url_prefix="/login")

    @oauth_authorized.connect_via(bp)
    def logged_in(blueprint: Any, token: dict[str, Any]) -> bool:
        info = blueprint.session.get(meta["userinfo_endpoint"]).json()
        oauth = db.scalars(
            select(OAuth).filter_by(provider=blueprint.name, provider_user_id=info["sub"])
        ).one_or_none()
        if oauth is None:
            oauth = OAuth(provider=blueprint.name, provider_user_id=info["sub"], token=token)
        else:
            oauth.token = token
        if oauth.user is None:
            oauth.user = User(name=info.get("name") or info["sub"], email=info.get("email"),
                              picture=info.get("picture"))
        else:
            oauth.user.name = info.get("name") or oauth.user.name
            oauth.user.email = info.get("email")
            oauth.user.picture = info.get("picture")
        db.add(oauth)
        try:
            db.commit()
        except IntegrityError:  # a racing first sign-in of the same account won: use its rows
            db.rollback()
            oauth = db.scalars(
                select(OAuth).filter_by(provider=blueprint.name, provider_user_id=info["sub"])
            ).one()
        login_user(oauth.user)
        return False  # saved above: Flask-Dance's storage need not save it again

    @app.get("/done")
    def done() -> Any:
        return redirect("/")

    @app.get("/me")
    def me() -> Any:
        if not current_user.is_authenticated:
            return jsonify(authenticated=False)
        subject = db.scalars(select(OAuth.provider_user_id).filter_by(user_id=current_user.id))
        return jsonify(authenticated=True, name=current_user.name, subjects=list(subject))

    @app.teardown_appcontext
    def remove_session(exc: BaseException | None) -> None:
        db.remove()

    app.wsgi_app = metered(app.wsgi_app)  # type: ignore[method-assign]
    return app


def dance() -> Any:
    return build_dance()

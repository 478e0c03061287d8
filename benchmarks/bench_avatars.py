"""Serving a stored avatar, and what provider health adds to a sign-in.

- ``avatar_serve_ratio_vs_static``: one raw WSGI request for a stored 96 px picture (the
  database backend, SQLite file) over one for Flask serving a static file of the same size
  from the same app (``send_static_file``): both through the full app, headers included.
- ``signin_health_overhead_us``: the health calls one sign-in makes (``started`` at the start,
  ``finished`` with the latency at the callback), with the worker's timer flushing, in µs.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from flask import Flask

from social_auth import SocialAuth, get_state
from social_auth.avatars.image import etag_of, normalise
from social_auth.health import HealthRecorder
from social_auth.store.health import SqlHealthSink
from social_auth.testing import make_commenter

from .bench_page import wsgi_call
from .harness import Context

SECRET = "bench-avatars-secret-key"


def picture_app(folder: Path) -> tuple[Flask, str, str]:
    """An app with one stored picture; (app, its URL, the static file's URL)."""
    from tests.avatars.images import picture

    static = folder / "static"
    static.mkdir()
    app = Flask("bench_avatars", static_folder=str(static))
    app.config.update(SECRET_KEY=SECRET, SOCIAL_AUTH_SITE_URL="http://blog.example",
                      SOCIAL_AUTH_DATABASE_URI=f"sqlite:///{folder / 'auth.sqlite3'}")
    ext = SocialAuth(app)
    with app.app_context():
        ext.store.upgrade_schema()
    avatars = get_state(app).avatars
    assert avatars is not None
    commenter = make_commenter(app)
    made = normalise(picture("PNG"))
    variants = {s: (etag_of(d), made.mime, d) for s, d in made.variants.items()}
    avatars.store.keep(commenter.id, made.key, variants, url=avatars.picture_url(made.key),
                       source_url=None)
    (static / "same.webp").write_bytes(made.variants[96])
    return app, avatars.picture_url(made.key), "/static/same.webp"


def run(ctx: Context) -> None:
    with tempfile.TemporaryDirectory() as folder:
        app, avatar, static = picture_app(Path(folder))
        serve = ctx.compare("avatar vs static", wsgi_call(app, avatar), wsgi_call(app, static),
                            rounds=ctx.rounds(30), calls=ctx.calls(300))
        ctx.detail("avatar_serve_ratio_vs_static", serve.as_json())
        ctx.record("avatar_serve_ratio_vs_static", serve, target="<= 1.5",
                   note=f"{serve.case.median * 1e6:.0f} µs vs static "
                        f"{serve.baseline.median * 1e6:.0f} µs")
        recorder = HealthRecorder(SqlHealthSink(get_state(app).store.engine), flush_every=1.0)

        def one_sign_in() -> None:
            recorder.started("github")
            recorder.finished("github", 0.180)

        def nothing() -> None:
            return None

        cost = ctx.compare("health per sign-in", one_sign_in, nothing,
                           rounds=ctx.rounds(30), calls=ctx.calls(2000))
        # Per round: the two events minus an empty call, in µs.
        rounds = [(c - b) * 1e6 for c, b in zip(cost.case.per_round, cost.baseline.per_round,
                                                strict=True)]
        ctx.detail("signin_health_overhead_us", cost.as_json())
        ctx.record("signin_health_overhead_us", statistics.median(rounds), target="<= 50",
                   low=min(rounds), high=max(rounds),
                   note="started + finished, timer flushing every second")
        recorder.flush()
        get_state(app).store.engine.dispose()

"""What the spam check costs a comment, beyond Akismet's own answer time.

``comment_review_overhead_ms``: ``Moderator.review`` of a signed-in commenter's comment against
a local Akismet that answers at once (``tools.akismet_fake``), minus the HTTP round trip itself
(the time spent inside the transport's call, measured from inside each review), per round;
the median of the rounds. A bare ``comment-check`` POST is timed beside it for context. What
is left is ours: the trust tier (no query for a provider identity), the fields, the form
encoding, the verdict, its facts and the signal.

``comment_post_hanging_s``: the example blog's comment POST while Akismet never answers: the
whole request's wall time, which the Akismet deadline (``SOCIAL_AUTH_AKISMET_TIMEOUT``, default
3 s; 0.5 s with ``--quick``) bounds; the comment is held, kept.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask

from examples.blog import create_app
from social_auth import get_state
from social_auth.moderation import FormSignals, ModerationSettings, Moderator, Submission
from social_auth.moderation.review import akismet_fields
from social_auth.provider import Profile
from social_auth.store import IdentityStore
from social_auth.testing import csrf_headers, make_commenter, sign_in_client
from social_auth.web.moderation import form_fields
from tools.akismet_fake import VALID_KEY, FakeAkismet

from .harness import Context, interleave


def review_overhead(ctx: Context, store: IdentityStore, akismet: FakeAkismet) -> None:
    settings = ModerationSettings(akismet_key=VALID_KEY, akismet_url=akismet.url)
    moderator = Moderator(settings, store)
    jane = store.sign_in(Profile(provider="github", subject="jane", display_name="Jane",
                                 email="jane@example.com", email_verified=True)).commenter
    submission = Submission(
        content="A perfectly ordinary comment about sourdough. " * 4,
        permalink="https://blog.example/posts/sourdough", blog="https://blog.example/",
        commenter=jane, ip="203.0.113.7", user_agent="Mozilla/5.0 (X11; Linux x86_64)",
        referrer="https://blog.example/", form=FormSignals("", 30.0, None),
    )
    client = moderator.client
    assert client is not None
    body = urlencode({"api_key": VALID_KEY, **akismet_fields(submission, is_test=False)})
    url = f"{akismet.url}/1.1/comment-check"
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}

    def round_trip() -> object:
        return client.transport.request("POST", url, body.encode(), headers)

    # Each review's own HTTP call is timed from inside (the transport's ``request``, wrapped
    # here): the overhead is the review's time minus that call's, so the server's variance
    # (other processes on the machine) does not land on our side of the difference.
    real_request = client.transport.request
    in_http = [0.0]

    def timed_request(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return real_request(*args, **kwargs)
        finally:
            in_http[0] += time.perf_counter() - started

    client.transport.request = timed_request  # type: ignore[method-assign]
    assert moderator.review(submission).action == "publish"
    calls = ctx.calls(100)
    diffs = []
    for _ in range(ctx.rounds(30)):
        in_http[0] = 0.0
        started = time.perf_counter()
        for _ in range(calls):
            moderator.review(submission)
        diffs.append((time.perf_counter() - started - in_http[0]) / calls * 1000)
    client.transport.request = real_request  # type: ignore[method-assign]
    t = interleave({"review": lambda: moderator.review(submission), "http": round_trip},
                   rounds=ctx.rounds(10), calls=calls, warmup=1)
    akismet.seen.clear()
    overhead = statistics.median(diffs)
    ctx.detail("comment_review_overhead_ms", {
        "review_ms": round(t["review"].median * 1000, 4),
        "round_trip_ms": round(t["http"].median * 1000, 4),
        "rounds": len(diffs),
    })
    ctx.record("comment_review_overhead_ms", overhead, target="<= 1", low=min(diffs),
               high=max(diffs), note=f"review {t['review'].median * 1000:.2f} ms; a bare "
               f"comment-check round trip {t['http'].median * 1000:.2f} ms")


def blog(folder: Path, akismet: FakeAkismet, deadline: float) -> Flask:
    return create_app({
        "SECRET_KEY": "bench-moderation-secret-key",
        "SOCIAL_AUTH_DATABASE_URI": f"sqlite:///{folder / 'auth.sqlite3'}",
        "BLOG_DATABASE_URI": f"sqlite:///{folder / 'blog.sqlite3'}",
        "SOCIAL_AUTH_SITE_URL": "http://localhost",
        "SOCIAL_AUTH_AKISMET_KEY": VALID_KEY,
        "SOCIAL_AUTH_AKISMET_URL": akismet.url,
        "SOCIAL_AUTH_AKISMET_TIMEOUT": deadline,
    })


def hanging_post(ctx: Context, app: Flask, akismet: FakeAkismet, deadline: float) -> None:
    client = app.test_client()
    sign_in_client(client, make_commenter(app, display_name="Jane", provider="test"))
    akismet.mode = "slow"
    times = []
    for _ in range(1 if ctx.quick else 3):
        data = {"comment": "Is anyone there?", **form_fields(app)}
        started = time.perf_counter()
        response = client.post("/posts/walking-the-coast-path/comments", data=data,
                               headers=csrf_headers(client))
        times.append(time.perf_counter() - started)
        assert response.status_code == 302 and "#comment-pending" in response.headers["Location"]
    akismet.mode = "ham"
    ctx.record("comment_post_hanging_s", statistics.median(times), target=f"<= {deadline:g}+",
               low=min(times), high=max(times),
               note=f"Akismet never answers; deadline {deadline:g} s; the comment is held")


def run(ctx: Context) -> None:
    deadline = 0.5 if ctx.quick else 3.0
    with tempfile.TemporaryDirectory() as tmp, FakeAkismet(keep_alive=True).running() as akismet:
        app = blog(Path(tmp), akismet, deadline)
        store = get_state(app).store
        review_overhead(ctx, store, akismet)
        hanging_post(ctx, app, akismet, deadline)
        store.engine.dispose()

"""Many browsers signing in at once, start and callback on whichever gunicorn worker answers.

Everything runs on 127.0.0.1 and stops by itself: the blog under gunicorn (``examples.blog.wsgi``)
on a PostgreSQL schema of its own with Redis-backed rate limits, the npm ``oidc-provider`` as the
OpenID issuer, and client threads that walk the whole flow like a browser: ``/auth/login/corp``
on the blog, the issuer's login and consent pages, ``/auth/callback/corp`` back on the blog, then
``/auth/me``. A group of them sign in as the same subject and hit the callback at the same moment.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests

from tools.issuer import (
    CLIENT_ID,
    CLIENT_SECRET,
    REQUEST_TIMEOUT,
    Unavailable,
    free_port,
    issuer,
    walk_issuer,
)

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get(
    "SOCIAL_AUTH_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("SOCIAL_AUTH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass
class Scenario:
    sign_ins: int = 200
    concurrency: int = 50
    racers: int = 20
    workers: int = 4
    threads: int = 1
    worker_class: str = "sync"
    #: The run stops submitting sign-ins after this many seconds (and counts the rest as errors).
    deadline: float = 240.0

    @property
    def label(self) -> str:
        return f"{self.worker_class} {self.workers}w x {self.threads}t"


@dataclass
class Result:
    scenario: Scenario
    ok: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    cross_worker: int = 0
    workers_seen: set[str] = field(default_factory=set)
    commenters: int = 0
    identities: int = 0
    duplicate_subjects: int = 0
    racer_commenters: int = 0

    @property
    def expected_commenters(self) -> int:
        return self.scenario.sign_ins - self.scenario.racers + (1 if self.scenario.racers else 0)

    def passed(self) -> bool:
        return (
            not self.errors
            and self.ok == self.scenario.sign_ins
            and self.commenters == self.identities == self.expected_commenters
            and self.duplicate_subjects == 0
            and self.racer_commenters == (1 if self.scenario.racers else 0)
        )

    def figures(self) -> str:
        lat = sorted(self.latencies) or [0.0]
        p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
        return (
            f"[{self.scenario.label}] {self.ok}/{self.scenario.sign_ins} sign-ins by "
            f"{self.scenario.concurrency} clients ({self.scenario.racers} racing on one subject) "
            f"in {self.seconds:.1f} s = {self.ok / max(self.seconds, 1e-9):.1f}/s; "
            f"latency p50 {statistics.median(lat) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms; "
            f"errors {len(self.errors)}; start and callback on different workers "
            f"{self.cross_worker}/{self.ok} ({len(self.workers_seen)} workers seen); "
            f"commenters {self.commenters} and identities {self.identities} "
            f"(expected {self.expected_commenters}); duplicate subjects "
            f"{self.duplicate_subjects}; commenters for the racing subject {self.racer_commenters}"
        )


# -- the parts ---------------------------------------------------------------------------------


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema; yields a database URL whose connections use it."""
    from sqlalchemy import create_engine, text

    schema = f"sa_load_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        admin.dispose()
        raise Unavailable(f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}") from exc
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def blog_environment(database_url: str, issuer_url: str, site_url: str) -> dict[str, str]:
    import json

    providers = {
        "corp": {
            "provider": "oidc",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "server_metadata_url": f"{issuer_url}/.well-known/openid-configuration",
        }
    }
    return {
        **os.environ,
        "BLOG_SECRET_KEY": secrets.token_hex(32),
        "BLOG_DATABASE_URL": database_url,
        "BLOG_REDIS_URL": REDIS_URL,
        "BLOG_PROVIDERS": json.dumps(providers),
        "BLOG_SERVED_BY": "1",
        "BLOG_SITE_URL": site_url,
        # As behind one reverse proxy: each client brings its own address (sign-in starts are
        # rate limited per client address, and the whole test runs from 127.0.0.1).
        "BLOG_PROXIES": "1",
    }


def migrate(env: dict[str, str]) -> None:
    """Create the schema once, before several workers start (each would otherwise race)."""
    code = "from examples.blog.wsgi import app_from_environment as f; f()"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise RuntimeError(f"the blog could not start:\n{done.stderr[-2000:]}")


@contextmanager
def gunicorn(env: dict[str, str], port: int, scenario: Scenario) -> Iterator[str]:
    binary = Path(sys.executable).with_name("gunicorn")
    if not binary.exists():
        raise Unavailable("gunicorn is not installed (pip install -e '.[dev]')")
    command = [
        str(binary),
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(scenario.workers),
        "--worker-class", scenario.worker_class,
        "--threads", str(scenario.threads),
        "--timeout", "60",
        "--graceful-timeout", "5",
        "--log-level", "warning",
        "examples.blog.wsgi:app_from_environment()",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{process.stderr.read()[-2000:]}")  # type: ignore[union-attr]
            try:
                if requests.get(base + "/auth/me", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stderr is not None:
            process.stderr.close()


# -- one browser -------------------------------------------------------------------------------


def one_sign_in(
    base: str, account: str, barrier: threading.Barrier | None
) -> tuple[float, str, str]:
    """Returns (seconds, worker of the start, worker of the callback)."""
    started = time.perf_counter()
    blog = requests.Session()
    issuer_browser = requests.Session()
    try:
        # Connection: close: each request may land on any worker.
        blog.headers["Connection"] = "close"
        blog.headers["X-Forwarded-For"] = (
            f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
        )
        start = blog.get(
            f"{base}/auth/login/corp?next=/posts/sourdough-starter-in-a-week",
            allow_redirects=False,
            timeout=REQUEST_TIMEOUT,
        )
        if start.status_code not in (302, 303):
            raise AssertionError(f"login answered {start.status_code}")
        callback = walk_issuer(
            issuer_browser, start.headers["Location"], account, f"{base}/auth/callback/"
        )
        if barrier is not None:
            barrier.wait(timeout=120)  # every racer reaches its callback at the same moment
        finished = blog.get(callback, allow_redirects=False, timeout=REQUEST_TIMEOUT)
        if finished.status_code not in (302, 303):
            raise AssertionError(f"callback answered {finished.status_code}")
        me = blog.get(f"{base}/auth/me", timeout=REQUEST_TIMEOUT).json()
        subjects = [i["subject"] for i in me.get("identities", [])]
        if not me.get("authenticated") or account not in subjects:
            raise AssertionError(f"/auth/me after the callback: {me}")
        return (
            time.perf_counter() - started,
            start.headers.get("X-Served-By", "?"),
            finished.headers.get("X-Served-By", "?"),
        )
    finally:
        blog.close()
        issuer_browser.close()


def count_rows(database_url: str, racer: str) -> tuple[int, int, int, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            commenters = conn.scalar(text("SELECT count(*) FROM social_auth_commenter"))
            identities = conn.scalar(text("SELECT count(*) FROM social_auth_identity"))
            duplicates = conn.scalar(
                text(
                    "SELECT count(*) FROM (SELECT provider, subject FROM social_auth_identity "
                    "GROUP BY provider, subject HAVING count(*) > 1) d"
                )
            )
            racers = conn.scalar(
                text(
                    "SELECT count(DISTINCT commenter_id) FROM social_auth_identity "
                    "WHERE subject = :s"
                ),
                {"s": racer},
            )
    finally:
        engine.dispose()
    return int(commenters or 0), int(identities or 0), int(duplicates or 0), int(racers or 0)


def run(scenario: Scenario) -> Result:
    result = Result(scenario)
    port = free_port()
    racer = f"racer-{uuid.uuid4().hex[:6]}"
    with (
        postgres_schema() as database_url,
        issuer(f"http://127.0.0.1:{port}/auth/callback/corp") as issuer_url,
    ):
        env = blog_environment(database_url, issuer_url, f"http://127.0.0.1:{port}")
        migrate(env)
        with gunicorn(env, port, scenario) as base:
            accounts = [racer] * scenario.racers + [
                f"user-{i}-{uuid.uuid4().hex[:4]}"
                for i in range(scenario.sign_ins - scenario.racers)
            ]
            barrier = threading.Barrier(scenario.racers) if scenario.racers > 1 else None
            lock = threading.Lock()
            began = time.perf_counter()

            def task(account: str) -> None:
                if time.perf_counter() - began > scenario.deadline:
                    with lock:
                        result.errors.append(f"{account}: not started before the deadline")
                    return
                try:
                    seconds, first, second = one_sign_in(
                        base, account, barrier if account == racer else None
                    )
                except Exception as exc:  # any failure of one browser is one error
                    with lock:
                        result.errors.append(f"{account}: {type(exc).__name__}: {exc}"[:300])
                    return
                with lock:
                    result.ok += 1
                    result.latencies.append(seconds)
                    result.workers_seen.update((first, second))
                    result.cross_worker += first != second

            with ThreadPoolExecutor(max_workers=scenario.concurrency) as pool:
                list(pool.map(task, accounts))
            result.seconds = time.perf_counter() - began
        counts = count_rows(database_url, racer)
        (
            result.commenters,
            result.identities,
            result.duplicate_subjects,
            result.racer_commenters,
        ) = counts
    return result


FULL = [
    Scenario(sign_ins=200, concurrency=50, racers=20, workers=4),
    Scenario(sign_ins=8, concurrency=8, racers=0, workers=1, threads=8, worker_class="gthread"),
]
QUICK = [
    Scenario(sign_ins=40, concurrency=10, racers=5, workers=4, deadline=90),
    Scenario(
        sign_ins=8,
        concurrency=8,
        racers=0,
        workers=1,
        threads=8,
        worker_class="gthread",
        deadline=60,
    ),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.load", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the short form make test runs")
    args = parser.parse_args(argv)
    failed = False
    for scenario in QUICK if args.quick else FULL:
        try:
            result = run(scenario)
        except Unavailable as exc:
            print(f"[{scenario.label}] skipped: {exc}")
            failed = failed or bool(os.environ.get("CI"))
            continue
        print(result.figures(), flush=True)
        for error in result.errors[:10]:
            print(f"  error: {error}")
        failed = failed or not result.passed()
    print("load test:", "FAILED" if failed else "passed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["FULL", "QUICK", "Result", "Scenario", "Unavailable", "main", "run"]

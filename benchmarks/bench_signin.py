"""Our side of a sign-in: ours vs Flask-Dance + Flask-Login + its SQLAlchemy storage.

Both apps (``benchmarks.signin_apps``) run at once under gunicorn, 2 sync workers each, on SQLite
files of their own, against one npm oidc-provider (``make oidc-provider``) on 127.0.0.1. Client
threads walk the whole flow like a browser (``tools.issuer``): the app's login route, the
provider's login and consent pages, the app's callback, then the app's "who am I" route. Each
round runs a batch of sign-ins with 1 client and a batch with 8 against each app, the apps in a
shuffled order. Accounts come from a pool of 24 that all sign in once while warming up, so measured
sign-ins are returning readers.

- ``callback_ratio_vs_flask_dance`` (1 client) and ``..._8``: per round, the median of our
  callback's time minus the time it waited on the provider over Flask-Dance's; measured inside
  the workers (``X-Bench-App-Us``, see ``signin_apps``). Medians and p95 in ``details``.
- ``app_cpu_ratio_vs_flask_dance``: utime + stime of the gunicorn workers (``/proc``) per
  complete sign-in (its three requests to the app), per round, ours over Flask-Dance's.
- ``sign_ins_per_s_1`` / ``_8``: our end-to-end sign-ins/s; on two cores the provider and the
  load driver dominate it (Flask-Dance's figure is in the note).

Without node or the npm provider the module prints why and records nothing, unless ``CI`` is
set: then it fails.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from .harness import Context

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 2
TIMEOUT = 20.0
TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class App:
    name: str
    spec: str
    login: str
    callback: str
    me: str


OURS = App("ours", "benchmarks.signin_apps:ours()", "/auth/login/corp?next=/", "/auth/callback/",
           "/auth/me")
DANCE = App("flask-dance", "benchmarks.signin_apps:dance()", "/login/corp",
            "/login/corp/authorized", "/me")


@dataclass
class Batch:
    callbacks_us: list[float] = field(default_factory=list)
    waits_us: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    seconds: float = 0.0
    sign_ins: int = 0

    @property
    def rate(self) -> float:
        return self.sign_ins / self.seconds


def worker_cpu(master: int) -> float:
    """utime + stime, in seconds, of the master's children (the gunicorn workers)."""
    total = 0
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / TICK


@contextmanager
def gunicorn(app: App, env: dict[str, str], port: int) -> Iterator[tuple[str, int]]:
    command = [
        sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "60",
        "--graceful-timeout", "5", app.spec,
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn ({app.name}) exited with {process.returncode}")
            try:
                if requests.get(base + app.me, timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn ({app.name}) did not answer within 60 s")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def sign_in(app: App, base: str, account: str) -> tuple[float, float]:
    """One browser-like sign-in; returns the callback's (app µs, provider-wait µs)."""
    from tools.issuer import walk_issuer

    browser, issuer_browser = requests.Session(), requests.Session()
    try:
        browser.headers["Connection"] = "close"  # each request may land on either worker
        browser.headers["X-Forwarded-For"] = (
            f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
        )
        start = browser.get(base + app.login, allow_redirects=False, timeout=TIMEOUT)
        if start.status_code not in (302, 303):
            raise RuntimeError(f"{app.name} login answered {start.status_code}")
        url = walk_issuer(issuer_browser, start.headers["Location"], account, base + app.callback)
        done = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
        if done.status_code not in (302, 303):
            raise RuntimeError(f"{app.name} callback answered {done.status_code}")
        me = browser.get(base + app.me, timeout=TIMEOUT).json()
        subjects = me.get("subjects") or [i["subject"] for i in me.get("identities", [])]
        if not me.get("authenticated") or account not in subjects:
            raise RuntimeError(f"{app.name} after the callback: {me}")
        return float(done.headers["X-Bench-App-Us"]), float(done.headers["X-Bench-Wait-Us"])
    finally:
        browser.close()
        issuer_browser.close()


def batch(app: App, base: str, master: int, accounts: list[str], clients: int) -> Batch:
    out = Batch(sign_ins=len(accounts))
    lock = threading.Lock()

    def one(account: str) -> None:
        app_us, wait_us = sign_in(app, base, account)
        with lock:
            out.callbacks_us.append(app_us)
            out.waits_us.append(wait_us)

    cpu = worker_cpu(master)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, accounts))  # re-raises the first failure
    out.seconds = time.perf_counter() - started
    out.cpu_s = worker_cpu(master) - cpu
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


@contextmanager
def servers() -> Iterator[dict[App, tuple[str, int]]]:
    from tools.issuer import Unavailable, free_port, issuer

    if not Path(sys.executable).with_name("gunicorn").exists():
        raise Unavailable("gunicorn is not installed (pip install -e '.[bench]')")
    ports = {OURS: free_port(), DANCE: free_port()}
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench_signin_")))
        issuer_url = stack.enter_context(issuer(
            f"http://127.0.0.1:{ports[OURS]}/auth/callback/corp",
            f"http://127.0.0.1:{ports[DANCE]}/login/corp/authorized",
        ))
        providers = {"corp": {
            "provider": "oidc", "client_id": "blog", "client_secret": "blog-secret-0123456789",
            "server_metadata_url": f"{issuer_url}/.well-known/openid-configuration",
        }}
        import json

        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "OAUTHLIB_INSECURE_TRANSPORT": "1",
            # ours: the example blog on SQLite, per-process rate limits, behind "one proxy" so
            # each client brings its own address
            "BLOG_SECRET_KEY": secrets.token_hex(32),
            "BLOG_DATABASE_URL": f"sqlite:///{folder / 'ours.sqlite3'}",
            "BLOG_REDIS_URL": "",
            "BLOG_PROVIDERS": json.dumps(providers),
            "BLOG_PROXIES": "1",
            "BLOG_SITE_URL": f"http://127.0.0.1:{ports[OURS]}",
            # Flask-Dance's app
            "SIGNIN_ISSUER": issuer_url,
            "SIGNIN_DANCE_DB": f"sqlite:///{folder / 'dance.sqlite3'}",
            "SIGNIN_SECRET": secrets.token_hex(32),
        }
        # Create both schemas once, before several workers start (each would otherwise race).
        code = ("from examples.blog.wsgi import app_from_environment as f; f(); "
                "from benchmarks.signin_apps import build_dance; build_dance(create=True)")
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"the apps could not start:\n{done.stderr[-2000:]}")
        yield {app: stack.enter_context(gunicorn(app, env, port)) for app, port in ports.items()}


def run(ctx: Context) -> None:
    from tools.issuer import Unavailable

    try:
        with servers() as bases:
            results = measure(ctx, bases)
    except Unavailable as exc:
        if os.environ.get("CI"):
            raise
        print(f"   sign-in benchmark skipped: {exc}")
        return
    report(ctx, results)


Results = dict[tuple[App, int], list[Batch]]


def measure(ctx: Context, bases: dict[App, tuple[str, int]]) -> Results:
    rounds = 1 if ctx.quick else 8
    sizes = {1: 2, 8: 8} if ctx.quick else {1: 6, 8: 24}
    pool = [f"reader-{i}" for i in range(24)]
    rng = random.Random(0)
    for app, (base, master) in bases.items():
        # Warm: metadata, JWKS, first imports, both workers; and every account signs in once,
        # so measured rounds see returning readers (the same account twice in a batch is then
        # a plain concurrent sign-in, not a race to create it).
        for chunk in range(0, len(pool), 8):
            batch(app, base, master, pool[chunk:chunk + 8], 8)
        batch(app, base, master, pool[:2], 1)
    results: Results = {(app, c): [] for app in bases for c in sizes}
    apps = list(bases)
    for _ in range(rounds):
        for clients, n in sizes.items():
            accounts = [rng.choice(pool) for _ in range(n)]
            rng.shuffle(apps)
            for app in apps:
                base, master = bases[app]
                results[app, clients].append(batch(app, base, master, accounts, clients))
    return results


def report(ctx: Context, results: Results) -> None:
    def ms(values: list[float]) -> dict[str, float]:
        return {"median_ms": round(statistics.median(values) / 1000, 3),
                "p95_ms": round(p95(values) / 1000, 3)}

    details: dict[str, Any] = {"workers": WORKERS, "worker_class": "sync"}
    for clients in (1, 8):
        ours, dance = results[OURS, clients], results[DANCE, clients]
        ratios = [statistics.median(o.callbacks_us) / statistics.median(d.callbacks_us)
                  for o, d in zip(ours, dance, strict=True)]
        all_ours = [x for b in ours for x in b.callbacks_us]
        all_dance = [x for b in dance for x in b.callbacks_us]
        key = "callback_ratio_vs_flask_dance" + ("" if clients == 1 else "_8")
        ctx.record(key, statistics.median(ratios), low=min(ratios), high=max(ratios),
                   target="<= 0.33",
                   note=f"{clients} client(s): callback minus provider wait, median/p95 "
                        f"{statistics.median(all_ours) / 1000:.2f}/{p95(all_ours) / 1000:.2f} ms "
                        f"vs {statistics.median(all_dance) / 1000:.2f}/"
                        f"{p95(all_dance) / 1000:.2f} ms")
        rates = [b.rate for b in ours]
        dance_rate = statistics.median(b.rate for b in dance)
        ctx.record(f"sign_ins_per_s_{clients}", statistics.median(rates), low=min(rates),
                   high=max(rates),
                   note=f"ours end to end, {clients} client(s); Flask-Dance {dance_rate:.1f}/s")
        details[f"clients_{clients}"] = {
            name: {
                "callback": ms(all_cb),
                "provider_wait": ms([x for b in batches for x in b.waits_us]),
                "sign_ins_per_s": [round(b.rate, 2) for b in batches],
                "cpu_ms_per_sign_in": [round(b.cpu_s / b.sign_ins * 1000, 3) for b in batches],
            }
            for name, batches, all_cb in (("ours", ours, all_ours),
                                          ("flask_dance", dance, all_dance))
        }
        details[f"clients_{clients}"]["callback_ratios"] = [round(r, 4) for r in ratios]

    def cpu_per_round(app: App) -> list[float]:
        per_round = zip(results[app, 1], results[app, 8], strict=True)
        return [(a.cpu_s + b.cpu_s) / (a.sign_ins + b.sign_ins) for a, b in per_round]

    ours_cpu, dance_cpu = cpu_per_round(OURS), cpu_per_round(DANCE)
    cpu_ratios = [o / d if d else float("nan") for o, d in zip(ours_cpu, dance_cpu, strict=True)]
    ctx.record("app_cpu_ratio_vs_flask_dance", statistics.median(cpu_ratios),
               low=min(cpu_ratios), high=max(cpu_ratios), target="<= 0.5",
               note=f"worker CPU per sign-in {statistics.median(ours_cpu) * 1000:.1f} vs "
                    f"{statistics.median(dance_cpu) * 1000:.1f} ms (/proc utime+stime)")
    details["cpu_ratios"] = [round(r, 4) for r in cpu_ratios]
    ctx.detail("signin", details)

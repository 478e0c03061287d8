"""Under a real server: gunicorn, 2 sync workers, the example blog on PostgreSQL with Redis.

A load generator on 127.0.0.1 (``wrk`` when installed, else a small Python one with the same
number of connections) requests the signed-in page (``/bench/page`` with a commenter's cookie)
and the bare route (``/bench/bare``, same cookie) in alternating timed runs; each pair of runs
gives one ratio of requests/s. ``server_rps_ratio`` is their median (target ≥ 0.8), on
PostgreSQL + Redis (how multi-worker sites run; without them it is measured on SQLite and the
note says so); ``server_rps_ratio_sqlite`` is the same with the workers sharing a SQLite file.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from .bench_page import POSTGRES_URL, REDIS_URL, postgres_schema, redis_available
from .bench_page import signed_in_cookie as make_cookie
from .harness import Context

ROOT = Path(__file__).resolve().parents[1]
CONNECTIONS = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_gunicorn(env: dict[str, str], port: int, workers: int = 2) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--backlog", "256",
        "benchmarks.server_app:app",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            status = get_status(port, "/bench/bare")
            if status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.2)
    stop(process)
    raise RuntimeError("gunicorn did not answer within 30 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def get_status(port: int, path: str, cookie: str | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def wrk_rps(port: int, path: str, cookie: str, seconds: float) -> float:
    wrk = shutil.which("wrk")
    assert wrk is not None
    done = subprocess.run(
        [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "-H", f"Cookie: {cookie}",
         f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, timeout=seconds + 30, check=True,
    )
    found = re.search(r"Requests/sec:\s*([0-9.]+)", done.stdout)
    if found is None or "Non-2xx" in done.stdout:
        raise RuntimeError(f"wrk: {done.stdout}{done.stderr}")
    return float(found.group(1))


def python_rps(port: int, path: str, cookie: str, seconds: float) -> float:
    """The fallback load generator: CONNECTIONS threads, each a request loop."""
    counts = [0] * CONNECTIONS
    stop_at = time.monotonic() + seconds

    def client(i: int) -> None:
        while time.monotonic() < stop_at:
            if get_status(port, path, cookie) != 200:
                raise RuntimeError(f"{path} failed")
            counts[i] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - started)


def measure(ctx: Context, *, postgres: bool) -> tuple[str, list[float], list[float], list[float]]:
    """Serve the blog under gunicorn and alternate timed runs of the page and the bare route:
    the backend's name, the per-pair ratios, and the page's and the bare route's req/s."""
    # Many short alternating runs: the machine's load swings over seconds, and a pair of runs
    # a second apart sees the same machine more often than one of runs four seconds apart.
    rounds = 2 if ctx.quick else 20
    seconds = 1.0
    load = wrk_rps if shutil.which("wrk") else python_rps
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench_server_")))
        env = {**os.environ, "BENCH_FOLDER": str(folder), "PYTHONPATH": str(ROOT)}
        backend = "SQLite"
        if postgres:
            schema = stack.enter_context(postgres_schema())
            if schema is None or not redis_available():
                return "", [], [], []
            backend = "PostgreSQL + Redis"
            env.update(BENCH_DATABASE_URI=POSTGRES_URL, BENCH_SCHEMA=schema,
                       BENCH_REDIS_URL=REDIS_URL)
        os.environ.update({k: v for k, v in env.items() if k.startswith("BENCH_")})
        try:
            from . import server_app

            app = server_app.build()
        finally:
            for key in ("BENCH_FOLDER", "BENCH_DATABASE_URI", "BENCH_SCHEMA", "BENCH_REDIS_URL"):
                os.environ.pop(key, None)
        cookie, _ = make_cookie(app)
        port = free_port()
        process = start_gunicorn(env, port)
        stack.callback(stop, process)
        for path in ("/bench/page", "/bench/bare"):
            if get_status(port, path, cookie) != 200:
                raise RuntimeError(f"{path} does not answer 200 under gunicorn")
        load(port, "/bench/page", cookie, 1.0)  # warm both workers
        ratios, page_rps, bare_rps = [], [], []
        for i in range(rounds):
            order = ("/bench/page", "/bench/bare") if i % 2 else ("/bench/bare", "/bench/page")
            got = {path: load(port, path, cookie, seconds) for path in order}
            page_rps.append(got["/bench/page"])
            bare_rps.append(got["/bench/bare"])
            ratios.append(got["/bench/page"] / got["/bench/bare"])
        from social_auth import get_state

        get_state(app).store.engine.dispose()
    return backend, ratios, page_rps, bare_rps


def run(ctx: Context) -> None:
    generator = "wrk" if shutil.which("wrk") else "python"
    results = {"postgres": measure(ctx, postgres=True), "sqlite": measure(ctx, postgres=False)}
    if not results["postgres"][1]:
        print("   PostgreSQL or Redis unavailable: the headline key is measured on SQLite")
        results["postgres"] = results["sqlite"]
    for name, key in (("postgres", "server_rps_ratio"), ("sqlite", "server_rps_ratio_sqlite")):
        backend, ratios, page_rps, bare_rps = results[name]
        ctx.record(key, statistics.median(ratios), low=min(ratios), high=max(ratios),
                   target=">= 0.8" if name == "postgres" else "",
                   note=f"{statistics.median(page_rps):.0f} vs {statistics.median(bare_rps):.0f} "
                        f"req/s; gunicorn 2 workers, {backend}, {generator} -c{CONNECTIONS}")
        ctx.detail(key.replace("_ratio", ""), {
            "page_rps": [round(x, 1) for x in page_rps],
            "bare_rps": [round(x, 1) for x in bare_rps],
            "ratios": [round(x, 4) for x in ratios],
            "backend": backend,
            "generator": generator,
            "connections": CONNECTIONS,
        })

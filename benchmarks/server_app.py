"""The example blog as gunicorn serves it in the benchmarks: ``benchmarks.server_app:app``.

Configured from the environment the benchmark sets: ``BENCH_FOLDER`` (its SQLite files),
``BENCH_DATABASE_URI``, ``BENCH_SCHEMA`` (a PostgreSQL search path) and ``BENCH_REDIS_URL``.
It adds the page benchmark's ``/bench/bare`` and ``/bench/page`` routes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def build() -> Any:
    from benchmarks.bench_page import blog_app

    config: dict[str, Any] = {}
    if os.environ.get("BENCH_DATABASE_URI"):
        config["SOCIAL_AUTH_DATABASE_URI"] = os.environ["BENCH_DATABASE_URI"]
    if os.environ.get("BENCH_SCHEMA"):
        config["SOCIAL_AUTH_DATABASE_ENGINE_OPTIONS"] = {
            "connect_args": {"options": f"-csearch_path={os.environ['BENCH_SCHEMA']}"}
        }
    if os.environ.get("BENCH_REDIS_URL"):
        config["SOCIAL_AUTH_REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
    return blog_app(Path(os.environ["BENCH_FOLDER"]), **config)


app = build() if os.environ.get("BENCH_FOLDER") else None

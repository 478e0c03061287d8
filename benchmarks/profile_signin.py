"""Where our sign-in callback spends its time: a pyinstrument call tree of many callbacks.

    .venv/bin/python -m benchmarks.profile_signin [ours|flask-dance] [SIGN_INS]

Serves the app in this process (one thread, as a gunicorn sync worker) against the npm
oidc-provider, walks SIGN_INS sign-ins (default 60) and profiles only the callback requests.
Needs ``pip install pyinstrument``; ``PROFILE_ALL=1`` shows library frames too. Time spent
waiting on the provider shows as ``send``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from .bench_signin import DANCE, OURS, sign_in


class Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> int:
    from pyinstrument import Profiler

    from tools.issuer import free_port, issuer

    which = DANCE if (sys.argv[1:2] or ["ours"])[0] == "flask-dance" else OURS
    count = int((sys.argv[2:3] or ["60"])[0])
    port = free_port()
    redirect = (f"http://127.0.0.1:{port}/auth/callback/corp" if which is OURS
                else f"http://127.0.0.1:{port}/login/corp/authorized")
    with tempfile.TemporaryDirectory() as folder, issuer(redirect) as issuer_url:
        import json
        import secrets

        os.environ.update({
            "OAUTHLIB_INSECURE_TRANSPORT": "1",
            "BLOG_SECRET_KEY": secrets.token_hex(32),
            "BLOG_DATABASE_URL": f"sqlite:///{Path(folder) / 'ours.sqlite3'}",
            "BLOG_REDIS_URL": "",
            "BLOG_PROXIES": "1",
            "BLOG_SITE_URL": f"http://127.0.0.1:{port}",
            "BLOG_PROVIDERS": json.dumps({"corp": {
                "provider": "oidc", "client_id": "blog", "client_secret": "blog-secret-0123456789",
                "server_metadata_url": f"{issuer_url}/.well-known/openid-configuration"}}),
            "SIGNIN_ISSUER": issuer_url,
            "SIGNIN_DANCE_DB": f"sqlite:///{Path(folder) / 'dance.sqlite3'}",
            "SIGNIN_SECRET": secrets.token_hex(32),
        })
        from . import signin_apps

        if which is DANCE:
            signin_apps.build_dance(create=True)
            app = signin_apps.dance()
        else:
            app = signin_apps.ours()
        profiler = Profiler(interval=0.0002)
        inner = app.wsgi_app

        def profiled(environ: dict[str, Any], start_response: Any) -> Any:
            if environ["PATH_INFO"].startswith(which.callback.split("?")[0]) and warm.is_set():
                profiler.start()
                try:
                    return list(inner(environ, start_response))
                finally:
                    profiler.stop()
            return inner(environ, start_response)

        warm = threading.Event()
        app.wsgi_app = profiled
        server = make_server("127.0.0.1", port, app, handler_class=Quiet)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{port}"
        try:
            for i in range(5):
                sign_in(which, base, f"warm-{i}")
            warm.set()
            for i in range(count):
                sign_in(which, base, f"reader-{i % 20}")
        finally:
            server.shutdown()
        every_frame = os.environ.get("PROFILE_ALL") == "1"
        print(profiler.output_text(unicode=True, color=False, show_all=every_frame))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Bluesky sign-in cost, against the atproto-shaped local host of the tests (a PLC directory,
a PDS and its authorization server on 127.0.0.1; the reference PDS is not used here):

- ``handle_signin_app_cpu_ms``: our CPU (this thread's) for one whole sign-in by DID through
  the real routes: the start (discovery, PAR with DPoP and the nonce demand, the flow cookie)
  and the callback (the DPoP-bound token request, the profile record, the store, the session),
  with neither the discovery nor the server's nonce cached (one app; a known identity after
  the warm-up round). The host's own work runs on its threads and is not counted; neither is
  the browser's visit to the authorization page.
- ``discovery_cached_us``: a second discovery of the same DID, answered from the per-app
  cache (what a second sign-in of that handle spends before the PAR).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey

from social_auth import get_state
from social_auth.handles import bluesky
from social_auth.handles.cache import DiscoveryCache

from .harness import Context


def run(ctx: Context) -> None:
    from tests.handles.atproto_server import DID, AtprotoHost
    from tests.handles.conftest import come_back, consent, handle_app, press

    key = ECKey.generate_key("P-256", parameters={"kid": "bench"})
    rounds = ctx.rounds(15)
    with tempfile.TemporaryDirectory() as folder, AtprotoHost(client_key=key).running() as host:
        options: dict[str, Any] = {
            "plc_url": host.plc_url,
            "private_key": key.as_dict(private=True),
        }
        cpu: list[float] = []
        app = handle_app(Path(folder), SOCIAL_AUTH_HANDLES={"bluesky": options})
        for i in range(rounds + 1):
            get_state(app).handles.cache.clear()  # discovery not cached: the full cost
            client = app.test_client()  # a new browser; the identity is known after round 0
            client.get("/auth/me")  # the page the commenter is on, before the sign-in
            started_cpu = time.thread_time()
            started = press(client, DID)
            spent = time.thread_time() - started_cpu
            callback = consent(started.headers["Location"])
            before = time.thread_time()
            finished = come_back(client, callback)
            spent += time.thread_time() - before
            assert finished.status_code == 302, finished.get_data(as_text=True)
            if i:  # the first warms imports and connections (and creates the commenter)
                cpu.append(spent * 1000)
        fetcher = get_state(app).fetcher
        cache = DiscoveryCache()
        client_id = "http://localhost/auth/handles/bluesky/client-metadata.json"
        cold = time.perf_counter()
        bluesky.start(fetcher, DID, options, client_id, cache)
        cold_us = (time.perf_counter() - cold) * 1e6
        calls = ctx.calls(2000)
        warm = []
        for _ in range(rounds):
            begun = time.perf_counter()
            for _ in range(calls):
                bluesky.start(fetcher, DID, options, client_id, cache)
            warm.append((time.perf_counter() - begun) / calls * 1e6)
    ctx.record("handle_signin_app_cpu_ms", statistics.median(cpu), low=min(cpu), high=max(cpu),
               note="one Bluesky sign-in by DID, our thread's CPU, discovery not cached")
    ctx.record("discovery_cached_us", statistics.median(warm), low=min(warm), high=max(warm),
               note=f"cached discovery of a DID (uncached: {cold_us / 1000:.1f} ms, local host)")
    get_state(app).store.engine.dispose()
    ctx.detail("handles", {"signin_cpu_ms": [round(c, 3) for c in cpu],
                           "discovery_uncached_us": round(cold_us, 1)})

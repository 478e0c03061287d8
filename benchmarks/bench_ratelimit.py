"""In-process rate limiter: the cost of a hit does not grow with the number of keys offered.

``MemoryRateLimiter`` (``limits``' fixed window on its ``MemoryStorage``, at most
``MAX_KEYS`` counters) is timed, in the same interleaved rounds, on a limiter that has seen
10 keys and on one that has been offered 200,000 distinct keys (a flood of new addresses; it
keeps ``MAX_KEYS`` of them and evicts the rest). Two kinds of hit, each a ratio of the flooded
limiter to the small one:

- ``ratelimit_hit_growth``: a hit on one of 10 keys the limiter already counts (a returning
  client), the same 10 keys on both sides;
- ``ratelimit_new_key_growth``: a hit on a key never seen before, on a full limiter, so it
  evicts one counter; the small side is a limiter capped at 10 keys holding 10, so both run
  the same eviction path and only the number of counters differs.

Both include what ``limits``' background expiry sweep (over every counter, every 10 ms while
hits come in) takes from the hitting thread. ``ratelimit_keys_kept`` is how many counters the
flooded limiter holds, and ``ratelimit_mib_at_cap`` the memory of a limiter holding ``MAX_KEYS``
counters (tracemalloc), that is the bound in bytes.
"""

from __future__ import annotations

import itertools
import tracemalloc
from collections.abc import Callable

from social_auth.ratelimit import MAX_KEYS, MemoryRateLimiter

from .harness import Context, interleave, ratio_of

WINDOW = 15 * 60
LIMIT = 10**9  # never reached: time the counting, not the refusal
RECURRING = [f"client:198.51.100.{i}" for i in range(10)]


def flooded(offered: int) -> MemoryRateLimiter:
    limiter = MemoryRateLimiter()
    for i in range(offered):
        limiter.hit(f"email:flood{i}@example.com", LIMIT, WINDOW)
    return limiter


def recurring_hits(limiter: MemoryRateLimiter) -> Callable[[], object]:
    for key in RECURRING:
        limiter.hit(key, LIMIT, WINDOW)
    keys = itertools.cycle(RECURRING)
    return lambda: limiter.hit(next(keys), LIMIT, WINDOW)


def new_key_hits(limiter: MemoryRateLimiter, prefix: str) -> Callable[[], object]:
    counter = itertools.count()
    return lambda: limiter.hit(f"email:{prefix}{next(counter)}@example.com", LIMIT, WINDOW)


def mib_at_cap() -> float:
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        limiter = flooded(MAX_KEYS)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(limiter) == MAX_KEYS
    return (after - before) / 2**20


def run(ctx: Context) -> None:
    offered = 20_000 if ctx.quick else 200_000  # quick: still past the cap, so evicting
    small_new = MemoryRateLimiter(max_keys=len(RECURRING))
    for i in range(len(RECURRING)):
        small_new.hit(f"email:seed{i}@example.com", LIMIT, WINDOW)
    big_new = flooded(offered)
    big_recurring = flooded(offered)
    fns = {
        "recurring_small": recurring_hits(MemoryRateLimiter()),
        "recurring_big": recurring_hits(big_recurring),
        "new_small": new_key_hits(small_new, "small"),
        "new_big": new_key_hits(big_new, "big"),
    }
    t = interleave(fns, rounds=ctx.rounds(25), calls=ctx.calls(2000), warmup=1)
    kept = len(big_new)
    assert kept == MAX_KEYS and len(small_new) == len(RECURRING)
    recurring = ratio_of("recurring hit", t["recurring_big"], t["recurring_small"])
    new = ratio_of("new-key hit", t["new_big"], t["new_small"])
    ctx.detail("ratelimit_hit_growth", {**recurring.as_json(), "offered_keys": offered})
    ctx.detail("ratelimit_new_key_growth", {**new.as_json(), "offered_keys": offered})
    ctx.record("ratelimit_hit_growth", recurring, target="<= 1.5",
               note=f"{recurring.case.median * 1e6:.1f} µs/hit, {offered:,} keys offered vs "
                    f"10: {recurring.baseline.median * 1e6:.1f} µs")
    ctx.record("ratelimit_new_key_growth", new, target="<= 1.5",
               note=f"{new.case.median * 1e6:.1f} µs/hit evicting at {kept:,} keys vs 10: "
                    f"{new.baseline.median * 1e6:.1f} µs")
    ctx.record("ratelimit_keys_kept", kept, note=f"of {offered:,} offered (MAX_KEYS)")
    ctx.record("ratelimit_mib_at_cap", mib_at_cap(), note=f"{MAX_KEYS:,} counters")

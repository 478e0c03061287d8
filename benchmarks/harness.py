"""The frame every benchmark plugs into: interleaved rounds, medians, min-max of ratios.

A benchmark module exposes ``run(ctx: Context) -> None``. Inside, it builds callables for its
cases and baselines and hands them to ``ctx.compare(...)``, which runs them interleaved for many
rounds (the order shuffled each round, so neither side always runs warm or cold) and returns a
``Comparison`` with per-call medians and the median, min and max of the per-round ratios. The
module then records the keys it owns with ``ctx.record(key, comparison_or_value)``. The harness
merges every module's keys into ``benchmarks/results/latest.json`` (keys other modules wrote in
an earlier run are kept, so one module can be rerun alone) and prints a table.

Timings on a shared machine are noisy; ratios of interleaved rounds are not, much. Benchmarks
report; they never assert a threshold.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
#: Benchmark modules ``make bench`` runs, in order. Add a module here to plug it in.
MODULES: tuple[str, ...] = (
    "benchmarks.bench_store",
    "benchmarks.bench_id_token",
    "benchmarks.bench_page",
    "benchmarks.bench_server",
    "benchmarks.bench_signin",
    "benchmarks.bench_ratelimit",
    "benchmarks.bench_moderation",
    "benchmarks.bench_avatars",
    "benchmarks.bench_passkeys",
    "benchmarks.bench_handles",
)

Fn = Callable[[], Any]


@dataclass
class Timing:
    """Per-call seconds of one callable, one value per round."""

    name: str
    per_round: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.per_round)


@dataclass
class Comparison:
    """Ratio ``case / baseline`` per round, and the per-call medians of both."""

    label: str
    case: Timing
    baseline: Timing
    ratios: list[float]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    def as_json(self) -> dict[str, Any]:
        return {
            "case_us": round(self.case.median * 1e6, 2),
            "baseline_us": round(self.baseline.median * 1e6, 2),
            "ratio": round(self.ratio, 4),
            "ratio_min": round(min(self.ratios), 4),
            "ratio_max": round(max(self.ratios), 4),
            "rounds": len(self.ratios),
        }


@dataclass
class Row:
    """One line of the printed table and its keys in latest.json."""

    key: str
    value: float
    low: float | None = None
    high: float | None = None
    target: str = ""
    note: str = ""
    #: Shown in the table only (a per-size line under a headline key), not a JSON key.
    table_only: bool = False


def time_call(fn: Fn, calls: int) -> float:
    """Mean seconds per call over ``calls`` back-to-back calls."""
    clock = time.perf_counter
    start = clock()
    for _ in range(calls):
        fn()
    return (clock() - start) / calls


def interleave(
    fns: Mapping[str, Fn], *, rounds: int, calls: int, warmup: int = 1, seed: int = 0
) -> dict[str, Timing]:
    """Run every callable ``calls`` times per round, in a shuffled order each round."""
    rng = random.Random(seed)
    for fn in fns.values():
        for _ in range(warmup):
            time_call(fn, calls)
    timings = {name: Timing(name) for name in fns}
    order = list(fns)
    for _ in range(rounds):
        rng.shuffle(order)
        for name in order:
            timings[name].per_round.append(time_call(fns[name], calls))
    return timings


def ratio_of(label: str, case: Timing, baseline: Timing) -> Comparison:
    ratios = [c / b for c, b in zip(case.per_round, baseline.per_round, strict=True)]
    return Comparison(label, case, baseline, ratios)


class Context:
    """What a benchmark module gets: sizes for this run, the comparer, and the recorder."""

    def __init__(self, *, quick: bool, only: Sequence[str] = ()) -> None:
        self.quick = quick
        self.only = tuple(only)
        self.rows: list[Row] = []
        self.details: dict[str, Any] = {}

    def rounds(self, full: int) -> int:
        return 3 if self.quick else full

    def calls(self, full: int) -> int:
        return 2 if self.quick else full

    def compare(
        self, label: str, case: Fn, baseline: Fn, *, rounds: int, calls: int, warmup: int = 1
    ) -> Comparison:
        t = interleave({"case": case, "baseline": baseline}, rounds=rounds, calls=calls,
                       warmup=warmup)
        return ratio_of(label, t["case"], t["baseline"])

    def record(
        self,
        key: str,
        value: Comparison | float,
        *,
        target: str = "",
        note: str = "",
        low: float | None = None,
        high: float | None = None,
    ) -> None:
        """Record a headline key (with ``_min``/``_max`` for ratios) for the table and JSON."""
        if isinstance(value, Comparison):
            self.rows.append(
                Row(key, value.ratio, min(value.ratios), max(value.ratios), target, note)
            )
        else:
            self.rows.append(Row(key, float(value), low, high, target, note))

    def show(self, label: str, value: Comparison, *, note: str = "") -> None:
        """A table line that is not a key of latest.json (its data goes in ``detail``)."""
        self.rows.append(
            Row(label, value.ratio, min(value.ratios), max(value.ratios), note=note,
                table_only=True)
        )

    def detail(self, key: str, value: Any) -> None:
        """Extra data kept under ``details`` in latest.json (per-size timings and the like)."""
        self.details[key] = value


def results_json(ctx: Context, previous: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in previous.items() if k not in ("meta", "details")}
    details = dict(previous.get("details", {}))
    for row in ctx.rows:
        if row.table_only:
            continue
        out[row.key] = round(row.value, 4)
        if row.low is not None:
            out[f"{row.key}_min"] = round(row.low, 4)
        if row.high is not None:
            out[f"{row.key}_max"] = round(row.high, 4)
    details.update(ctx.details)
    out["details"] = details
    out["meta"] = {
        "quick": ctx.quick,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    return out


def table(rows: Sequence[Row]) -> str:
    lines = [f"{'key':<34} {'median':>10} {'min':>9} {'max':>9}  {'target':<8} note"]
    lines.append("-" * len(lines[0]) + "-" * 30)
    for r in rows:
        low = f"{r.low:9.3f}" if r.low is not None else " " * 9
        high = f"{r.high:9.3f}" if r.high is not None else " " * 9
        lines.append(f"{r.key:<34} {r.value:10.3f} {low} {high}  {r.target:<8} {r.note}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("BENCH_QUICK") == "1",
                        help="tiny sizes and few rounds: checks the benchmarks run, not speed")
    parser.add_argument("--only", action="append", default=[],
                        help="run only modules whose name contains this (repeatable)")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write the JSON (default benchmarks/results/latest.json)")
    args = parser.parse_args(argv)
    output: Path = args.output or RESULTS / ("quick.json" if args.quick else "latest.json")
    ctx = Context(quick=args.quick, only=args.only)
    chosen = [m for m in MODULES if not args.only or any(o in m for o in args.only)]
    for name in chosen:
        started = time.perf_counter()
        print(f"== {name}", file=sys.stderr, flush=True)
        importlib.import_module(name).run(ctx)
        print(f"   {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    previous: dict[str, Any] = {}
    if output.exists():
        try:
            previous = json.loads(output.read_text())
        except ValueError:
            previous = {}
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results_json(ctx, previous), indent=2, sort_keys=True) + "\n")
    tmp.replace(output)
    print(table(ctx.rows))
    print(f"\nwritten to {output}")
    return 0


if __name__ == "__main__":
    # Run through the package (``python -m benchmarks``) so modules share this module's classes.
    from benchmarks.harness import main as package_main

    raise SystemExit(package_main())

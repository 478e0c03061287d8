"""The provider health report the admin page and ``flask social-auth providers --health``
show: capabilities, callback URL, the last hour's and day's sign-ins, latency, last error."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .health import BUCKET_SECONDS, DAY_BUCKETS, HOUR_BUCKETS, HealthRecorder, bucket_ms
from .provider import Provider
from .store.health import Status
from .store.results import iso


def capabilities(provider: Provider) -> dict[str, Any]:
    """The adapter's capability flags, with the API version this instance uses."""
    caps = provider.capabilities
    version = caps.api_version
    if caps.version_setting and provider.settings.get(caps.version_setting):
        version = str(provider.settings[caps.version_setting])
    return {
        "returns_email": caps.returns_email,
        "email_verified": caps.email_verified,
        "paid_tier": caps.paid_tier,
        "business_verification": caps.business_verification,
        "api_version": version,
        "api_end_of_life": dict(caps.end_of_life).get(version or ""),
        "deprecated": caps.deprecated,
    }


def summary(rows: Iterable[tuple[int, str, int]], since_bucket: int) -> dict[str, Any]:
    """Counts and the median latency of (bucket, metric, n) rows from ``since_bucket`` on."""
    started = finished = 0
    failed: dict[str, int] = {}
    latencies: dict[int, int] = {}
    for bucket, metric, n in rows:
        if bucket < since_bucket:
            continue
        if metric == "started":
            started += n
        elif metric == "finished":
            finished += n
        elif metric.startswith("failed:"):
            failed[metric[7:]] = failed.get(metric[7:], 0) + n
        elif metric.startswith("lat:"):
            index = int(metric[4:])
            latencies[index] = latencies.get(index, 0) + n
    return {"started": started, "finished": finished, "failed": dict(sorted(failed.items())),
            "median_latency_ms": _median(latencies)}


def _median(latencies: Mapping[int, int]) -> float | None:
    total = sum(latencies.values())
    if not total:
        return None
    seen = 0
    for index in sorted(latencies):
        seen += latencies[index]
        if seen * 2 >= total:
            return round(bucket_ms(index), 1)
    return None  # pragma: no cover - the loop always reaches the half


def report(providers: Mapping[str, Provider], recorder: HealthRecorder,
           callbacks: Mapping[str, str], now: float) -> list[dict[str, Any]]:
    """One entry per configured provider (this worker's counts are written first)."""
    recorder.flush()
    current = int(now // BUCKET_SECONDS)
    rows: dict[str, list[tuple[int, str, int]]] = {}
    for instance, bucket, metric, n in recorder.sink.counts(current - DAY_BUCKETS):
        rows.setdefault(instance, []).append((bucket, metric, n))
    statuses = recorder.sink.statuses()
    entries = []
    for name, provider in providers.items():
        status = statuses.get(name, Status())
        mine = rows.get(name, [])
        entries.append({
            "name": name,
            "title": provider.display_title,
            "adapter": provider.name,
            "callback_url": callbacks.get(name, ""),
            "capabilities": capabilities(provider),
            "last_hour": summary(mine, current - HOUR_BUCKETS),
            "last_day": summary(mine, current - DAY_BUCKETS),
            "last_error": status.last_error,
            "last_error_at": iso(status.last_error_at),
            "unavailable_since": iso(status.failing_since),
            "available_here": provider.available,
        })
    return entries


def text_lines(entry: Mapping[str, Any]) -> list[str]:
    """One provider's report as ``flask social-auth providers --health`` prints it."""
    caps = entry["capabilities"]
    needs = [n for n, on in (("paid API tier", caps["paid_tier"]),
                             ("business verification", caps["business_verification"])) if on]
    version = caps["api_version"] or "-"
    if caps["api_end_of_life"]:
        version += f" (end of life {caps['api_end_of_life']})"
    lines = [f"{entry['name']}: {entry['title']}"
             + (f", unavailable since {entry['unavailable_since']}"
                if entry["unavailable_since"] else ""),
             "  email: " + (f"returned, verified by {caps['email_verified']}"
                            if caps["returns_email"] else "not returned"),
             f"  needs: {', '.join(needs) or 'nothing special'}; API version {version}"
             + ("; deprecated" if caps["deprecated"] else "")]
    for label in ("last_hour", "last_day"):
        s = entry[label]
        failed = ", ".join(f"{n} {kind}" for kind, n in s["failed"].items()) or "0 failed"
        median = f"; median {s['median_latency_ms']} ms" if s["median_latency_ms"] else ""
        lines.append(f"  {label.replace('_', ' ')}: {s['started']} started, "
                     f"{s['finished']} finished, {failed}{median}")
    lines.append(f"  last error: {entry['last_error'] or 'none'}")
    return lines

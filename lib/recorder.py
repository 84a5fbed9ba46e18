"""In-process metrics: provider calls (and any other timed observation) aggregated per minute,
provider and metric, handed to the database on a round trip the process makes anyway.

No I/O here and nothing on the request path waits for it: `record_call` is a dict update under a
lock. `lib.db` drains the buffer into the next SQL call it sends (`piggyback`), so a function
records its provider calls without an extra round trip; the crons `flush()` explicitly. The
buffer is bounded: with nothing draining it (PostgREST transport and no cron in this process)
the oldest minutes are dropped first.

Histograms use fixed millisecond buckets (+Inf last), so they add up across processes and
minutes; percentiles are read from them (`quantile`).
"""

from __future__ import annotations

import bisect
import threading
import time
from typing import Any

BUCKETS_MS: tuple[float, ...] = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000)
MAX_KEYS = 2000
_lock = threading.Lock()
_buf: dict[tuple[int, str, str], list[Any]] = {}  # (minute epoch, provider, metric) → [count, total, hist|None]


def _bucket(ms: float) -> int:
    return bisect.bisect_left(BUCKETS_MS, ms)  # the first bucket whose bound is >= ms; past the last: overflow


def observe(provider: str, metric: str, value_ms: float | None = None, at: float | None = None) -> None:
    """Count one observation (with a duration in ms, it also goes into the histogram)."""
    minute = int((at if at is not None else time.time()) // 60 * 60)
    key = (minute, provider, metric)
    with _lock:
        entry = _buf.get(key)
        if entry is None:
            if len(_buf) >= MAX_KEYS:
                del _buf[min(_buf)]
            entry = _buf[key] = [0, 0.0, None]
        entry[0] += 1
        if value_ms is not None:
            entry[1] += value_ms
            if entry[2] is None:
                entry[2] = [0] * (len(BUCKETS_MS) + 1)
            entry[2][_bucket(value_ms)] += 1


def is_error(status: int | None, error: str | None) -> bool:
    """A call that says something about the provider's health: no answer, 5xx, 429, breaker open.
    A 4xx is the caller's problem (not on WhatsApp, bad request) and is not counted."""
    return error is not None or status is None or status >= 500 or status == 429


def record_call(provider: str, status: int | None, latency_ms: float, error: str | None) -> None:
    observe(provider, "provider_calls", latency_ms)
    if is_error(status, error):
        observe(provider, "provider_errors")


def reset_interval() -> None:
    """The next statement takes the buffered samples, whatever the interval (tests, crons)."""
    global _last_piggyback
    _last_piggyback = 0.0


def drain() -> list[dict[str, Any]]:
    with _lock:
        items = list(_buf.items())
        _buf.clear()
    return [{"minute": k[0], "provider": k[1], "metric": k[2], "count": v[0], "total": round(v[1], 3),
             **({"hist": v[2]} if v[2] is not None else {})} for k, v in items]


def restore(samples: list[dict[str, Any]]) -> None:
    """Put back samples whose flush failed (the call they rode on was rolled back); the next
    statement takes them."""
    global _last_piggyback
    _last_piggyback = 0.0
    with _lock:
        for s in samples:
            key = (int(s["minute"]), s["provider"], s["metric"])
            entry = _buf.get(key)
            if entry is None:
                if len(_buf) >= MAX_KEYS:
                    continue
                entry = _buf[key] = [0, 0.0, None]
            entry[0] += s["count"]
            entry[1] += s.get("total") or 0.0
            if s.get("hist") is not None:
                entry[2] = [a + b for a, b in zip(entry[2] or [0] * len(s["hist"]), s["hist"], strict=True)]


def pending() -> int:
    with _lock:
        return len(_buf)


def flush() -> int:
    """Write what is buffered now (crons, and the PostgREST transport, which cannot piggyback)."""
    from lib import db  # noqa: PLC0415 - lib.db imports this module

    samples = drain()
    if not samples:
        return 0
    try:
        return db.call("record_metric_samples", p_samples=samples) or 0
    except Exception:
        restore(samples)
        raise


def quantile(hist: list[int] | None, q: float) -> float | None:
    """The q-quantile of a histogram, interpolated inside its bucket (ms); None when empty."""
    if not hist:
        return None
    total = sum(hist)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(hist):
        if n and seen + n >= rank:
            lo = BUCKETS_MS[i - 1] if i > 0 else 0.0
            hi = BUCKETS_MS[i] if i < len(BUCKETS_MS) else BUCKETS_MS[-1]
            return round(lo + (hi - lo) * ((rank - seen) / n), 1)
        seen += n
    return float(BUCKETS_MS[-1])


# Samples ride along at most once per interval: they are per-minute aggregates, and writing them
# on every webhook's statement cost the hot path a metrics insert per event (bench.ceiling).
PIGGYBACK_INTERVAL_SECONDS = 1.0
_last_piggyback = 0.0


def piggyback(query: Any, params: list[Any]) -> tuple[Any, list[Any], list[dict[str, Any]]]:
    """`query` (one `select public.fn(...)`) extended to also record the buffered samples, in the
    same statement: one round trip, one transaction. If the call fails, the caller `restore`s."""
    global _last_piggyback
    if not _buf:
        return query, params, []
    now = time.monotonic()
    with _lock:
        if now - _last_piggyback < PIGGYBACK_INTERVAL_SECONDS:
            return query, params, []
        _last_piggyback = now
    samples = drain()
    if not samples:
        return query, params, samples
    from psycopg import sql  # noqa: PLC0415 - only the psycopg transport calls this
    from psycopg.types.json import Jsonb  # noqa: PLC0415

    wrapped = sql.SQL("with m as materialized (select public.record_metric_samples(%s) as n) select ({}) from m"
                      ).format(query)
    return wrapped, [Jsonb(samples), *params], samples

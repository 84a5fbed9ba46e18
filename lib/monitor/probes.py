"""Probing the Evolution server and numbers' provider states.

The server probe is `GET /instance/fetchInstances?instanceName=<one of ours>` with the global key:
authenticated, answered from Evolution's database, one row. `GET /` is not used for liveness: it
makes Evolution fetch https://web.whatsapp.com/sw.js on every call (EvolutionAPI/evolution-api
v2.3.6, src/api/routes/index.router.ts; 2.3 s when WhatsApp is unreachable). The version, which
only `GET /` reports, is asked at most once a day (`VERSION_MAX_AGE`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from lib import config, db, log, resilience
from lib.errors import AppError
from lib.providers import provider
from lib.providers.base import NumberRef

_log = log.get("monitor")
PROBE_TIMEOUT = httpx.Timeout(5.0, connect=3.0)
VERSION_MAX_AGE = timedelta(days=1)
SENTINEL_INSTANCE = "inbox-health-probe"
_client_lock = threading.Lock()
_client: httpx.Client | None = None


def _probe_client() -> httpx.Client:
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(timeout=PROBE_TIMEOUT, headers={"User-Agent": "wa-inbox-monitor"})
        return _client


def evolution_server(instance: str | None = None) -> dict[str, Any]:
    """{"reachable", "ok", "latency_ms", "error"?}; never raises for the server's failures.

    200 (the instance) and 404 (no such instance) both prove the server answers from its database
    with our key; 401 means it answers but refuses the key (reachable, not ok)."""
    s = config.settings()
    url = config.require(s.evolution_api_url, "EVOLUTION_API_URL")
    key = config.require(s.evolution_global_api_key, "EVOLUTION_GLOBAL_API_KEY")
    call = resilience.Call(provider="evolution", operation="probe", method="GET",
                           url=url.rstrip("/") + "/instance/fetchInstances",
                           params={"instanceName": instance or SENTINEL_INSTANCE}, headers={"apikey": key},
                           max_attempts=1, budget=8.0)
    started = time.perf_counter()
    try:
        resp = resilience.send(_probe_client(), call)
    except AppError as exc:
        return {"reachable": False, "ok": False, "error": exc.code, "latency_ms": _ms(started)}
    latency = _ms(started)
    if resp.status_code in (200, 404):
        return {"reachable": True, "ok": True, "latency_ms": latency}
    return {"reachable": True, "ok": False, "latency_ms": latency, "error": f"http_{resp.status_code}"}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def version_if_stale() -> str | None:
    """The server's version from `GET /`, only when the recorded one is older than a day."""
    known = db.call("probe_version", p_target="evolution") or {}
    at = known.get("at")
    if at and datetime.fromisoformat(str(at)) > datetime.now(UTC) - VERSION_MAX_AGE:
        return None
    try:
        return provider("evolution").server_info().get("version")
    except AppError:
        return None


def probe_and_record_evolution(instance: str | None = None) -> dict[str, Any] | None:
    """Probe the Evolution server and record the result; None when Evolution is not configured."""
    s = config.settings()
    if not (s.evolution_api_url and s.evolution_global_api_key):
        return None
    result = evolution_server(instance)
    result["version"] = record_evolution(result)
    return result


def record_evolution(result: dict[str, Any]) -> str | None:
    """Record a server probe; the version on record (asked afresh when the recorded one is older
    than a day, else the last one known)."""
    fresh = version_if_stale() if result["ok"] else None
    return db.call("record_probe", p_target="evolution", p_ok=result["ok"], p_latency_ms=result["latency_ms"],
                   p_version=fresh, p_error=result.get("error"))


def run_bounded(rows: Iterable[dict[str, Any]], fn: Callable[[dict[str, Any]], dict[str, Any]],
                deadline: float, concurrency: int) -> list[dict[str, Any]]:
    """fn over rows with at most `concurrency` in flight; rows not started by `deadline` are
    skipped, and calls still running at the deadline are left behind (their results dropped)."""
    rows = list(rows)
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def task(row: dict[str, Any]) -> None:
        if time.monotonic() >= deadline:
            return
        out = fn(row)
        with lock:
            results.append(out)

    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="monitor")
    try:
        futures = [pool.submit(task, r) for r in rows]
        wait(futures, timeout=max(0.0, deadline - time.monotonic()), return_when=FIRST_EXCEPTION)
        for f in futures:
            if f.done() and f.exception() is not None:
                raise f.exception()  # a bug, not a provider failure: those are results
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    with lock:
        return list(results)


def number_state(row: dict[str, Any]) -> dict[str, Any]:
    """The provider's view of one number; a provider error is a result, not an exception."""
    try:
        state = provider(row["provider"]).connection_state(NumberRef.from_row(row))
    except AppError as exc:
        return {"number_id": row["id"], "error": exc.code}
    return {"number_id": row["id"], "status": state.status, "raw_state": state.raw_state,
            "reason_code": state.reason_code, "reason": state.reason}

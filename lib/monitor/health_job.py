"""The health cron (`/api/cron/health`, every 5 minutes).

1. probe the Evolution server (cheap endpoint, see probes.py) and record the result;
2. probe a rotating batch of live numbers' provider states (`HEALTH_BATCH_SIZE`, at most
   `MONITOR_CONCURRENCY` calls in flight, a cursor in the database so the next run continues);
   a state that disagrees with ours goes through the number state machine (source `health`);
3. write buffered metrics and roll up the last minutes (retention included);
4. evaluate the alert rules (server down, error rate, authentication failures, flap summaries);
5. with time left, continue the keepalive pass if one is due; then deliver the outbox.
Each step is independent: one failing is reported and the others still run. The whole run stays
inside `CRON_BUDGET_SECONDS` (45 s by default; the function's limit is 60 s).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lib import config, db, log, recorder
from lib.errors import AppError
from lib.monitor import keepalive, outbox, probes

_log = log.get("monitor")
PROBE_SHARE = 0.5  # of the budget, for the number probes


def settings_for_sql() -> dict[str, float]:
    s = config.settings()
    return {"cooldown_seconds": s.alert_cooldown_seconds,
            "server_down_after_seconds": s.alert_server_down_after_seconds,
            "error_rate": s.alert_error_rate, "error_window_seconds": s.alert_error_window_seconds,
            "min_calls": s.alert_min_calls, "auth_failures": s.alert_auth_failures,
            "auth_window_seconds": s.alert_auth_window_seconds, "phone_unseen_days": s.phone_unseen_warn_days}


def step(name: str, fn: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    try:
        return fn()
    except AppError as exc:
        _log.warning("monitor step failed", extra={"step": name, "code": exc.code, "error": exc.message})
        return {"error": exc.code}
    finally:
        _log.info("monitor step", extra={"step": name, "ms": round((time.perf_counter() - started) * 1000, 1)})


def probe_numbers(deadline: float) -> dict[str, Any]:
    s = config.settings()
    rows = db.call("monitor_next_batch", p_name="health", p_limit=s.health_batch_size)
    results = probes.run_bounded(rows, probes.number_state, deadline, s.monitor_concurrency)
    recorded = db.call("monitor_record_states", p_results=results) if results else {"recorded": 0, "changed": 0}
    errors = sum(1 for r in results if "error" in r)
    return {"batch": len(rows), "probed": len(results), "provider_errors": errors, "changed": recorded["changed"]}


def _history(budget: float) -> dict[str, int]:
    from lib import conversations  # noqa: PLC0415 - only when there is time left for it

    return conversations.run_due_imports(budget=max(budget, 0.0))


def run() -> dict[str, Any]:
    s = config.settings()
    started = time.monotonic()
    deadline = started + s.cron_budget_seconds
    report: dict[str, Any] = {}
    report["evolution"] = step("probe_evolution", probes.probe_and_record_evolution)
    report["numbers"] = step("probe_numbers", lambda: probe_numbers(started + s.cron_budget_seconds * PROBE_SHARE))
    report["metrics"] = step("rollup", lambda: {"flushed": recorder.flush(), **db.call("monitor_rollup")})
    report["alerts"] = step("evaluate", lambda: db.call("monitor_evaluate", p_settings=settings_for_sql()))
    if time.monotonic() < deadline - 15:
        report["keepalive"] = step("keepalive", lambda: keepalive.run(deadline - 10, deliver=False))
    if time.monotonic() < deadline - 12:
        # History: first-connection imports, resumed ones, and the window a server outage missed
        # (lib.conversations), in what is left of the run.
        report["history"] = step("history", lambda: _history(deadline - 10 - time.monotonic()))
    # Once per run, last: a message that fails now is retried by the next run, not by this one.
    report["delivered"] = step("deliver", lambda: outbox.deliver(deadline))
    report["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
    return report

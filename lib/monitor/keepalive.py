"""Keepalive (`/api/cron/keepalive`, weekly; the health cron continues an unfinished pass).

For every active number whose last check is older than `KEEPALIVE_INTERVAL_DAYS`:
- a cheap live check through its provider. Evolution's `connectionState: open` can lie when the
  socket is dead (sends then fail with 500 "Connection Closed": EvolutionAPI/evolution-api issues
  #2403 and #1772),
  so an open Evolution session is asked something only a live socket answers:
  `POST /chat/whatsappNumbers/{instance}` for the number's own phone. A 5xx or no answer there,
  while the state says open, is a stuck session: it is restarted (`POST /instance/restart`).
  GREEN-API runs the session itself and reports it in `getStateInstance`; its state is the check.
- a state other than ours goes through the number state machine (source `health`);
The phone-unseen warning (10+ days; WhatsApp logs linked devices out after 14 days without the
primary phone, https://faq.whatsapp.com/378279804439436) needs no provider call: the health cron
evaluates it in SQL every run (`private.evaluate_phone_unseen`), so a weekly pass cannot miss the
window between day 10 and day 14.
The pass resumes from where the last run stopped: a number is due until it has been checked.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from lib import config, db, log, resilience
from lib.errors import AppError
from lib.monitor import outbox, probes
from lib.providers import provider
from lib.providers.base import NumberRef
from lib.providers.naming import digits

_log = log.get("keepalive")
BATCH = 200


def _evolution_live(row: dict[str, Any]) -> bool:
    """Does the Evolution session answer something only a live socket can? (see module doc)"""
    prov = provider("evolution")
    name = row["provider_instance_id"]
    phone = digits(row.get("phone")) or "0"
    call = resilience.Call(provider="evolution", operation="live_check", method="POST",
                           url=f"{prov.base_url}/chat/whatsappNumbers/{name}", instance=name,
                           json={"numbers": [phone]}, headers={"apikey": row.get("api_token") or ""},
                           max_attempts=1, budget=10.0)
    try:
        resp = resilience.send(probes._probe_client(), call)
    except AppError:
        return False
    return resp.status_code < 500


# Provider → the extra live check for a session its provider reports as connected.
LIVE_CHECKS = {"evolution": _evolution_live}


def check(row: dict[str, Any]) -> dict[str, Any]:
    state = probes.number_state(row)
    if "error" in state:
        return {**state, "result": "error:" + state["error"]}
    if state["status"] != "active":
        return {**state, "result": "state:" + state["status"]}
    live = LIVE_CHECKS.get(row["provider"])
    if live is None or live(row):
        return {**state, "result": "ok"}
    try:
        provider(row["provider"]).restart(NumberRef.from_row(row))
    except AppError as exc:
        _log.warning("stuck session not restarted", extra={"number_id": row["id"], "code": exc.code})
        return {**state, "result": "restart_failed:" + exc.code}
    _log.warning("stuck session restarted", extra={"number_id": row["id"], "provider": row["provider"]})
    return {**state, "result": "restarted"}


def run(deadline: float | None = None, deliver: bool = True) -> dict[str, Any]:
    s = config.settings()
    started = time.monotonic()
    deadline = deadline if deadline is not None else started + s.cron_budget_seconds
    due_before = datetime.now(UTC) - timedelta(days=s.keepalive_interval_days)
    counts: dict[str, int] = {"checked": 0, "ok": 0, "restarted": 0, "changed": 0, "other": 0}
    finished = False
    while time.monotonic() < deadline - 5:
        rows = db.call("monitor_next_batch", p_name="keepalive", p_limit=BATCH, p_statuses=["active"],
                       p_due_before=due_before)
        if not rows:
            finished = True
            break
        results = probes.run_bounded(rows, check, deadline - 3, s.monitor_concurrency)
        if not results:
            break
        changed = [r for r in results if "status" in r and r["status"] != "active"]
        if changed:
            counts["changed"] += db.call("monitor_record_states", p_results=changed)["changed"]
        db.call("keepalive_record", p_results=[{"number_id": r["number_id"], "result": r["result"]}
                                                          for r in results])
        counts["checked"] += len(results)
        for r in results:
            key = r["result"] if r["result"] in ("ok", "restarted") else "other"
            counts[key] += 1
    report: dict[str, Any] = {**counts, "finished": finished,
                              "elapsed_ms": round((time.monotonic() - started) * 1000, 1)}
    if deliver:
        report["delivered"] = outbox.deliver(deadline + 5)
    return report

"""Evolution health: is the server reachable (latency, version), and do the instances agree with us?

Healthy (200) when Evolution answers and the database answers; 503 otherwise. The figures are for
an authorised caller only (`Authorization: Bearer $CRON_SECRET`): a public caller learns healthy
or not, nothing more.
"""

from __future__ import annotations

import time
from typing import Any

from lib import db, log, redis
from lib.errors import AppError
from lib.providers import provider

_log = log.get("health")
# Our statuses that correspond to each provider status: a number outside the set disagrees.
AGREES = {"active": {"active"}, "connecting": {"connecting", "qr", "pending"},
          "disconnected": {"disconnected", "logged_out", "blocked", "qr", "pending", "connecting"},
          "logged_out": {"logged_out", "disconnected", "qr"}, "blocked": {"blocked", "disconnected", "logged_out"}}


def evolution() -> tuple[bool, dict[str, Any]]:
    report: dict[str, Any] = {}
    healthy = True
    prov = provider("evolution")
    started = time.perf_counter()
    try:
        report["evolution"] = {"reachable": True, **prov.server_info()}
        instances = {i.provider_instance_id: i for i in prov.list_instances()}
        report["evolution"]["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        report["evolution"]["instances"] = len(instances)
    except AppError as exc:
        healthy = False
        instances = None
        report["evolution"] = {"reachable": False, "error": exc.code,
                               "latency_ms": round((time.perf_counter() - started) * 1000, 1)}
    try:
        ours = db.call("provider_health", p_provider="evolution")
        report["numbers"] = {"by_status": ours["counts"]}
        if instances is not None:
            report["numbers"]["disagreements"] = [{k: v for k, v in d.items() if k != "state"}
                                                  for d in disagreements(ours["numbers"], instances)[:100]]
    except AppError as exc:
        healthy = False
        report["numbers"] = {"error": exc.code}
    report["webhook_auth_failures"] = redis.local_counters.get("webhook_auth_failures:evolution", 0)
    return healthy, report


def disagreements(numbers: list[dict[str, Any]], instances: dict[str, Any]) -> list[dict[str, Any]]:
    """Our numbers whose status the provider's live state contradicts (`state` None: instance missing)."""
    found = []
    for n in numbers:
        live = instances.get(n["instance"])
        state = live.state if live is not None else None
        if state is None or n["status"] not in AGREES.get(state.status, {state.status}):
            found.append({"number_id": n["id"], "instance": n["instance"], "ours": n["status"],
                          "provider": state.status if state else "missing", "state": state})
    return found

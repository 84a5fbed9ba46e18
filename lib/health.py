"""Evolution health: is the server reachable (latency, version), and do the instances agree with us?

Healthy (200) when Evolution answers (and, for the detailed report, the database too); 503
otherwise. A public caller costs one cheap probe and learns healthy or not, nothing more; the
figures are for an authorised caller only (`Authorization: Bearer $CRON_SECRET`).
"""

from __future__ import annotations

from typing import Any

from lib import db, log
from lib.errors import AppError
from lib.monitor import probes
from lib.providers import provider

_log = log.get("health")
# Our statuses that correspond to each provider status: a number outside the set disagrees.
AGREES = {"active": {"active"}, "connecting": {"connecting", "qr", "pending"},
          "disconnected": {"disconnected", "logged_out", "blocked", "qr", "pending", "connecting"},
          "logged_out": {"logged_out", "disconnected", "qr"}, "blocked": {"blocked", "disconnected", "logged_out"}}


def evolution(detailed: bool = True) -> tuple[bool, dict[str, Any]]:
    """The cheap probe (lib/monitor/probes.py; never `GET /`, which makes Evolution fetch
    web.whatsapp.com), and for an authorised caller the probe recorded with the version, the
    instance comparison and the figures: three round trips to the database."""
    try:
        probe = probes.evolution_server()
    except AppError as exc:  # not configured
        probe = {"reachable": False, "ok": False, "error": exc.code, "latency_ms": 0.0}
    report: dict[str, Any] = {"evolution": probe}
    healthy = bool(probe["ok"])
    instances = None
    if healthy and detailed:
        try:
            probe["version"] = probes.record_evolution(probe)
        except AppError:
            probe["version"] = None
        try:
            instances = {i.provider_instance_id: i for i in provider("evolution").list_instances()}
            probe["instances"] = len(instances)
        except AppError as exc:
            healthy = False
            probe.update(reachable=False, error=exc.code)
    if not detailed:
        return healthy, report
    try:
        ours = db.call("provider_health_report", p_provider="evolution")
        report["numbers"] = {"by_status": ours["counts"]}
        if instances is not None:
            report["numbers"]["disagreements"] = [{k: v for k, v in d.items() if k != "state"}
                                                  for d in disagreements(ours["numbers"], instances)[:100]]
        report["webhook_auth_failures_last_hour"] = ours["auth_failures_last_hour"]
    except AppError as exc:
        healthy = False
        report["numbers"] = {"error": exc.code}
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

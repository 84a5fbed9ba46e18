"""The sync job (Vercel Cron → /api/cron/sync): repairs what a crash or an outage left behind.

1. dead letters for a number unknown at the time are replayed (the number may exist now), with
   back-off and a bounded number of attempts;
2. numbers whose creation never finished (the create's lease long expired) are abandoned, and
   their provider instance, if one was made, is deleted;
3. instances we created (named `inbox-<number id>`, lib.providers.naming) whose number is gone are
   deleted — the orphans of a create whose answer was lost — on every provider that can list them
   (Evolution by instance name, GREEN-API by the partner instance's `name`);
4. each provider's view of instance states is compared with ours; a disagreement is recorded as
   a provider event (source `sync`), so status and alerts follow the provider;
5. sends the provider never confirmed become `unknown` after a while, never `pending` forever.
Every step is idempotent and independent: one failing does not stop the others.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lib import db, health, log, ops
from lib.errors import AppError, InstanceNotFound, NotSupported
from lib.providers import names, provider
from lib.providers.base import NumberRef

_log = log.get("sync")
STALE_AFTER_SECONDS = 15 * 60
UNCONFIRMED_SEND_SECONDS = 15 * 60


def run() -> dict[str, Any]:
    report: dict[str, Any] = {}
    report["dead_letters"] = _step(lambda: ops.replay_dead_letters(limit=50, reason="unknown_number"))
    report["sends_marked_unknown"] = _step(
        lambda: db.call("resolve_stale_sends", p_older_than_seconds=UNCONFIRMED_SEND_SECONDS))
    for name in names():  # a provider that is not configured reports config_error and is skipped
        report[name] = {"abandoned": _step(lambda n=name: _abandon_stale(n)),
                        "orphans_deleted": _step(lambda n=name: _delete_orphans(n)),
                        "drift_recorded": _step(lambda n=name: _record_drift(n))}
    return report


def _step(fn) -> Any:
    try:
        return fn()
    except NotSupported:
        return "not_supported"
    except AppError as exc:
        _log.warning("sync step failed", extra={"code": exc.code, "error": exc.message})
        return {"error": exc.code}


def _abandon_stale(name: str) -> int:
    prov = provider(name)
    count = 0
    for n in db.call("stale_pending_numbers", p_provider=name, p_older_than_seconds=STALE_AFTER_SECONDS):
        if n.get("provider_instance_id") and n.get("managed_instance"):
            ref = NumberRef.from_row(n, name)
            try:
                prov.delete(ref)
            except (InstanceNotFound, NotSupported):
                pass
        db.call("abandon_number", p_number_id=n["id"], p_reason="creation did not finish; cleaned up by sync")
        count += 1
    return count


def _delete_orphans(name: str) -> int:
    prov = provider(name)
    ours = [i for i in prov.list_instances() if i.number_id]
    if not ours:
        return 0
    live = set(db.call("live_number_ids", p_number_ids=[i.number_id for i in ours]))
    count = 0
    for inst in ours:
        if inst.number_id in live:
            continue
        try:
            prov.delete(NumberRef(inst.number_id, name, inst.provider_instance_id, {"managed": True}, None))
            count += 1
        except InstanceNotFound:
            pass
    return count


def _record_drift(name: str) -> int:
    """Record the provider's state for every number it disagrees with (a missing instance is left
    to a person: it may be mid-creation, or deleted by hand on the server)."""
    live = {i.provider_instance_id: i for i in provider(name).list_instances()}
    numbers = db.call("provider_health", p_provider=name)["numbers"]
    drift = [d for d in health.disagreements(numbers, live) if d["state"] is not None]
    for d in drift:
        s = d["state"]
        db.call("record_connection", p_number_id=d["number_id"], p_status=s.status, p_raw_state=s.raw_state,
                p_reason_code=s.reason_code, p_reason=s.reason, p_at=datetime.now(UTC), p_source="sync")
    return len(drift)

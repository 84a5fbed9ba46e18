"""The receive pipeline shared by every provider's webhook route:

    authenticate raw bytes → parse into storable JSON → normalize → ONE SQL call → de-dup marker

It returns `(status, body)`; the route turns that into the HTTP answer. At most one Redis call per
webhook: the marker write after a commit, or — only when the database is down — the marker check,
so a redelivery of something already stored still gets its 200.

Answers, designed for how the providers retry (GREEN-API resends every 60 s for 24 h until it gets
exactly 200 and holds the number's later notifications meanwhile:
https://green-api.com/en/docs/api/recommendations/working-with-incomming-webhooks/ ; Evolution
retries any non-2xx except 400/401/403/404/422: EvolutionAPI/evolution-api 2.3.6,
src/api/integrations/event/webhook/webhook.controller.ts retryWebhookRequest):
- authentication failure → 401 (WebhookAuthError at the HTTP boundary), nothing written, a
  security log line and a counter;
- authenticated but never processable (unknown number, malformed JSON, malformed or unsupported
  event, a value the database cannot hold) → 200 and a dead letter (reason + payload with secrets
  and blobs stripped); events of a number its owner deleted → 200, dropped with a log line;
- a transient failure of ours (database down or timing out) → 503, so the provider redelivers;
- otherwise 200 with what was applied.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import Any

from lib import db, log, recorder, redis
from lib.errors import AppError, DatabaseUnavailable, WebhookAuthError
from lib.providers import provider as get_provider_by_name
from lib.webhooks.ingest import Unprocessable, apikey, apply, event_type, parse, raw_excerpt, sanitize

_log = log.get("webhook")
Answer = tuple[int, dict[str, Any]]


def _reject(provider: str, client: str, reason: str) -> None:
    _log.warning("webhook rejected", extra={"security": True, "provider": provider, "reason": reason,
                                            "source": client})
    try:  # counted in the database for the alert rule (lib/monitor); a 401 stays a 401 when it is down
        db.call("record_webhook_auth_failure", p_provider=provider, p_reason=reason, p_source=client)
    except Exception:
        _log.warning("webhook auth failure not recorded", extra={"provider": provider, "reason": reason})
    raise WebhookAuthError(reason)


def _dead_letter(provider: str, reason: str, payload: Any, event: str | None = None,
                 instance: str | None = None, number_id: str | None = None, error: str | None = None) -> Answer:
    args = {"p_provider": provider, "p_reason": reason, "p_event_type": event, "p_instance": instance,
            "p_number_id": number_id, "p_error": error}
    try:
        result = db.call("dead_letter", p_payload=sanitize(payload), **args)
    except DatabaseUnavailable:
        raise
    except AppError as exc:  # the payload itself cannot be stored: keep what can be
        _log.error("dead letter payload not storable", extra={"provider": provider, "code": exc.code})
        try:
            result = db.call("dead_letter", p_payload={"unstorable": True, "error": exc.code}, **args)
        except DatabaseUnavailable:
            raise
        except AppError:
            _log.error("dead letter not stored", extra={"provider": provider, "reason": reason, "error": error})
            return 200, {"status": "dead_lettered", "reason": reason}
    _log.warning("webhook dead-lettered", extra={"provider": provider, "reason": reason, "event_type": event,
                                                 "dead_letter_id": (result or {}).get("id"), "error": error})
    return 200, {"status": "dead_lettered", "reason": reason}


def receive(provider_name: str, headers: Mapping[str, str], body: bytes, path_id: str | None = None,
            client: str = "") -> Answer:
    started = time.perf_counter()
    try:
        return _receive(provider_name, headers, body, path_id, client)
    finally:
        # In memory; it rides on the next SQL statement this process sends (lib.recorder).
        recorder.observe(provider_name, "webhook_ms", (time.perf_counter() - started) * 1000)


def _receive(provider_name: str, headers: Mapping[str, str], body: bytes, path_id: str | None,
             client: str) -> Answer:
    prov = get_provider_by_name(provider_name)
    try:
        identity = prov.verify_webhook(headers, body, path_id)
    except WebhookAuthError as exc:
        _reject(provider_name, client, exc.reason)

    try:
        payload = parse(body)
    except Unprocessable as exc:
        return _dead_letter(provider_name, exc.reason, {"raw": raw_excerpt(body)}, number_id=identity.number_id,
                            error=exc.error)
    key = apikey(payload)
    if identity.apikey_required and key is None:
        _reject(provider_name, client, "apikey_missing")

    marker = f"wh:{provider_name}:{hashlib.sha256(body).hexdigest()}"
    event, instance = event_type(payload), prov.webhook_instance(payload)
    try:
        result = apply(provider_name, payload, identity.number_id, key)
    except DatabaseUnavailable:
        # The database is down. A redelivery of something it already committed can still be
        # answered (the marker is written only after a commit); anything else is retried later.
        if redis.seen(marker):
            _log.info("webhook duplicate", extra={"provider": provider_name, "via": "redis"})
            return 200, {"status": "duplicate"}
        raise
    except Unprocessable as exc:
        return _dead_letter(provider_name, exc.reason, payload, event, instance, identity.number_id, error=exc.error)
    except AppError as exc:  # anything else the database refuses for this payload: never retryable
        return _dead_letter(provider_name, "unstorable", payload, event, instance, identity.number_id,
                            error=f"{exc.code}: {exc.message}"[:200])
    outcome = result.get("result")
    if outcome == "ignored":
        _log.info("webhook ignored", extra={"provider": provider_name, "event_type": event,
                                            "reason": result.get("reason")})
        return 200, {"status": "ignored", "event_type": event}
    if outcome == "unauthorized":
        _reject(provider_name, client, result.get("reason", "unauthorized"))
    if outcome == "dropped":
        _log.info("webhook dropped", extra={"provider": provider_name, "event_type": event, "instance": instance,
                                            "reason": result.get("reason"), "number_id": result.get("number_id")})
        return 200, {"status": "dropped", "reason": result.get("reason")}
    if outcome == "dead_lettered":
        _log.warning("webhook dead-lettered", extra={"provider": provider_name, "reason": result.get("reason"),
                                                     "event_type": event, "instance": instance})
        return 200, {"status": "dead_lettered", "reason": result.get("reason")}
    redis.mark(marker)  # only now: the write it stands for is committed
    for t in result.get("transitions", []):
        if t.get("changed"):
            _log.info("number status changed", extra={"provider": provider_name,
                                                      "number_id": result.get("number_id"), **t})
    counts = {k: result.get(k) for k in ("inserted", "duplicates", "statuses")}
    _log.info("webhook applied", extra={"provider": provider_name, "event_type": event, **counts})
    return 200, {"status": "ok", **counts}

"""The receive pipeline shared by every provider's webhook route:

    authenticate raw bytes → parse → normalize → ONE SQL call → de-dup marker after the commit

At most one Redis call per webhook: the marker write after a commit, or — only when the database
is down — the marker check, so a redelivery of something already stored still gets its 200.

Answers, designed for how the providers retry (research/; GREEN-API blocks a number's later
notifications until it gets exactly 200, for up to 24 h; Evolution retries any non-2xx except
400/401/403/404/422):
- authentication failure → 401, nothing written, a security log line and a counter;
- authenticated but never processable (unknown number, malformed JSON, malformed or unsupported
  event) → 200 and a dead letter (reason + payload with secrets and blobs stripped);
- a transient failure of ours (database down or timing out) → 503, so the provider redelivers;
- otherwise 200 with what was applied.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from lib import db, events, log, redis
from lib.errors import DatabaseUnavailable, InvalidRequest, WebhookAuthError
from lib.http import Request, Response
from lib.providers import provider as get_provider_by_name

_log = log.get("webhook")
_STRIP_KEYS = {"apikey", "token", "base64", "jpegthumbnail", "thumbnail", "mediakey", "filesha256",
               "fileencsha256", "waveform", "scanssidecar", "messagesecret", "webhookurltoken"}
MAX_DEAD_LETTER_STRING = 2_000


def sanitize(value: Any, key: str = "") -> Any:
    """A payload fit to keep: secrets and binary blobs removed, long strings cut."""
    if isinstance(value, dict):
        return {k: sanitize(v, k) for k, v in value.items() if k.lower() not in _STRIP_KEYS}
    if isinstance(value, list):
        return [sanitize(v, key) for v in value]
    if isinstance(value, str) and len(value) > MAX_DEAD_LETTER_STRING:
        return value[:MAX_DEAD_LETTER_STRING] + f"...[{len(value)} chars]"
    return value


def _reject(provider: str, req: Request, reason: str) -> Response:
    _log.warning("webhook rejected", extra={"security": True, "provider": provider, "reason": reason,
                                            "source": req.client, "path": req.path})
    redis.incr(f"webhook_auth_failures:{provider}")
    raise WebhookAuthError(reason)


def _dead_letter(provider: str, reason: str, payload: Any, event_type: str | None = None,
                 instance: str | None = None, number_id: str | None = None, error: str | None = None) -> Response:
    result = db.call("dead_letter", p_provider=provider, p_reason=reason, p_payload=sanitize(payload),
                     p_event_type=event_type, p_instance=instance, p_number_id=number_id, p_error=error)
    _log.warning("webhook dead-lettered", extra={"provider": provider, "reason": reason, "event_type": event_type,
                                                 "dead_letter_id": (result or {}).get("id"), "error": error})
    return Response(200, {"status": "dead_lettered", "reason": reason})


def receive(provider_name: str, req: Request) -> Response:
    prov = get_provider_by_name(provider_name)
    try:
        identity = prov.verify_webhook(req.headers, req.body)
    except WebhookAuthError as exc:
        return _reject(provider_name, req, exc.reason)

    marker = f"wh:{provider_name}:{hashlib.sha256(req.body).hexdigest()}"
    try:
        payload = json.loads(req.body)
        if b"\\u0000" in req.body:  # PostgreSQL text cannot hold NUL: drop it before anything stores it
            payload = _without_nul(payload)
        if not isinstance(payload, dict):
            raise ValueError("the body is not a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        raw = req.body[:MAX_DEAD_LETTER_STRING].decode("utf-8", "replace")
        return _dead_letter(provider_name, "malformed_json", {"raw": raw}, number_id=identity.number_id,
                            error=str(exc)[:200])

    try:
        result = apply(provider_name, payload, identity.number_id, _apikey(payload))
    except DatabaseUnavailable:
        # The database is down. A redelivery of something it already committed can still be
        # answered (the marker is written only after a commit); anything else is retried later.
        if redis.seen(marker):
            _log.info("webhook duplicate", extra={"provider": provider_name, "via": "redis"})
            return Response(200, {"status": "duplicate"})
        raise
    except Unprocessable as exc:
        return _dead_letter(provider_name, exc.reason, payload, _event_type(payload), prov.webhook_instance(payload),
                            identity.number_id, error=exc.error)
    event_type = _event_type(payload)
    instance = prov.webhook_instance(payload)
    if result.get("result") == "ignored":
        _log.info("webhook ignored", extra={"provider": provider_name, "event_type": event_type,
                                            "reason": result.get("reason")})
        return Response(200, {"status": "ignored", "event_type": event_type})
    outcome = (result or {}).get("result")
    if outcome == "unauthorized":
        return _reject(provider_name, req, result.get("reason", "unauthorized"))
    if outcome == "dead_lettered":
        _log.warning("webhook dead-lettered", extra={"provider": provider_name, "reason": result.get("reason"),
                                                     "event_type": event_type, "instance": instance})
        return Response(200, {"status": "dead_lettered", "reason": result.get("reason")})
    redis.mark(marker)  # only now: the write it stands for is committed
    for t in result.get("transitions", []):
        if t.get("changed"):
            _log.warning("number status changed", extra={"alert": True, "provider": provider_name,
                                                         "number_id": result.get("number_id"), **t})
    _log.info("webhook applied", extra={"provider": provider_name, "event_type": event_type,
                                        **{k: result.get(k) for k in ("inserted", "duplicates", "statuses")}})
    return Response(200, {"status": "ok", **{k: result.get(k) for k in ("inserted", "duplicates", "statuses")}})


class Unprocessable(Exception):
    """An authenticated payload that can never be applied: it becomes a dead letter."""

    def __init__(self, reason: str, error: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.error = error


def apply(provider_name: str, payload: dict[str, Any], number_id: str | None, apikey: str | None,
          dead_letter: bool = True) -> dict[str, Any]:
    """Normalize a parsed payload and apply it in one SQL call (also used to replay dead letters)."""
    prov = get_provider_by_name(provider_name)
    try:
        normalized = prov.normalize_webhook(payload)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Unprocessable("malformed_event", str(exc)[:200]) from None
    applicable = [e for e in normalized if not isinstance(e, events.IgnoredEvent)]
    if not applicable:
        unsupported = [e for e in normalized
                       if isinstance(e, events.IgnoredEvent) and e.reason.startswith("unsupported")]
        if unsupported or not normalized:
            raise Unprocessable("unsupported_event")
        return {"result": "ignored", "reason": normalized[0].reason}
    try:
        return db.call("ingest_webhook", p_provider=provider_name, p_instance=prov.webhook_instance(payload),
                       p_number_id=number_id, p_apikey=apikey, p_events=[events.to_json(e) for e in applicable],
                       p_event_type=_event_type(payload), p_payload=sanitize(payload),
                       p_dead_letter=dead_letter) or {}
    except InvalidRequest as exc:  # a value the database refuses (out of range, bad time): never retryable
        raise Unprocessable("malformed_event", exc.message[:200]) from None


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _apikey(payload: dict[str, Any]) -> str | None:
    value = payload.get("apikey")
    return value if isinstance(value, str) else None


def _event_type(payload: dict[str, Any]) -> str | None:
    value = payload.get("event") or payload.get("typeWebhook")
    return value if isinstance(value, str) else None

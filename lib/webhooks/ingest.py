"""From an authenticated body to one SQL call: parse into storable JSON, normalize, apply.

Used by the live webhook pipeline (lib.webhooks.receive) and by dead-letter replays (lib.ops);
nothing here knows about HTTP. "Storable" is what PostgreSQL's jsonb and text can hold: no NUL
character, no lone UTF-16 surrogate (e.g. an emoji cut in half), no NaN/Infinity, bounded nesting
— a provider that sends such a body is authenticated, and its event must land or be a dead letter,
never be refused with a status it retries (or drops) forever.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from lib import db, events, log
from lib.errors import InvalidRequest
from lib.providers import provider as get_provider_by_name

MAX_DEAD_LETTER_STRING = 2_000
MAX_DEPTH = 64          # deeper subtrees are cut: no provider payload nests more than a dozen levels
MAX_ID_LENGTH = 256     # message ids and JIDs are tens of characters; longer cannot be a real one
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_STRIP_KEYS = {"apikey", "token", "base64", "jpegthumbnail", "thumbnail", "mediakey", "filesha256",
               "fileencsha256", "waveform", "scanssidecar", "messagesecret", "webhookurltoken"}


class Unprocessable(Exception):
    """An authenticated payload that can never be applied: it becomes a dead letter."""

    def __init__(self, reason: str, error: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.error = error


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def parse(body: bytes) -> dict[str, Any]:
    """The body as storable JSON; Unprocessable("malformed_json") when it is not a JSON object."""
    try:
        # strict=False: a raw control character (a NUL byte) inside a string is kept, then cleaned.
        payload = json.loads(body, strict=False, parse_constant=lambda _: None,
                             parse_float=lambda s: _finite(float(s)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unprocessable("malformed_json", str(exc)[:200]) from None
    except RecursionError:
        raise Unprocessable("malformed_json", "nested too deeply") from None
    if not isinstance(payload, dict):
        raise Unprocessable("malformed_json", "the body is not a JSON object")
    return clean(payload)


def clean(value: Any, depth: int = 0) -> Any:
    """Storable JSON: NUL and lone surrogates removed, non-finite numbers null, nesting cut at MAX_DEPTH."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("", value) if _UNSTORABLE.search(value) else value
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, (dict, list)) and depth >= MAX_DEPTH:
        return "[nested too deeply]"
    if isinstance(value, dict):
        return {clean(k): clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v, depth + 1) for v in value]
    return value


def raw_excerpt(body: bytes) -> str:
    """The start of a body that is not JSON, fit to keep: storable, and with secrets masked."""
    text = body[:MAX_DEAD_LETTER_STRING].decode("utf-8", "replace")
    return log.redact(_UNSTORABLE.sub("", text))


def sanitize(value: Any, key: str = "") -> Any:
    """A payload fit to keep: secrets and binary blobs removed, long strings cut."""
    if isinstance(value, dict):
        return {k: sanitize(v, k) for k, v in value.items() if k.lower() not in _STRIP_KEYS}
    if isinstance(value, list):
        return [sanitize(v, key) for v in value]
    if isinstance(value, str) and len(value) > MAX_DEAD_LETTER_STRING:
        return value[:MAX_DEAD_LETTER_STRING] + f"...[{len(value)} chars]"
    return value


def _check_ids(event: events.Event) -> None:
    for name in ("provider_message_id", "chat_id", "chat_lid", "author"):
        value = getattr(event, name, None)
        if isinstance(value, str) and len(value) > MAX_ID_LENGTH:
            raise Unprocessable("malformed_event", f"`{name}` is {len(value)} characters long")


def apply(provider_name: str, payload: dict[str, Any], number_id: str | None, apikey: str | None,
          dead_letter: bool = True) -> dict[str, Any]:
    """Normalize a parsed payload and apply it in one SQL call (also used to replay dead letters).

    Only the normalized events travel: a webhook for a number we do not know (yet) is kept as a
    dead letter of those events — no secret, no blob — and replayed from them (lib.ops)."""
    prov = get_provider_by_name(provider_name)
    try:
        normalized = prov.normalize_webhook(payload)
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        raise Unprocessable("malformed_event", str(exc)[:200]) from None
    applicable = [e for e in normalized if not isinstance(e, events.IgnoredEvent)]
    if not applicable:
        unsupported = [e for e in normalized
                       if isinstance(e, events.IgnoredEvent) and e.reason.startswith("unsupported")]
        if unsupported or not normalized:
            raise Unprocessable("unsupported_event")
        return {"result": "ignored", "reason": normalized[0].reason}
    for event in applicable:
        _check_ids(event)
    return ingest_events(provider_name, prov.webhook_instance(payload), number_id, apikey,
                         [events.to_json(e) for e in applicable], event_type(payload), dead_letter, applicable)


def ingest_events(provider_name: str, instance: str | None, number_id: str | None, apikey: str | None,
                  normalized: list[dict[str, Any]], event: str | None, dead_letter: bool = True,
                  applicable: list[events.Event] | None = None) -> dict[str, Any]:
    try:
        result = db.call("ingest_webhook", p_provider=provider_name, p_instance=instance, p_number_id=number_id,
                         p_apikey=apikey, p_events=normalized, p_event_type=event, p_dead_letter=dead_letter) or {}
    except InvalidRequest as exc:  # a value the database refuses (out of range, bad time): never retryable
        raise Unprocessable("malformed_event", exc.message[:200]) from None
    from lib.media.jobs import after_ingest  # noqa: PLC0415 - media is persisted off the webhook's answer

    if applicable:
        after_ingest(result, applicable)  # never raises: starts storing new media on a background thread
    return result


def apikey(payload: dict[str, Any]) -> str | None:
    value = payload.get("apikey")
    return value if isinstance(value, str) else None


def event_type(payload: dict[str, Any]) -> str | None:
    value = payload.get("event") or payload.get("typeWebhook")
    return value if isinstance(value, str) else None

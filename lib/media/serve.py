"""GET /api/v1/messages/{id}/media: the owner gets a short-lived presigned URL (302); a pending item
is fetched now (on demand) or answered 202 with Retry-After; a failed one is 410 with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from lib import db
from lib.errors import Gone, NotFound
from lib.http import Response
from lib.media import jobs, store

LINK_TTL = timedelta(minutes=5)
RETRY_AFTER_MIN, RETRY_AFTER_MAX = 2, 60


def media(owner: str, message_id: str) -> Response:
    row = db.call("media_get", p_owner=owner, p_message_id=message_id)
    if not row:
        raise NotFound("no such message", code="message_not_found")
    state, key, error = row.get("state"), row.get("object_key"), row.get("error")
    if state is None:
        raise NotFound("this message has no media", code="no_media")
    if state == "pending" and row.get("job"):
        outcome = jobs.persist(row["job"])
        state, error = outcome.get("state", "pending"), outcome.get("error", error)
        key = outcome.get("object_key", key)
        row["next_attempt_at"] = outcome.get("next_attempt_at")
    if state == "stored":
        url = store.presign("GET", key, LINK_TTL)
        expires = (datetime.now(UTC) + LINK_TTL).isoformat()
        return Response(302, {"url": url, "expires_at": expires}, {"Location": url})
    if state == "failed":
        raise Gone(f"this media could not be stored: {error or 'unknown reason'}", code="media_failed")
    wait = _retry_after(row.get("next_attempt_at"))
    return Response(202, {"state": "pending", "retry_after": wait, "last_error": error}, {"Retry-After": str(wait)})


def _retry_after(next_attempt_at: Any) -> int:
    if not next_attempt_at:
        return RETRY_AFTER_MIN
    try:
        when = datetime.fromisoformat(str(next_attempt_at))
    except ValueError:
        return RETRY_AFTER_MIN
    seconds = int((when - datetime.now(UTC)).total_seconds() + 0.999)
    return max(RETRY_AFTER_MIN, min(RETRY_AFTER_MAX, seconds))

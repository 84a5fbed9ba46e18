"""Persisting inbound media: provider → bytes → S3, off the webhook path.

Three triggers, one routine (`persist`), each working on items it has *claimed* (a lease in the
database, so two workers never fetch the same item at once):
- right after a webhook stored media messages (`after_ingest`: a background thread, so the webhook
  has already answered; on Vercel the thread may be frozen with the function, which the sweep covers);
- the cron sweep (`sweep`), for whatever is due: new items a frozen thread left, and retries;
- on demand, when someone asks for an item still pending (lib/media/serve.py).

A transient failure (provider or storage down, rate limited, an expired link) is retried after
30 s · 2^attempt (at most an hour between attempts); after MAX_ATTEMPTS, or at once for a failure
that cannot pass (over the size limit, GREEN-API's "over 100 MB" marker, a provider without media
support), the item is `failed` with the reason. Nothing is dropped silently: every outcome is a
state on the message and a log line.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from lib import config, db, log
from lib.errors import AppError, DatabaseUnavailable

_log = log.get("media")

MEDIA_TYPES = frozenset({"image", "video", "audio", "voice", "document", "sticker"})
MAX_ATTEMPTS = 8
BASE_SECONDS = 30
PERMANENT_CODES = frozenset({"media_unavailable", "media_too_large", "not_supported"})


def object_key(job: dict[str, Any]) -> str:
    return f"{job['owner_id']}/{job['number_id']}/{job['message_id']}"


def persist(job: dict[str, Any]) -> dict[str, Any]:
    """Fetch, check, store and record one claimed item; the outcome as recorded in the database."""
    from lib.media import store  # noqa: PLC0415 - the S3 client loads only when something is stored
    from lib.providers import get_provider  # noqa: PLC0415
    from lib.providers.base import MediaMessage, NumberRef  # noqa: PLC0415

    n = job["number"]
    ref = NumberRef.from_row(n)
    max_bytes = config.settings().media_max_bytes
    wanted = MediaMessage(provider_message_id=job["provider_message_id"], chat_id=job["chat_id"], type=job["type"],
                          url=job.get("media_url"), mime_type=job.get("mime_type"), file_name=job.get("file_name"),
                          max_bytes=max_bytes, provider_marker=job.get("provider_marker"))
    started = time.monotonic()
    try:
        got = get_provider(ref).fetch_media(ref, wanted)
        if len(got.data) > max_bytes:
            raise AppError(f"the file is {len(got.data)} bytes, over the limit of {max_bytes} bytes",
                           code="media_too_large")
        key = object_key(job)
        content_type = got.mime_type or "application/octet-stream"
        store.put(key, got.data, content_type)
    except AppError as exc:
        return _failed(job, exc.code, exc.message, final=exc.code in PERMANENT_CODES, started=started)
    except Exception as exc:  # a bug must not strand the item: it is retried and logged
        _log.exception("media persist crashed", extra={"message_id": job["message_id"]})
        return _failed(job, "internal_error", type(exc).__name__, final=False, started=started)
    sha = hashlib.sha256(got.data).hexdigest()
    result = db.call("media_stored", p_message_id=job["message_id"], p_object_key=key, p_mime_type=content_type,
                     p_file_name=got.file_name, p_size=len(got.data), p_sha256=sha) or {"state": "gone"}
    _log.info("media stored", extra={"message_id": job["message_id"], "provider": n["provider"],
                                     "size": len(got.data), "latency_ms": _ms(started)})
    return {**result, "size": len(got.data), "sha256": sha}


def _failed(job: dict[str, Any], code: str, message: str, *, final: bool, started: float) -> dict[str, Any]:
    reason = f"{code}: {message}"
    result = db.call("media_attempt_failed", p_message_id=job["message_id"], p_error=reason, p_final=final,
                     p_max_attempts=MAX_ATTEMPTS, p_base_seconds=BASE_SECONDS) or {"state": "gone"}
    level = _log.warning if result.get("state") == "failed" else _log.info
    level("media attempt failed", extra={"message_id": job["message_id"], "provider": job["number"]["provider"],
                                         "code": code, "state": result.get("state"),
                                         "attempts": result.get("attempts"), "latency_ms": _ms(started)})
    return result


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 2)


def persist_claimed(number_id: str, provider_message_ids: Sequence[str]) -> list[dict[str, Any]]:
    jobs = db.call("media_claim", p_number_id=number_id, p_provider_message_ids=list(provider_message_ids)) or []
    return [persist(job) for job in jobs]


def after_ingest(result: dict[str, Any], events: Iterable[Any]) -> None:
    """Called by the webhook pipeline after its one SQL call committed: persist any new media now,
    on a background thread. Never raises and never delays the webhook's answer."""
    try:
        if not result or not result.get("inserted") or not result.get("number_id"):
            return
        ids = [e.provider_message_id for e in events
               if getattr(e, "kind", None) == "message" and getattr(e, "type", None) in MEDIA_TYPES
               and getattr(e, "from_me_source", None) != "api"]  # our own sends' echoes: the file is ours
        if not ids:
            return
        threading.Thread(target=_run_after_ingest, args=(str(result["number_id"]), ids),
                         name="media-after-webhook", daemon=True).start()
    except Exception:
        _log.exception("media trigger failed; the sweep will persist the item")


def _run_after_ingest(number_id: str, ids: list[str]) -> None:
    try:
        persist_claimed(number_id, ids)
    except Exception:  # the lease expires and the sweep picks the item up
        _log.exception("media persist after webhook failed; the sweep will retry")


def sweep(limit: int = 20, budget_seconds: float = 45.0, now: datetime | None = None) -> dict[str, int]:
    """The cron job: claim due items in batches and persist them until the budget is spent."""
    started = time.monotonic()
    counts = {"stored": 0, "pending": 0, "failed": 0, "gone": 0}
    while time.monotonic() - started < budget_seconds:
        args: dict[str, Any] = {"p_limit": limit}
        if now is not None:
            args["p_now"] = now
        try:
            jobs = db.call("media_due", **args) or []
        except DatabaseUnavailable:
            _log.warning("media sweep: database unavailable")
            break
        for job in jobs:
            state = persist(job).get("state", "gone")
            counts[state] = counts.get(state, 0) + 1
        if len(jobs) < limit:
            break
    _log.info("media sweep", extra=counts)
    return counts

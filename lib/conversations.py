"""Conversations the way an inbox works: start a chat, read it, react, edit and delete messages.

Each operation is: one SQL call for what the provider needs → the provider call (through the
contract in lib/providers/base.py, so no provider is named here) → one SQL call that records what
the provider accepted through the same functions the providers' events use (so their echo webhooks
change nothing). Unread counts need no call of their own: ingest_webhook keeps them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from lib import db, log
from lib.errors import AppError, Conflict, InvalidRequest, ProviderRejected
from lib.events import canonical_jid
from lib.providers import get_provider
from lib.providers.base import NumberRef

_log = log.get("conversations")
_PHONE_NOISE = re.compile(r"[\s().\-/]")

# A number in one of these states has no session a provider call could use.
NOT_CONNECTED = ("pending", "qr", "logged_out", "blocked")


def normalize_phone(raw: str) -> str:
    """Digits of an international number from any common way of writing it."""
    value = raw.strip()
    if "@" in value:
        value = value.split("@", 1)[0].split(":", 1)[0]
    value = _PHONE_NOISE.sub("", value)
    if value.startswith("+"):
        value = value[1:]
    elif value.startswith("00"):
        value = value[2:]
    if not value.isdigit() or not 8 <= len(value) <= 15:
        raise InvalidRequest("phone must be an international number: country code and number, 8 to 15 digits",
                             code="invalid_phone")
    return value


# -- start a conversation -----------------------------------------------------------------------------
def start_chat(owner: str, number_id: str, phone: str) -> tuple[int, dict[str, Any]]:
    """The chat with `phone` on this number: 200 when it exists, 201 when made, 422 not_on_whatsapp."""
    digits = normalize_phone(phone)
    found = db.call("begin_start_chat", p_owner=owner, p_number_id=number_id, p_wa_chat_id=f"{digits}@c.us")
    if found.get("chat"):
        return 200, found["chat"]
    ref = NumberRef.from_row(found["number"])
    chat_id = get_provider(ref).check_whatsapp(ref, digits)
    if not chat_id:
        raise ProviderRejected(f"+{digits} is not on WhatsApp", code="not_on_whatsapp", provider=ref.provider)
    result = db.call("start_chat", p_owner=owner, p_number_id=number_id, p_wa_chat_id=canonical_jid(chat_id),
                     p_lid=None)
    return (201 if result["created"] else 200), result["chat"]


# -- read ---------------------------------------------------------------------------------------------
def read(owner: str, chat_id: str) -> dict[str, Any]:
    """Reset the chat's unread count, then send the provider's read receipt (its failure is reported,
    not raised: the inbox is read either way, and the next read sends the receipt again)."""
    row = db.call("read_chat", p_owner=owner, p_chat_id=chat_id)
    chat, n = row["chat"], row["number"]
    unread = [(u["id"], u.get("author")) for u in row.get("unread") or []]
    if not unread:
        return {"chat": chat, "receipt": "not_needed"}
    ref = NumberRef.from_row(n)
    try:
        get_provider(ref).mark_read(ref, chat["wa_chat_id"], unread)
    except AppError as exc:
        _log.warning("read receipt failed", extra={"code": exc.code, "chat_id": chat_id})
        return {"chat": chat, "receipt": "failed", "error": exc.body()["error"]}
    return {"chat": chat, "receipt": "sent"}


# -- reactions, edits, deletes -----------------------------------------------------------------------
def _target(owner: str, message_id: str, include_deleted: bool = False) -> dict[str, Any]:
    return db.call("message_for_action", p_owner=owner, p_message_id=message_id, p_include_deleted=include_deleted)


def _actionable(row: dict[str, Any], what: str) -> tuple[NumberRef, dict[str, Any]]:
    msg = row["message"]
    if not msg.get("provider_message_id"):
        raise Conflict(f"this message has not reached WhatsApp, so it cannot be {what}", code="message_not_sent")
    if msg.get("deleted"):
        raise Conflict(f"this message was deleted, so it cannot be {what}", code="message_deleted")
    if row["number"]["status"] in NOT_CONNECTED:
        raise Conflict(f"this number is not connected ({row['number']['status']}): reconnect it first",
                       code="number_disconnected")
    return NumberRef.from_row(row["number"]), msg


def get_message(owner: str, message_id: str, include_deleted: bool = False) -> dict[str, Any]:
    return _target(owner, message_id, include_deleted)["message"]


def react(owner: str, message_id: str, emoji: str, chat_id: str | None = None) -> dict[str, Any]:
    """React to a message; with `chat_id`, only to a message of that chat (a reaction sent through /send)."""
    row = _target(owner, message_id)
    if chat_id is not None and row["message"].get("chat_id") != chat_id:
        raise InvalidRequest("target_message_id is not a message of this chat", code="target_not_in_chat")
    ref, msg = _actionable(row, "reacted to")
    get_provider(ref).send_reaction(ref, row["wa_chat_id"], msg["provider_message_id"],
                                    msg["direction"] == "outbound", _author(row), emoji)
    return _record(owner, message_id, {"kind": "reaction", "reactor": "me", "emoji": emoji})


def edit(owner: str, message_id: str, text: str) -> dict[str, Any]:
    row = _target(owner, message_id)
    ref, msg = _actionable(row, "edited")
    if msg["direction"] != "outbound" or msg["type"] != "text":
        raise Conflict("only text messages we sent can be edited", code="not_editable")
    get_provider(ref).edit_message(ref, row["wa_chat_id"], msg["provider_message_id"], text)
    return _record(owner, message_id, {"kind": "edit", "text": text})


def delete(owner: str, message_id: str) -> dict[str, Any]:
    row = _target(owner, message_id)
    if row["message"].get("deleted"):
        return row["message"]  # repeatable
    ref, msg = _actionable(row, "deleted")
    if msg["direction"] != "outbound":
        raise Conflict("only messages we sent can be deleted for everyone", code="not_own_message")
    get_provider(ref).delete_message(ref, row["wa_chat_id"], msg["provider_message_id"], True, None)
    return _record(owner, message_id, {"kind": "delete"})


def _author(row: dict[str, Any]) -> str | None:
    return row.get("author") if row.get("is_group") else None


def _record(owner: str, message_id: str, change: dict[str, Any]) -> dict[str, Any]:
    change = {**change, "timestamp": datetime.now(UTC).isoformat()}
    return db.call("record_message_change", p_owner=owner, p_message_id=message_id, p_change=change)


# -- what the frontend's flows need ---------------------------------------------------------------------
LABELS = {"green-api": "GREEN-API (hosted)", "evolution": "Evolution API (self-hosted)"}


def providers(owner: str) -> dict[str, Any]:
    """The providers this user may add (rollout and configuration), with what each can do."""
    from lib import config  # noqa: PLC0415
    from lib.providers import names, provider  # noqa: PLC0415

    s = config.settings()
    enabled = db.call("providers_enabled", p_owner=owner, p_rollout=s.evolution_rollout)
    items = []
    for name in names():
        caps = provider(name).capabilities()
        items.append({"name": name, "label": LABELS.get(name, name), "default": name == s.default_provider,
                      "available": bool(enabled.get(name)) and bool(caps.get("configured")),
                      "capabilities": {k: v for k, v in caps.items() if k != "configured"}})
    return {"items": items}


def restart(owner: str, number_id: str) -> dict[str, Any]:
    """Restart a stuck session (Evolution POST /instance/restart, GREEN-API reboot); the number after it."""
    from lib import numbers  # noqa: PLC0415

    row = db.call("number_for_provider", p_owner=owner, p_number_id=number_id)
    if row["status"] in NOT_CONNECTED:
        raise Conflict(f"this number is {row['status']}: a restart cannot help; reconnect it with a new QR",
                       code="reconnect_required")
    ref = NumberRef.from_row(row)
    get_provider(ref).restart(ref)
    return numbers.get(owner, number_id)


def resend(owner: str, message_id: str, idempotency_key: str | None) -> tuple[int, dict[str, Any]]:
    """Send a failed message again, as a new message (the failed one stays, for the record). Once per
    Idempotency-Key; without one, once per failed message."""
    from lib import messaging  # noqa: PLC0415
    from lib.schemas.base import parse  # noqa: PLC0415
    from lib.schemas.messages import SendRequest  # noqa: PLC0415

    msg = _target(owner, message_id)["message"]
    if msg["status"] != "failed":
        raise Conflict("only a failed message can be sent again (an `unknown` outcome may have been sent: "
                       "check the chat first)", code="not_failed")
    if msg["type"] == "text":
        body: dict[str, Any] = {"type": "text", "text": msg["body"]}
    elif msg.get("media_url"):
        body = {"type": msg["type"], "media": {k: v for k, v in (("url", msg["media_url"]), ("caption", msg["body"]),
                                                                 ("file_name", msg.get("media_file_name")),
                                                                 ("mime_type", msg.get("media_mime_type"))) if v}}
    else:
        raise Conflict("this message has nothing we can send again", code="not_resendable")
    if msg.get("quoted_provider_message_id"):
        body["quoted_message_id"] = msg["quoted_provider_message_id"]
    request = parse(SendRequest, body)
    return messaging.send(owner, msg["chat_id"], idempotency_key or f"resend:{message_id}", request)


def force_delete(owner: str, number_id: str) -> dict[str, Any]:
    """DELETE /api/v1/numbers/{id}?force=true: the provider teardown is tried once; when the provider
    cannot be reached (or refuses), the number is deleted here anyway and its instance becomes an orphan
    the sync job deletes later (lib/sync.py step 3: instances named after a number that is gone)."""
    from lib import numbers  # noqa: PLC0415
    from lib.errors import ProviderError  # noqa: PLC0415
    from lib.numbers import public_number  # noqa: PLC0415

    try:
        return {**numbers.delete(owner, number_id), "teardown": "done"}
    except ProviderError as exc:
        _log.warning("forced delete: provider teardown left to the sync job",
                     extra={"number_id": number_id, "code": exc.code})
        return {**public_number(db.call("delete_number", p_owner=owner, p_number_id=number_id)),
                "teardown": "pending"}


# -- names and faces ----------------------------------------------------------------------------------
PROFILE_TTL_SECONDS = 12 * 3600  # WhatsApp's picture URLs are signed and expire within days


def chat(owner: str, chat_id: str) -> dict[str, Any]:
    """The chat with its avatar (and, for a group, subject and participants), refreshed from the
    provider when the cached copy has expired; a provider failure serves the cached copy."""
    row = db.call("chat_profile", p_owner=owner, p_chat_id=chat_id)
    if not row.get("due"):
        return row["chat"]
    ref, current = NumberRef.from_row(row["number"]), row["chat"]
    prov = get_provider(ref)
    try:
        avatar = prov.avatar_url(ref, current["wa_chat_id"])
        group = prov.group_info(ref, current["wa_chat_id"]) if current["is_group"] else {}
    except AppError as exc:
        _log.warning("chat profile not refreshed", extra={"code": exc.code, "chat_id": chat_id})
        return current
    return db.call("save_chat_profile", p_owner=owner, p_chat_id=chat_id, p_avatar_url=avatar,
                   p_subject=group.get("subject"), p_participants=group.get("participants"),
                   p_ttl_seconds=PROFILE_TTL_SECONDS)


# -- history and recovery -------------------------------------------------------------------------------
HISTORY_DAYS = 7         # how far back a first connection imports
HISTORY_BUDGET = 40.0    # seconds one run spends, inside the 60 s function limit; the next run resumes


def import_history(owner: str | None, number_id: str, since: datetime | None = None, reason: str = "manual",
                   budget: float = HISTORY_BUDGET) -> dict[str, Any]:
    """Import the messages the provider holds since `since` (default HISTORY_DAYS back) through the same
    idempotent ingest as webhooks, page by page, recording progress after each page; an open import of
    the number is resumed instead. Returns the import's state."""
    import time  # noqa: PLC0415
    from datetime import timedelta  # noqa: PLC0415

    from lib import events  # noqa: PLC0415

    started = time.monotonic()
    since = since or datetime.now(UTC) - timedelta(days=HISTORY_DAYS)
    begun = db.call("history_begin", p_owner=owner, p_number_id=number_id, p_since=since, p_reason=reason)
    job, cursor, ref = begun["import"], begun.get("cursor"), NumberRef.from_row(begun["number"])
    prov = get_provider(ref)
    window = (datetime.fromisoformat(job["since"]), datetime.fromisoformat(job["until"]))
    while True:
        try:
            page, cursor = prov.history_page(ref, window[0], window[1], cursor)
            result = db.call("ingest_webhook", p_provider=ref.provider, p_instance=None, p_number_id=ref.number_id,
                             p_apikey=None, p_events=[events.to_json(e) for e in page], p_event_type="history",
                             p_payload=None, p_dead_letter=False) if page else {}
        except AppError as exc:
            _log.warning("history import stopped", extra={"number_id": number_id, "code": exc.code})
            return db.call("history_progress", p_import_id=job["id"], p_cursor=cursor, p_imported=0,
                           p_duplicates=0, p_done=False, p_error=f"{exc.code}: {exc.message}"[:500])
        job = db.call("history_progress", p_import_id=job["id"], p_cursor=cursor,
                      p_imported=int(result.get("inserted") or 0), p_duplicates=int(result.get("duplicates") or 0),
                      p_done=cursor is None)
        if cursor is None or time.monotonic() - started > budget:
            return job


def history(owner: str, number_id: str) -> dict[str, Any]:
    return {"items": db.call("history_status", p_owner=owner, p_number_id=number_id)}


def run_due_imports(budget: float = HISTORY_BUDGET, limit: int = 20) -> dict[str, int]:
    """The job's step: first-connection imports for numbers that never had one, and open imports
    resumed — each within what is left of the budget."""
    import time  # noqa: PLC0415

    started = time.monotonic()
    counts = {"done": 0, "open": 0, "failed": 0}
    for due in db.call("history_due", p_limit=limit):
        left = budget - (time.monotonic() - started)
        if left <= 0:
            break
        since = None if due["reason"] == "first_connect" else datetime.fromisoformat(due["since"])
        try:
            job = import_history(None, due["number_id"], since, due["reason"], budget=left)
        except AppError as exc:  # the number changed state meanwhile
            _log.warning("history import not started", extra={"number_id": due["number_id"], "code": exc.code})
            counts["failed"] += 1
            continue
        counts["done" if job["state"] == "done" else "failed" if job["state"] == "failed" else "open"] += 1
    return counts


def recover(number_id: str, since: datetime) -> dict[str, Any]:
    """After an outage (the provider's server was down, or webhooks stopped for this number since
    `since`): import the missed window through the same ingest. For operators; the health cron
    imports a server outage's window itself (run_due_imports)."""
    return import_history(None, number_id, since, "recovery")

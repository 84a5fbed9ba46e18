"""Sending a message: once per Idempotency-Key, on the chat's own number's provider.

    prepare_send (SQL: idempotency + the outbound row) → provider send → complete_send / fail_send

A replay of a finished request answers what the first one answered, without calling the provider;
a replay while the first is still in flight answers 409 `idempotency_key_in_progress`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from lib import db, errors, log, netguard
from lib.errors import AppError, DatabaseUnavailable, InProgress, InvalidRequest
from lib.providers import get_provider
from lib.providers.base import MediaSpec, NumberRef

if TYPE_CHECKING:
    from lib.schemas.messages import SendRequest

_log = log.get("messaging")


def request_hash(body: SendRequest) -> str:
    # Unset fields are left out: a field added to the request later (upload_id, target_message_id)
    # does not change the fingerprint of a request made before it existed.
    canonical = json.dumps(body.model_dump(mode="json", exclude_none=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def send(owner: str, chat_id: str, idempotency_key: str | None, body: SendRequest) -> tuple[int, dict[str, Any]]:
    if not idempotency_key or len(idempotency_key) > 255:
        raise InvalidRequest("send an Idempotency-Key header (1-255 characters) so a retry never sends twice",
                             code="idempotency_key_required")
    if body.type == "reaction":
        return 200, _react(owner, chat_id, str(body.target_message_id), body.emoji or "")
    media = body.media
    upload = None
    if media is not None and media.upload_id is not None:
        from lib.media import uploads  # noqa: PLC0415 - the S3 client loads only for sends of uploaded files

        upload = uploads.resolve(owner, str(media.upload_id))
        media = media.model_copy(update={"mime_type": media.mime_type or upload["content_type"],
                                         "file_name": media.file_name or upload["file_name"]})
    if media is not None and media.url is not None:
        netguard.check_public_url(str(media.url))  # before anything is written or sent
    prep = db.call("prepare_send", p_owner=owner, p_chat_id=chat_id, p_idempotency_key=idempotency_key,
                   p_request_hash=request_hash(body), p_type=body.type,
                   p_body=body.text if body.type == "text" else (media.caption if media else None),
                   p_media_url=(f"upload:{media.upload_id}" if upload else str(media.url)) if media else None,
                   p_media_mime_type=media.mime_type if media else None,
                   p_media_file_name=media.file_name if media else None, p_quoted=body.quoted_message_id)
    message = prep["message"]
    if prep["replay"]:
        if message.get("error"):
            error = message["error"]
            raise errors.stored(error.get("code") or "provider_error", error.get("message") or "the first attempt "
                                "failed", int(error["http_status"]) if error.get("http_status") else None)
        if not message.get("provider_message_id"):
            raise InProgress("a request with this Idempotency-Key is still in progress; retry in a moment")
        return 200, message

    n = prep["number"]
    ref = NumberRef.from_row(n)
    provider = get_provider(ref)
    try:
        if body.type == "text":
            sent = provider.send_text(ref, prep["to"], body.text, quoted_id=body.quoted_message_id)
        else:
            spec = MediaSpec(kind=body.type, url=upload["url"] if upload else str(media.url), caption=media.caption,
                             file_name=media.file_name, mime_type=media.mime_type)
            sent = provider.send_media(ref, prep["to"], spec, quoted_id=body.quoted_message_id)
    except AppError as exc:
        db.call("fail_send", p_message_id=message["id"], p_code=exc.code, p_message=exc.message,
                p_http_status=exc.status)
        raise
    return 201, _complete(message["id"], sent.provider_message_id, sent.status, sent.timestamp)


def _react(owner: str, chat_id: str, target: str, emoji: str) -> dict[str, Any]:
    """A reaction belongs to its target message (lib.conversations); the target must be in this chat.
    Repeating one sets the same emoji again: harmless, so it needs no idempotency record."""
    from lib import conversations  # noqa: PLC0415

    return conversations.react(owner, target, emoji, chat_id)


@retry(retry=retry_if_exception_type(DatabaseUnavailable), stop=stop_after_attempt(3),
       wait=wait_exponential_jitter(multiplier=0.2, max=1.0), reraise=True)
def _complete(message_id: str, provider_message_id: str, status: str, at: datetime | None) -> dict[str, Any]:
    """Record the provider's id. Safe to repeat (same values); the message is already out."""
    try:
        return db.call("complete_send", p_message_id=message_id, p_provider_message_id=provider_message_id,
                       p_status=status, p_sent_at=at or datetime.now(UTC))
    except DatabaseUnavailable:
        _log.error("sent but not yet recorded", extra={"message_id": message_id,
                                                       "provider_message_id": provider_message_id})
        raise

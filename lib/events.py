"""The normalized internal events every provider's webhook becomes (pure data, no I/O).

Chat identity, the same for every provider (so a number that moves from GREEN-API to Evolution
keeps its chats):
- a person: `<digits>@c.us` — GREEN-API's form; Evolution's `@s.whatsapp.net` and any device
  suffix (`5511...:16@s.whatsapp.net`) are rewritten to it;
- a group: `<id>@g.us`, as the provider gives it;
- a person known only by a WhatsApp LID: `<lid>@lid`. When an event carries both (Evolution's
  `remoteJidAlt` / `participantAlt`), the chat is the phone form and the LID is recorded on it
  (`chats.lid`), so later LID-only events reach the same chat.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, datetime
from typing import Any, Literal

Direction = Literal["inbound", "outbound"]
MessageType = Literal["text", "image", "video", "audio", "voice", "document", "sticker", "location",
                      "contact", "contacts", "reaction", "poll", "unknown"]
DeliveryStatus = Literal["pending", "sent", "delivered", "read", "failed"]
NumberStatus = Literal["pending", "qr", "connecting", "active", "disconnected", "logged_out", "blocked"]


@dataclass(frozen=True)
class Media:
    url: str | None = None
    mime_type: str | None = None
    file_name: str | None = None


@dataclass(frozen=True)
class MessageEvent:
    """A message received, or sent by us (through the API or typed on the phone)."""

    provider_message_id: str
    direction: Direction
    chat_id: str
    type: MessageType
    timestamp: datetime
    text: str | None = None
    chat_lid: str | None = None
    chat_name: str | None = None
    is_group: bool = False
    author: str | None = None
    author_name: str | None = None
    from_me_source: Literal["api", "phone"] | None = None
    media: Media | None = None
    quoted_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    kind: Literal["message"] = "message"


@dataclass(frozen=True)
class MessageStatusEvent:
    provider_message_id: str
    status: DeliveryStatus
    timestamp: datetime
    reason: str | None = None
    chat_id: str | None = None
    kind: Literal["status"] = "status"


@dataclass(frozen=True)
class ConnectionEvent:
    status: NumberStatus
    raw_state: str
    timestamp: datetime
    reason_code: int | None = None
    reason: str | None = None
    phone: str | None = None
    profile_name: str | None = None
    # Whose clock `timestamp` is: the provider's own stamp, or our receipt time. Connection events
    # are ordered strictly against earlier ones of the same clock (lib: record_connection).
    clock: Literal["provider", "receipt"] = "receipt"
    kind: Literal["connection"] = "connection"


@dataclass(frozen=True)
class QrEvent:
    timestamp: datetime
    expires_at: datetime
    data_url: str | None = None
    pairing_code: str | None = None
    kind: Literal["qr"] = "qr"


@dataclass(frozen=True)
class IgnoredEvent:
    event_type: str
    reason: str
    kind: Literal["ignored"] = "ignored"


@dataclass(frozen=True)
class MessageEditEvent:
    """A message's text was edited (by its sender); `provider_message_id` names the edited message."""

    provider_message_id: str
    text: str | None
    timestamp: datetime
    chat_id: str | None = None
    kind: Literal["edit"] = "edit"


@dataclass(frozen=True)
class MessageDeleteEvent:
    """A message was deleted for everyone; `provider_message_id` names the deleted message."""

    provider_message_id: str
    timestamp: datetime
    chat_id: str | None = None
    kind: Literal["delete"] = "delete"


Event = (MessageEvent | MessageStatusEvent | ConnectionEvent | QrEvent | IgnoredEvent | MessageEditEvent
         | MessageDeleteEvent)


def to_json(event: Event) -> dict[str, Any]:
    """The event as the SQL ingest function receives it (datetimes as ISO-8601 UTC)."""

    # Not dataclasses.asdict: it deep-copies every value first (4 % of the webhook path's CPU).
    def convert(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [convert(v) for v in value]
        if is_dataclass(value):
            return convert({f.name: getattr(value, f.name) for f in fields(value)})
        return value

    return convert(event)


def from_unix(seconds: float | int | str | None, default: datetime | None = None) -> datetime:
    """A provider's Unix timestamp (seconds, or milliseconds when absurdly large) as aware UTC."""
    try:
        value = float(seconds)  # type: ignore[arg-type]
        if value > 1e12:
            value /= 1000
        return datetime.fromtimestamp(value, UTC)
    except (TypeError, ValueError, OverflowError, OSError):  # absent, garbage, or out of range
        return default or datetime.now(UTC)


def canonical_jid(jid: str | None) -> str | None:
    """One chat identity across providers (see the module docstring)."""
    if not jid:
        return None
    jid = jid.strip()
    user, _, server = jid.partition("@")
    user = user.split(":", 1)[0]  # device suffix
    if server in ("s.whatsapp.net", "c.us", ""):
        digits = "".join(ch for ch in user if ch.isdigit())
        return f"{digits}@c.us" if digits else None
    return f"{user}@{server}"


def is_lid(jid: str | None) -> bool:
    return bool(jid) and jid.endswith("@lid")

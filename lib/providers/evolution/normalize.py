"""Evolution webhooks → internal events. Pure: no I/O, no configuration.

Envelope `{event, instance, data, date_time, sender, apikey}` (webhook.controller.ts emit, v2.3.6).
Time comes from the message's own `messageTimestamp`: `date_time` is São Paulo wall-clock time
labelled `Z` in the official image (src/api/services/channel.service.ts sendDataWebhook computes
it as now - tzOffset; the Dockerfile sets TZ=America/Sao_Paulo).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from lib.events import (
    ConnectionEvent,
    Event,
    IgnoredEvent,
    Media,
    MessageDeleteEvent,
    MessageEditEvent,
    MessageEvent,
    MessageStatusEvent,
    QrEvent,
    canonical_jid,
    from_unix,
    is_lid,
)
from lib.providers.evolution.states import QR_LIFETIME, to_state
from lib.providers.evolution.wire import to_int
from lib.providers.fields import obj as _obj
from lib.providers.fields import text

# Known events we deliberately do not consume (we subscribe to few of them anyway).
NOT_CONSUMED = {"contacts.upsert", "contacts.update", "contacts.set", "chats.upsert", "chats.update", "chats.set",
                "chats.delete", "presence.update", "messages.set",
                "groups.upsert", "groups.update", "group-participants.update", "call", "labels.edit",
                "labels.association", "status.instance", "instance.create", "instance.delete", "typebot.start",
                "typebot.change-status", "send.message.update", "application.startup"}
STATUS = {"PENDING": "pending", "SERVER_ACK": "sent", "DELIVERY_ACK": "delivered", "READ": "read", "PLAYED": "read",
          "ERROR": "failed"}
WRAPPERS = ("ephemeralMessage", "viewOnceMessage", "viewOnceMessageV2", "viewOnceMessageV2Extension",
            "documentWithCaptionMessage", "editedMessage")


def normalize(payload: Mapping[str, Any], now: datetime | None = None) -> list[Event]:
    """`now` is when we received it: the time of events that carry none (connection, QR, acks)."""
    payload = _obj(payload, "the webhook body")
    now = now or from_unix(None)
    event = payload.get("event")
    if not isinstance(event, str):
        raise ValueError("the webhook has no `event`")
    handler = HANDLERS.get(event)
    if handler is not None:
        return handler(payload, now)
    if event in NOT_CONSUMED:
        return [IgnoredEvent(event, "not consumed")]
    return [IgnoredEvent(event, "unsupported event")]


# -- messages ------------------------------------------------------------------------------------------
def _unwrap(message: Mapping[str, Any]) -> Mapping[str, Any]:
    for _ in range(3):
        for wrapper in WRAPPERS:
            inner = message.get(wrapper)
            if isinstance(inner, Mapping) and isinstance(inner.get("message"), Mapping):
                message = inner["message"]
                break
        else:
            return message
    return message


def _content(message: Mapping[str, Any], message_type: str | None) -> tuple[str, Mapping[str, Any]]:
    """The content key (Baileys getContentType rules) and its value."""
    if message_type and isinstance(message.get(message_type), (Mapping, str)):
        return message_type, message[message_type]
    for key, value in message.items():
        if key == "conversation" or (key.endswith("Message") and key != "senderKeyDistributionMessage"):
            return key, value
    return message_type or "unknown", {}


def _parse_message(kind: str, body: Any, data: Mapping[str, Any]) -> tuple[str, str | None, Media | None, dict]:
    """(type, text, media, extra) for one content item. Never carries a blob."""
    b = body if isinstance(body, Mapping) else {}
    media_url = text((data.get("message") or {}).get("mediaUrl"))
    if kind == "conversation":
        return "text", text(body), None, {}
    if kind == "extendedTextMessage":
        extra = {k: b[k] for k in ("title", "description", "matchedText", "canonicalUrl") if text(b.get(k))}
        return "text", text(b.get("text")), None, extra
    media_types = {"imageMessage": "image", "videoMessage": "video", "documentMessage": "document",
                   "stickerMessage": "sticker", "audioMessage": "audio"}
    if kind in media_types:
        mtype = "voice" if kind == "audioMessage" and b.get("ptt") is True else media_types[kind]
        extra = {}
        seconds = to_int(b.get("seconds"))
        if seconds is not None:
            extra["seconds"] = seconds
        return mtype, text(b.get("caption")), Media(media_url, text(b.get("mimetype")), text(b.get("fileName"))), extra
    if kind in ("locationMessage", "liveLocationMessage"):
        extra = {"latitude": b.get("degreesLatitude"), "longitude": b.get("degreesLongitude"),
                 "name": text(b.get("name")), "address": text(b.get("address"))}
        return "location", text(b.get("name")), None, {k: v for k, v in extra.items() if v is not None}
    if kind == "contactMessage":
        return "contact", text(b.get("displayName")), None, {"contacts": [
            {"display_name": text(b.get("displayName")), "vcard": text(b.get("vcard"))}]}
    if kind == "contactsArrayMessage":
        contacts = [{"display_name": text(c.get("displayName")), "vcard": text(c.get("vcard"))}
                    for c in b.get("contacts") or [] if isinstance(c, Mapping)]
        return "contacts", text(b.get("displayName")), None, {"contacts": contacts}
    if kind == "reactionMessage":
        target = (b.get("key") or {}).get("id") if isinstance(b.get("key"), Mapping) else None
        emoji = b.get("text") if isinstance(b.get("text"), str) else ""
        return "reaction", emoji or None, None, {"target_id": target, "emoji": emoji, "removed": emoji == ""}
    if kind.startswith("pollCreationMessage"):
        options = [o.get("optionName") for o in b.get("options") or [] if isinstance(o, Mapping)]
        return "poll", text(b.get("name")), None, {"options": options}
    return "unknown", None, None, {"message_type": kind}


def _quoted(data: Mapping[str, Any], body: Any) -> str | None:
    for ctx in (data.get("contextInfo"), body.get("contextInfo") if isinstance(body, Mapping) else None):
        if isinstance(ctx, Mapping) and text(ctx.get("stanzaId")):
            return ctx["stanzaId"]
    return None


def _message(payload: Mapping[str, Any], source: str, now: datetime) -> list[Event]:
    data = _obj(payload.get("data"), "`data`")
    key = _obj(data.get("key"), "`data.key`")
    mid, remote = text(key.get("id")), text(key.get("remoteJid"))
    if not mid or not remote:
        raise ValueError("`data.key` needs `id` and `remoteJid`")
    message = _unwrap(data.get("message") if isinstance(data.get("message"), Mapping) else {})
    kind, body = _content(message, text(data.get("messageType")))
    if kind == "protocolMessage" and isinstance(body, Mapping):  # an edit or revoke: never a message row
        return _protocol(body, now)
    mtype, body_text, media, extra = _parse_message(kind, body, data)
    from_me = key.get("fromMe") is True or source == "api"
    is_group = remote.endswith("@g.us")
    alt = text(key.get("remoteJidAlt"))
    if is_lid(remote) and alt and not is_lid(alt):
        chat_id, chat_lid = canonical_jid(alt), remote
    else:
        chat_id, chat_lid = canonical_jid(remote), None
    author = canonical_jid(text(key.get("participantAlt")) or text(key.get("participant"))) if is_group else None
    push = text(data.get("pushName"))
    return [MessageEvent(
        provider_message_id=mid, direction="outbound" if from_me else "inbound", chat_id=chat_id or remote,
        type=mtype, timestamp=from_unix(to_int(data.get("messageTimestamp")), now), text=body_text, chat_lid=chat_lid,
        chat_name=push if not from_me and not is_group else None, is_group=is_group, author=author,
        author_name=push if is_group and not from_me else None,
        from_me_source=("api" if source == "api" else "phone") if from_me else None,
        media=media, quoted_id=_quoted(data, body), extra=extra)]


def _status(payload: Mapping[str, Any], now: datetime) -> list[Event]:
    data = _obj(payload.get("data"), "`data`")
    mid = text(data.get("keyId")) or text((data.get("key") or {}).get("id") if isinstance(data.get("key"), Mapping)
                                          else None)
    raw = data.get("status")
    if not mid or not isinstance(raw, str):
        raise ValueError("`messages.update` needs `keyId` and `status`")
    status = STATUS.get(raw)
    if status is None:
        return [IgnoredEvent("messages.update", f"not consumed: status {raw}")]
    ts = to_int(data.get("messageTimestamp")) or to_int(data.get("dateTime"))
    reason = "WhatsApp reported an error delivering it" if raw == "ERROR" else None
    return [MessageStatusEvent(mid, status, from_unix(ts, now) if ts else now, reason=reason,
                               chat_id=canonical_jid(text(data.get("remoteJid"))))]


# -- connection ----------------------------------------------------------------------------------------
def _connection(payload: Mapping[str, Any], now: datetime) -> list[Event]:
    data = _obj(payload.get("data"), "`data`")
    if not isinstance(data.get("state"), str):
        raise ValueError("`connection.update` needs `state`")
    code = to_int(data.get("statusReason"))
    state = to_state(data["state"], code if code is not None and 0 <= code < 10_000 else None)
    wuid = canonical_jid(text(data.get("wuid")))
    return [ConnectionEvent(status=state.status, raw_state=state.raw_state, timestamp=now,
                            reason_code=state.reason_code, reason=state.reason,
                            phone=wuid.split("@")[0] if wuid else None, profile_name=text(data.get("profileName")))]


def _qr(payload: Mapping[str, Any], now: datetime) -> list[Event]:
    data = _obj(payload.get("data"), "`data`")
    qr = data.get("qrcode")
    if not isinstance(qr, Mapping):
        return [IgnoredEvent("qrcode.updated", "not consumed: QR limit reached (connection.update refused follows)")]
    return [QrEvent(timestamp=now, expires_at=now + QR_LIFETIME, data_url=text(qr.get("base64")),
                    pairing_code=text(qr.get("pairingCode")))]


def _logout(payload: Mapping[str, Any], now: datetime) -> list[Event]:
    return [ConnectionEvent("logged_out", "logout", now, reason="logged out")]


def _removed(payload: Mapping[str, Any], now: datetime) -> list[Event]:
    return [ConnectionEvent("disconnected", "removed", now,
                            reason="instance removed on the Evolution server")]


HANDLERS: dict[str, Callable[[Mapping[str, Any], datetime], list[Event]]] = {
    "messages.upsert": lambda p, now: _message(p, "upsert", now),
    "send.message": lambda p, now: _message(p, "api", now),
    "messages.update": _status,
    "connection.update": _connection,
    "qrcode.updated": _qr,
    "logout.instance": _logout,
    "remove.instance": _removed,
    "messages.edited": lambda p, now: _protocol(_obj(p.get("data"), "`data`"), now),
    "messages.delete": lambda p, now: _deleted(p, now),
}


# -- edits and deletes -----------------------------------------------------------------------------------
# EvolutionAPI/evolution-api 2.3.6, src/api/integrations/channel/whatsapp/whatsapp.baileys.service.ts:
# - every protocolMessage (an edit, and also a revoke) is sent as `messages.edited` with the raw
#   protocolMessage as `data` — `{key: <the target's key>, type, editedMessage?, timestampMs?}` — and
#   not as `messages.upsert` (messages.upsert handler);
# - a message deleted for everyone (`messages.update` with `message: null`) is sent as
#   `messages.delete` with the raw key `{remoteJid, fromMe, id, participant?}`, and our own
#   deleteMessageForEveryone sends it with the stored row `{id, key, status: "DELETED", ...}`.
PROTOCOL_REVOKE = (0, "REVOKE")
PROTOCOL_EDIT = (14, "MESSAGE_EDIT")


def _edited_text(message: Any) -> str | None:
    if not isinstance(message, Mapping):
        return None
    message = _unwrap(message)
    if text(message.get("conversation")):
        return message["conversation"]
    for key, field in (("extendedTextMessage", "text"), ("imageMessage", "caption"), ("videoMessage", "caption"),
                       ("documentMessage", "caption")):
        inner = message.get(key)
        if isinstance(inner, Mapping) and text(inner.get(field)):
            return inner[field]
    return None


def _protocol(data: Mapping[str, Any], now: datetime) -> list[Event]:
    key = _obj(data.get("key"), "`data.key`")
    mid = text(key.get("id"))
    if not mid:
        raise ValueError("a protocol message needs `key.id`")
    kind = data.get("type")
    at = to_int(data.get("timestampMs"))
    when = from_unix(at, now) if at else now
    chat = canonical_jid(text(key.get("remoteJidAlt")) or text(key.get("remoteJid")))
    if kind in PROTOCOL_REVOKE:
        return [MessageDeleteEvent(mid, when, chat_id=chat)]
    if kind in PROTOCOL_EDIT or isinstance(data.get("editedMessage"), Mapping):
        return [MessageEditEvent(mid, _edited_text(data.get("editedMessage")), when, chat_id=chat)]
    return [IgnoredEvent("messages.edited", f"not consumed: protocol message {kind}")]


def _deleted(payload: Mapping[str, Any], now: datetime) -> list[Event]:
    data = _obj(payload.get("data"), "`data`")
    key = data.get("key") if isinstance(data.get("key"), Mapping) else data
    mid = text(key.get("id"))
    if not mid:
        raise ValueError("`messages.delete` needs the deleted message's `id`")
    return [MessageDeleteEvent(mid, now, chat_id=canonical_jid(text(key.get("remoteJid"))))]

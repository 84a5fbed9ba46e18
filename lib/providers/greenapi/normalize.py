"""GREEN-API notifications → internal events. Pure: no I/O, no configuration.

Bodies per https://green-api.com/en/docs/api/receiving/notifications-format/.
Voice notes: GREEN-API sends them as `audioMessage`; we call one a voice note when its mimeType is
Ogg/Opus (WhatsApp's push-to-talk encoding), otherwise plain audio.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
    canonical_jid,
    from_unix,
)
from lib.providers.fields import obj as _obj
from lib.providers.fields import text as _text
from lib.providers.greenapi.states import to_state

NOT_CONSUMED = {"statusInstanceChanged", "deviceInfo", "incomingCall", "incomingBlock", "quotaExceeded",
                "outgoingCall", "editedMessage", "deletedMessage"}
FAILED = {"failed", "noAccount", "notInGroup", "yellowCard"}
SWE_MARKERS = ("{{SWE001}}", "{{SWE002}}", "{{SWE003}}")  # undecryptable / too big (Common errors page)


def normalize(payload: Mapping[str, Any]) -> list[Event]:
    payload = _obj(payload, "the notification")
    kind = payload.get("typeWebhook")
    if not isinstance(kind, str):
        raise ValueError("the notification has no `typeWebhook`")
    handler = HANDLERS.get(kind)
    if handler is not None:
        return handler(payload)
    if kind in NOT_CONSUMED:
        return [IgnoredEvent(kind, "not consumed")]
    return [IgnoredEvent(kind, "unsupported event")]


def _content(md: Mapping[str, Any]) -> tuple[str, str | None, Media | None, dict[str, Any]]:
    t = md.get("typeMessage")
    ext = md.get("extendedTextMessageData") if isinstance(md.get("extendedTextMessageData"), Mapping) else {}
    if t == "textMessage":
        return "text", _text((md.get("textMessageData") or {}).get("textMessage")), None, {}
    if t in ("extendedTextMessage", "quotedMessage"):
        extra = {k: ext[k] for k in ("title", "description") if _text(ext.get(k))}
        return "text", _text(ext.get("text")), None, extra
    if t in ("imageMessage", "videoMessage", "documentMessage", "audioMessage", "stickerMessage"):
        f = md.get("fileMessageData") if isinstance(md.get("fileMessageData"), Mapping) else {}
        url, extra = _text(f.get("downloadUrl")), {}
        if url in SWE_MARKERS:
            extra["provider_marker"], url = url, None
        mime = _text(f.get("mimeType"))
        mtype = {"imageMessage": "image", "videoMessage": "video", "documentMessage": "document",
                 "stickerMessage": "sticker", "audioMessage": "audio"}[t]
        if mtype == "audio" and mime and ("ogg" in mime or "opus" in mime):
            mtype = "voice"
        return mtype, _text(f.get("caption")), Media(url, mime, _text(f.get("fileName"))), extra
    if t == "locationMessage":
        loc = md.get("locationMessageData") if isinstance(md.get("locationMessageData"), Mapping) else {}
        extra = {"latitude": loc.get("latitude"), "longitude": loc.get("longitude"),
                 "name": _text(loc.get("nameLocation")), "address": _text(loc.get("address"))}
        return "location", _text(loc.get("nameLocation")), None, {k: v for k, v in extra.items() if v is not None}
    if t == "contactMessage":
        c = md.get("contactMessageData") if isinstance(md.get("contactMessageData"), Mapping) else {}
        return "contact", _text(c.get("displayName")), None, {"contacts": [
            {"display_name": _text(c.get("displayName")), "vcard": _text(c.get("vcard"))}]}
    if t == "contactsArrayMessage":
        inner = md.get("messageData") if isinstance(md.get("messageData"), Mapping) else md  # the odd nested key
        contacts = [{"display_name": _text(c.get("displayName")), "vcard": _text(c.get("vcard"))}
                    for c in inner.get("contacts") or [] if isinstance(c, Mapping)]
        return "contacts", None, None, {"contacts": contacts}
    if t == "reactionMessage":
        emoji = ext.get("text") if isinstance(ext.get("text"), str) else ""
        quoted = md.get("quotedMessage") if isinstance(md.get("quotedMessage"), Mapping) else {}
        target = quoted.get("stanzaId")
        return "reaction", emoji or None, None, {"target_id": target, "emoji": emoji, "removed": emoji == ""}
    if t == "pollMessage":
        poll = md.get("pollMessageData") if isinstance(md.get("pollMessageData"), Mapping) else {}
        options = [o.get("optionName") for o in poll.get("options") or [] if isinstance(o, Mapping)]
        return "poll", _text(poll.get("name")), None, {"options": options}
    return "unknown", None, None, {"message_type": t}


def _quoted(md: Mapping[str, Any]) -> str | None:
    if md.get("typeMessage") == "reactionMessage":
        return None
    q = md.get("quotedMessage")
    if isinstance(q, Mapping) and _text(q.get("stanzaId")):
        return q["stanzaId"]
    ext = md.get("extendedTextMessageData")
    if md.get("typeMessage") == "quotedMessage" and isinstance(ext, Mapping):  # the deprecated form
        return _text(ext.get("stanzaId"))
    return None


def _message(payload: Mapping[str, Any], direction: str, source: str | None) -> list[Event]:
    mid = _text(payload.get("idMessage"))
    sender = _obj(payload.get("senderData"), "`senderData`")
    md = _obj(payload.get("messageData"), "`messageData`")
    chat = _text(sender.get("chatId"))
    if not mid or not chat:
        raise ValueError("a message notification needs `idMessage` and `senderData.chatId`")
    if md.get("typeMessage") in CHANGES:  # an edit or delete of an earlier message: never a row of its own
        return CHANGES[md["typeMessage"]](payload, md, canonical_jid(chat) or chat)
    mtype, body, media, extra = _content(md)
    is_group = chat.endswith("@g.us")
    inbound = direction == "inbound"
    return [MessageEvent(
        provider_message_id=mid, direction=direction, chat_id=canonical_jid(chat) or chat, type=mtype,
        timestamp=from_unix(payload.get("timestamp")), text=body,
        chat_name=_text(sender.get("chatName")) if inbound and not is_group else None, is_group=is_group,
        author=canonical_jid(_text(sender.get("sender"))) if is_group else None,
        author_name=_text(sender.get("senderName")) if is_group and inbound else None,
        from_me_source=source, media=media, quoted_id=_quoted(md), extra=extra)]


def _status(payload: Mapping[str, Any]) -> list[Event]:
    mid, status = _text(payload.get("idMessage")), payload.get("status")
    if not mid or not isinstance(status, str):
        raise ValueError("`outgoingMessageStatus` needs `idMessage` and `status`")
    if status in FAILED:
        desc = _text(payload.get("description"))
        return [MessageStatusEvent(mid, "failed", from_unix(payload.get("timestamp")),
                                   reason=f"{status}: {desc}" if desc else status,
                                   chat_id=canonical_jid(_text(payload.get("chatId"))))]
    if status not in ("sent", "delivered", "read"):
        return [IgnoredEvent("outgoingMessageStatus", f"not consumed: status {status}")]
    return [MessageStatusEvent(mid, status, from_unix(payload.get("timestamp")),
                               chat_id=canonical_jid(_text(payload.get("chatId"))))]


def _state(payload: Mapping[str, Any]) -> list[Event]:
    raw = payload.get("stateInstance")
    if not isinstance(raw, str):
        raise ValueError("`stateInstanceChanged` needs `stateInstance`")
    state = to_state(raw)
    data = payload.get("instanceData") if isinstance(payload.get("instanceData"), Mapping) else {}
    wid = _text(data.get("wid"))
    stamped = payload.get("timestamp") is not None
    return [ConnectionEvent(status=state.status, raw_state=state.raw_state,
                            timestamp=from_unix(payload.get("timestamp")), reason=state.reason,
                            phone=wid.split("@")[0] if wid else None, clock="provider" if stamped else "receipt")]


HANDLERS: dict[str, Callable[[Mapping[str, Any]], list[Event]]] = {
    "incomingMessageReceived": lambda p: _message(p, "inbound", None),
    "outgoingMessageReceived": lambda p: _message(p, "outbound", "phone"),
    "outgoingAPIMessageReceived": lambda p: _message(p, "outbound", "api"),
    "outgoingMessageStatus": _status,
    "stateInstanceChanged": _state,
}


# Edits and deletes arrive as messages whose typeMessage names the change and whose stanzaId names the
# changed message (the instance needs editedMessageWebhook / deletedMessageWebhook = yes):
# https://green-api.com/en/docs/api/receiving/notifications-format/incoming-message/EditedMessage/
# https://green-api.com/en/docs/api/receiving/notifications-format/incoming-message/DeletedMessage/
# (and the outgoing-message/ twins for outgoingMessageReceived / outgoingAPIMessageReceived).
def _edited(payload: Mapping[str, Any], md: Mapping[str, Any], chat: str) -> list[Event]:
    data = _obj(md.get("editedMessageData"), "`editedMessageData`")
    target = _text(data.get("stanzaId"))
    if not target:
        raise ValueError("an edited message needs `editedMessageData.stanzaId`")
    return [MessageEditEvent(target, _text(data.get("textMessage")), from_unix(payload.get("timestamp")), chat_id=chat)]


def _deleted(payload: Mapping[str, Any], md: Mapping[str, Any], chat: str) -> list[Event]:
    data = _obj(md.get("deletedMessageData"), "`deletedMessageData`")
    target = _text(data.get("stanzaId"))
    if not target:
        raise ValueError("a deleted message needs `deletedMessageData.stanzaId`")
    return [MessageDeleteEvent(target, from_unix(payload.get("timestamp")), chat_id=chat)]


CHANGES: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any], str], list[Event]]] = {
    "editedMessage": _edited, "deletedMessage": _deleted}

"""GREEN-API calls for conversations: on-WhatsApp check, read receipts, reactions, edits, deletes.

- CheckWhatsapp  https://green-api.com/en/docs/api/service/CheckWhatsapp  `{"phoneNumber": <int>}` →
  `{"existsWhatsapp": bool}`
- ReadChat       https://green-api.com/en/docs/api/marks/ReadChat  `{"chatId"}` (all unread) → `{"setRead"}`
- SendReaction   https://green-api.com/en/docs/api/service/SendReaction/  `{"chatId", "idMessage", "reaction"}`
- EditMessage    https://green-api.com/en/docs/api/service/EditMessage  `{"chatId", "idMessage", "message"}`
- DeleteMessage  https://green-api.com/en/docs/api/service/DeleteMessage  `{"chatId", "idMessage"}` → empty 200
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from lib.events import canonical_jid
from lib.providers.base import NumberRef

if TYPE_CHECKING:
    from lib.providers.greenapi.provider import GreenApiProvider


def check_whatsapp(p: GreenApiProvider, ref: NumberRef, phone: str) -> str | None:
    body = p._instance_call(ref, "check_whatsapp", "POST", "checkWhatsapp", {"phoneNumber": int(phone)})
    if not isinstance(body, dict) or body.get("existsWhatsapp") is not True:
        return None
    return f"{phone}@c.us"


def mark_read(p: GreenApiProvider, ref: NumberRef, chat_id: str, unread: list[tuple[str, str | None]]) -> None:
    # Without idMessage every unread message of the chat is marked read: one call whatever the count.
    p._instance_call(ref, "read_chat", "POST", "readChat", {"chatId": chat_id})


def send_reaction(p: GreenApiProvider, ref: NumberRef, chat_id: str, message_id: str, from_me: bool,
                  author: str | None, emoji: str) -> None:
    p._instance_call(ref, "send_reaction", "POST", "sendReaction",
                     {"chatId": chat_id, "idMessage": message_id, "reaction": emoji}, sending=True)


def edit_message(p: GreenApiProvider, ref: NumberRef, chat_id: str, message_id: str, text: str) -> None:
    p._instance_call(ref, "edit_message", "POST", "editMessage",
                     {"chatId": chat_id, "idMessage": message_id, "message": text}, sending=True)


def delete_message(p: GreenApiProvider, ref: NumberRef, chat_id: str, message_id: str, from_me: bool,
                   author: str | None) -> None:
    p._instance_call(ref, "delete_message", "POST", "deleteMessage", {"chatId": chat_id, "idMessage": message_id},
                     sending=True)


# GetAvatar    https://green-api.com/en/docs/api/service/GetAvatar/  `{"chatId"}` → `{"urlAvatar", "available"}`
# GetGroupData https://green-api.com/en/docs/api/groups/GetGroupData/  `{"groupId"}` →
#              `{"subject", "participants": [{"id", "isAdmin", "isSuperAdmin"}], ...}`
def avatar_url(p: GreenApiProvider, ref: NumberRef, chat_id: str) -> str | None:
    body = p._instance_call(ref, "get_avatar", "POST", "getAvatar", {"chatId": chat_id})
    url = body.get("urlAvatar") if isinstance(body, dict) else None
    return url if isinstance(url, str) and url else None


def group_info(p: GreenApiProvider, ref: NumberRef, group_id: str) -> dict[str, Any]:
    body = p._instance_call(ref, "get_group_data", "POST", "getGroupData", {"groupId": group_id})
    body = body if isinstance(body, dict) else {}
    people = [{"id": canonical_jid(part["id"]), "admin": bool(part.get("isAdmin") or part.get("isSuperAdmin"))}
              for part in body.get("participants") or [] if isinstance(part, dict) and isinstance(part.get("id"), str)]
    return {"subject": body.get("subject") if isinstance(body.get("subject"), str) else None, "participants": people}


# History: the journals GET lastIncomingMessages / lastOutgoingMessages ?minutes=
# (https://green-api.com/en/docs/api/journals/LastIncomingMessages/, .../LastOutgoingMessages/) answer
# flat records `{type, idMessage, timestamp, typeMessage, chatId, senderId, senderName, textMessage,
# downloadUrl, caption, fileName, mimeType, extendedTextMessage, quotedMessage, sendByApi}`; each is
# rewritten as the notification it would have been and goes through the webhook normalizer.
JOURNALS = ("lastIncomingMessages", "lastOutgoingMessages")


def _journal(p: GreenApiProvider, ref: NumberRef, api: str, minutes: int) -> Any:
    from lib import resilience  # noqa: PLC0415
    from lib.errors import InstanceNotFound  # noqa: PLC0415

    id_instance = str(ref.provider_instance_id or ref.instance_data.get("idInstance") or "")
    if not id_instance.isdigit() or not ref.api_token:
        raise InstanceNotFound("this number has no GREEN-API instance credentials", provider=p.name)
    base = str(ref.instance_data.get("apiUrl") or p.api_url).rstrip("/")
    call = resilience.Call(provider=p.name, operation=api, method="GET", instance=id_instance,
                           url=f"{base}/waInstance{id_instance}/{api}/{quote(ref.api_token, safe='')}",
                           params={"minutes": minutes})
    return p._send(call)


def _as_notification(record: dict[str, Any]) -> dict[str, Any]:
    outgoing = record.get("type") == "outgoing"
    kind = record.get("typeMessage")
    data: dict[str, Any] = {"typeMessage": kind}
    if kind == "textMessage":
        data["textMessageData"] = {"textMessage": record.get("textMessage")}
    elif kind in ("extendedTextMessage", "quotedMessage"):
        ext = record.get("extendedTextMessage") if isinstance(record.get("extendedTextMessage"), dict) else {}
        data["extendedTextMessageData"] = {**ext, "text": ext.get("text") or record.get("textMessage")}
    elif kind in ("imageMessage", "videoMessage", "documentMessage", "audioMessage", "stickerMessage"):
        data["fileMessageData"] = {k: record.get(k) for k in ("downloadUrl", "caption", "fileName", "mimeType")}
    else:
        data.update({k: v for k, v in record.items() if k.endswith("Data") or k == "quotedMessage"})
    if isinstance(record.get("quotedMessage"), dict):
        data["quotedMessage"] = record["quotedMessage"]
    hook = ("outgoingAPIMessageReceived" if record.get("sendByApi") else "outgoingMessageReceived") if outgoing \
        else "incomingMessageReceived"
    return {"typeWebhook": hook, "idMessage": record.get("idMessage"), "timestamp": record.get("timestamp"),
            "senderData": {"chatId": record.get("chatId"), "sender": record.get("senderId") or record.get("chatId"),
                           "chatName": record.get("chatName") or record.get("senderName") or "",
                           "senderName": record.get("senderName") or ""},
            "messageData": data}


def history_page(p: GreenApiProvider, ref: NumberRef, since: datetime, until: datetime,
                 cursor: dict[str, Any] | None) -> tuple[list[Any], dict[str, Any] | None]:
    from lib.providers.greenapi.normalize import normalize  # noqa: PLC0415

    stage = int((cursor or {}).get("journal") or 0)
    minutes = max(1, math.ceil((datetime.now(UTC) - since).total_seconds() / 60) + 1)
    records = _journal(p, ref, JOURNALS[stage], minutes)
    events: list[Any] = []
    for record in records if isinstance(records, list) else []:
        ts = record.get("timestamp") if isinstance(record, dict) else None
        if not isinstance(ts, (int, float)) or not since.timestamp() <= ts <= until.timestamp():
            continue
        try:
            events += normalize(_as_notification(record))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # one unreadable record never stops an import
    following = {"journal": stage + 1} if stage + 1 < len(JOURNALS) else None
    return [e for e in events if e.kind != "ignored"], following

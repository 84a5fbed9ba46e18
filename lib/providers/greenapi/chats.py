"""GREEN-API calls for conversations: on-WhatsApp check, read receipts, reactions, edits, deletes.

- CheckWhatsapp  https://green-api.com/en/docs/api/service/CheckWhatsapp  `{"phoneNumber": <int>}` →
  `{"existsWhatsapp": bool}`
- ReadChat       https://green-api.com/en/docs/api/marks/ReadChat  `{"chatId"}` (all unread) → `{"setRead"}`
- SendReaction   https://green-api.com/en/docs/api/service/SendReaction/  `{"chatId", "idMessage", "reaction"}`
- EditMessage    https://green-api.com/en/docs/api/service/EditMessage  `{"chatId", "idMessage", "message"}`
- DeleteMessage  https://green-api.com/en/docs/api/service/DeleteMessage  `{"chatId", "idMessage"}` → empty 200
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

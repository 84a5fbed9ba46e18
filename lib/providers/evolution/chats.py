"""Evolution calls for conversations: on-WhatsApp check, read receipts, reactions, edits, deletes.

Routes and bodies from EvolutionAPI/evolution-api 2.3.6:
- src/api/routes/chat.router.ts: POST /chat/whatsappNumbers (200), POST /chat/markMessageAsRead (201),
  POST /chat/updateMessage (200), DELETE /chat/deleteMessageForEveryone (201);
- src/api/routes/sendMessage.router.ts: POST /message/sendReaction (201);
- bodies: src/validate/chat.schema.ts (whatsappNumberSchema, readMessageSchema, updateMessageSchema,
  deleteMessageSchema), src/validate/message.schema.ts (reactionMessageSchema);
- behaviour: src/api/integrations/channel/whatsapp/whatsapp.baileys.service.ts (whatsappNumber answers
  `[{jid, exists, number, name?, lid?}]`; markMessageAsRead keeps only keys whose remoteJid is a group
  or a phone JID (`@s.whatsapp.net`), so the canonical `@c.us` form is rewritten; sendReaction refuses
  anything but one emoji or "" (sendMessage.controller.ts isEmoji)).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from lib.events import canonical_jid
from lib.providers.base import NumberRef

if TYPE_CHECKING:
    from lib.providers.evolution.provider import EvolutionProvider


def jid(chat_id: str) -> str:
    """Baileys' JID for a canonical chat id: `<digits>@s.whatsapp.net` for a person."""
    user, _, server = chat_id.partition("@")
    return f"{user}@s.whatsapp.net" if server in ("c.us", "") else chat_id


def _key(chat_id: str, message_id: str, from_me: bool, author: str | None) -> dict[str, Any]:
    key: dict[str, Any] = {"id": message_id, "fromMe": from_me, "remoteJid": jid(chat_id)}
    if chat_id.endswith("@g.us") and not from_me and author:
        key["participant"] = jid(author)
    return key


def check_whatsapp(p: EvolutionProvider, ref: NumberRef, phone: str) -> str | None:
    name = p._instance(ref)
    rows = p._call("whatsapp_numbers", "POST", f"/chat/whatsappNumbers/{name}", ref.api_token, instance=name,
                   json={"numbers": [phone]})
    row = next((r for r in rows if isinstance(r, dict)), None) if isinstance(rows, list) else None
    if row is None or row.get("exists") is not True:
        return None
    return canonical_jid(row.get("jid") if isinstance(row.get("jid"), str) else phone)


def mark_read(p: EvolutionProvider, ref: NumberRef, chat_id: str, unread: list[tuple[str, str | None]]) -> None:
    if not unread:
        return  # nothing unread: Evolution refuses an empty list (readMessageSchema minItems 1)
    name = p._instance(ref)
    p._call("mark_read", "POST", f"/chat/markMessageAsRead/{name}", ref.api_token, instance=name,
            json={"readMessages": [_key(chat_id, mid, False, author) for mid, author in unread]})


def send_reaction(p: EvolutionProvider, ref: NumberRef, chat_id: str, message_id: str, from_me: bool,
                  author: str | None, emoji: str) -> None:
    name = p._instance(ref)
    p._call("send_reaction", "POST", f"/message/sendReaction/{name}", ref.api_token, instance=name, sending=True,
            json={"key": _key(chat_id, message_id, from_me, author), "reaction": emoji})


def edit_message(p: EvolutionProvider, ref: NumberRef, chat_id: str, message_id: str, text: str) -> None:
    from lib.providers.evolution.provider import to_number  # noqa: PLC0415

    name = p._instance(ref)
    p._call("edit_message", "POST", f"/chat/updateMessage/{name}", ref.api_token, instance=name, sending=True,
            json={"number": to_number(chat_id), "text": text, "key": _key(chat_id, message_id, True, None)})


def delete_message(p: EvolutionProvider, ref: NumberRef, chat_id: str, message_id: str, from_me: bool,
                   author: str | None) -> None:
    name = p._instance(ref)
    key = _key(chat_id, message_id, from_me, author)
    p._call("delete_message", "DELETE", f"/chat/deleteMessageForEveryone/{name}", ref.api_token, instance=name,
            sending=True, json=key)


# Profiles: POST /chat/fetchProfilePictureUrl {number} → {wuid, profilePictureUrl} (null when hidden), and
# GET /group/findGroupInfos?groupJid= → {id, subject, participants: [{id, admin}], ...}
# (2.3.6 chat.router.ts, group.router.ts; whatsapp.baileys.service.ts profilePicture, findGroup).
def avatar_url(p: EvolutionProvider, ref: NumberRef, chat_id: str) -> str | None:
    name = p._instance(ref)
    body = p._call("fetch_profile_picture", "POST", f"/chat/fetchProfilePictureUrl/{name}", ref.api_token,
                   instance=name, json={"number": jid(chat_id)})
    url = body.get("profilePictureUrl") if isinstance(body, dict) else None
    return url if isinstance(url, str) and url else None


def group_info(p: EvolutionProvider, ref: NumberRef, group_id: str) -> dict[str, Any]:
    name = p._instance(ref)
    body = p._call("find_group", "GET", f"/group/findGroupInfos/{name}", ref.api_token, instance=name,
                   params={"groupJid": group_id})
    body = body if isinstance(body, dict) else {}
    people = []
    for part in body.get("participants") or []:
        if isinstance(part, dict) and isinstance(part.get("id"), str):
            # a LID participant carries its phone JID beside it when WhatsApp shares it
            phone = part.get("phoneNumber") if isinstance(part.get("phoneNumber"), str) else part["id"]
            people.append({"id": canonical_jid(phone), "admin": part.get("admin") in ("admin", "superadmin")})
    return {"subject": body.get("subject") if isinstance(body.get("subject"), str) else None, "participants": people}


# History: POST /chat/findMessages {where: {messageTimestamp: {gte, lte}}, page, offset} →
# {messages: {total, pages, currentPage, records}}, newest first; the timestamp filter applies only
# with both bounds (2.3.6 src/api/services/channel.service.ts fetchMessages). A record has the fields
# of a messages.upsert `data`, so it goes through the webhook normalizer.
HISTORY_PAGE = 50


def history_page(p: EvolutionProvider, ref: NumberRef, since: datetime, until: datetime,
                 cursor: dict[str, Any] | None) -> tuple[list[Any], dict[str, Any] | None]:
    from lib.providers.evolution.normalize import normalize  # noqa: PLC0415

    name = p._instance(ref)
    page = int((cursor or {}).get("page") or 1)
    body = p._call("find_messages", "POST", f"/chat/findMessages/{name}", ref.api_token, instance=name,
                   json={"where": {"messageTimestamp": {"gte": since.isoformat(), "lte": until.isoformat()}},
                         "page": page, "offset": HISTORY_PAGE})
    found = body.get("messages") if isinstance(body, dict) and isinstance(body.get("messages"), dict) else {}
    events: list[Any] = []
    for record in found.get("records") or []:
        try:
            events += normalize({"event": "messages.upsert", "data": record}, now=until)
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # one unreadable record never stops an import
    pages = found.get("pages") if isinstance(found.get("pages"), int) else 0
    return [e for e in events if e.kind != "ignored"], ({"page": page + 1} if page < pages else None)

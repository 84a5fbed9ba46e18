"""The Evolution simulator's conversations: on-WhatsApp checks, read receipts, reactions, edits,
deletes, profiles, groups and the message history the server keeps (EvolutionAPI/evolution-api 2.3.6,
src/api/routes/chat.router.ts, sendMessage.router.ts, group.router.ts)."""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from typing import Any

from lib.sim.evolution_state import Instance, _err


class ChatRoutes:
    """Mixed into EvolutionSimulator (which provides `instances`, `lock` and `_emit`)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        # What these routes keep (set here, not on first use: the server answers on many threads).
        # Numbers (digits) the on-WhatsApp check answers `exists: false` for.
        self.not_on_whatsapp: set[str] = set()
        # Numbers WhatsApp knows under another JID (Brazil's ninth digit): digits → the JID it answers.
        self.wa_jids: dict[str, str] = {}
        # Every markMessageAsRead request: (instance, readMessages).
        self.reads: list[tuple[str, list[dict[str, Any]]]] = []
        self.edits: list[tuple[str, str, str]] = []
        self.deletes: list[tuple[str, str]] = []
        # JID → profile picture URL; a JID not listed has none (or hides it).
        self.avatars: dict[str, str] = {}
        # group JID → {"subject", "participants": [{"id", "admin"}]} (Baileys groupMetadata).
        self.groups: dict[str, dict[str, Any]] = {}
        # instance → every message record the server stored (messages.upsert / send.message data).
        self.history: dict[str, list[dict[str, Any]]] = {}
        # Instances whose webhooks do not reach us (our outage): events are stored, never delivered.
        self.offline: set[str] = set()
        super().__init__(*args, **kw)

    # -- conversations: on-WhatsApp check, read receipts, reactions, edits, deletes ---------------------
    # Routes and shapes from 2.3.6: src/api/routes/chat.router.ts, src/api/routes/sendMessage.router.ts,
    # src/validate/chat.schema.ts, src/api/integrations/channel/whatsapp/whatsapp.baileys.service.ts.
    def _chat_routes(self):
        return {("POST", "chat", "whatsappNumbers"): self._whatsapp_numbers,
                ("POST", "chat", "markMessageAsRead"): self._mark_read,
                ("POST", "message", "sendReaction"): self._send_reaction,
                ("POST", "chat", "updateMessage"): self._update_message,
                ("DELETE", "chat", "deleteMessageForEveryone"): self._delete_for_everyone,
                ("POST", "chat", "fetchProfilePictureUrl"): self._profile_picture,
                ("GET", "group", "findGroupInfos"): self._find_group,
                ("POST", "chat", "findMessages"): self._find_messages}

    def _whatsapp_numbers(self, inst: Instance, query: dict[str, str], body: dict[str, Any]):
        numbers = body.get("numbers")
        if not isinstance(numbers, list) or not numbers:
            raise _err(400, [["instance.numbers does not meet minimum length of 1"]])
        if inst.state != "open":
            raise _err(400, "Connection Closed")
        out = []
        for number in numbers:
            digits = "".join(ch for ch in str(number).split("@")[0] if ch.isdigit())
            jid = self.wa_jids.get(digits, f"{digits}@s.whatsapp.net")
            out.append({"exists": digits not in self.not_on_whatsapp and not digits.startswith("000"), "jid": jid,
                        "number": str(number)})
        return 200, out

    def _mark_read(self, inst: Instance, query: dict[str, str], body: dict[str, Any]):
        keys = body.get("readMessages")
        if not isinstance(keys, list) or not keys or not all(
                isinstance(k, dict) and k.get("id") and k.get("remoteJid") and isinstance(k.get("fromMe"), bool)
                for k in keys):
            raise _err(400, [["instance.readMessages is not valid"]])
        if inst.state != "open":
            raise _err(500, "Read messages fail")  # InternalServerErrorException around readMessages
        with self.lock:
            self.reads.append((inst.name, keys))
        return 201, {"message": "Read messages", "read": "success"}

    def _send_reaction(self, inst: Instance, query: dict[str, str], body: dict[str, Any]):
        key = body.get("key")
        if not isinstance(key, dict) or not key.get("id") or not key.get("remoteJid") or "reaction" not in body:
            raise _err(400, [["instance requires property \"key\""]])
        emoji = body["reaction"]
        if not isinstance(emoji, str) or (emoji and (len(emoji) > 8 or any(ch.isalnum() for ch in emoji))):
            raise _err(400, ["Reaction must be a single emoji or empty string"])
        if inst.state != "open":
            raise _err(500, "Connection Closed")
        data = {"key": {"remoteJid": key["remoteJid"], "fromMe": True, "id": "3EB0" + secrets.token_hex(9).upper()},
                "pushName": "Você", "status": "PENDING",
                "message": {"reactionMessage": {"key": key, "text": emoji,
                                                "senderTimestampMs": str(int(time.time() * 1000))}},
                "messageType": "reactionMessage", "messageTimestamp": int(time.time()), "instanceId": inst.id,
                "source": "web"}
        with self.lock:
            inst.sent.append({**data, "request": body})
        self._emit(inst, "send.message", data)
        return 201, data

    def _sent_by_id(self, inst: Instance, message_id: str) -> dict[str, Any] | None:
        with self.lock:
            return next((m for m in inst.sent if (m.get("key") or {}).get("id") == message_id), None)

    def _update_message(self, inst: Instance, query: dict[str, str], body: dict[str, Any]):
        key = body.get("key")
        if not body.get("number") or not body.get("text") or not isinstance(key, dict) or not key.get("id"):
            raise _err(400, [["instance requires property \"key\""]])
        old = self._sent_by_id(inst, key["id"])
        if old is None:
            raise _err(404, ["Message not found"])
        if old["key"]["remoteJid"] != (body["number"] if "@" in str(body["number"])
                                       else f"{body['number']}@s.whatsapp.net"):
            raise _err(400, ["RemoteJid does not match"])
        protocol = {"key": old["key"], "type": 14, "editedMessage": {"conversation": body["text"]},
                    "timestampMs": int(time.time() * 1000)}
        with self.lock:
            old["message"] = {"conversation": body["text"]}
            self.edits.append((inst.name, key["id"], body["text"]))
        self._emit(inst, "send.message.update", protocol)
        return 200, {"key": {**old["key"], "id": "3EB0" + secrets.token_hex(9).upper()},
                     "message": {"protocolMessage": protocol}, "messageTimestamp": int(time.time()),
                     "status": "PENDING"}

    def _delete_for_everyone(self, inst: Instance, query: dict[str, str], body: dict[str, Any]):
        if not body.get("id") or not body.get("remoteJid") or not isinstance(body.get("fromMe"), bool):
            raise _err(400, [["instance requires property \"id\""]])
        if inst.state != "open":
            raise _err(500, "Error while deleting message for everyone")
        stored = self._sent_by_id(inst, body["id"])
        with self.lock:
            self.deletes.append((inst.name, body["id"]))
        if stored is not None:  # the stored row, as deleteMessage sends it (LOGICAL_MESSAGE_DELETE)
            self._emit(inst, "messages.delete", {"id": "cm" + secrets.token_hex(10), "instanceId": inst.id,
                                                 "key": {**stored["key"], "deleted": True},
                                                 "messageType": stored.get("messageType"), "status": "DELETED",
                                                 "messageTimestamp": stored.get("messageTimestamp")})
        revoke_id = "3EB0" + secrets.token_hex(9).upper()
        return 201, {"key": {"remoteJid": body["remoteJid"], "fromMe": True, "id": revoke_id},
                     "message": {"protocolMessage": {"key": {k: body[k] for k in ("id", "fromMe", "remoteJid")},
                                                     "type": "REVOKE"}}, "status": "PENDING"}

    def _profile_picture(self, inst: Instance, query: dict[str, str], body: dict[str, Any]):
        number = str(body.get("number") or "")
        jid = number if "@" in number else f"{number}@s.whatsapp.net"
        return 200, {"wuid": jid, "profilePictureUrl": self.avatars.get(jid)}

    def _find_group(self, inst: Instance, query: dict[str, str], body: Any):
        gid = query.get("groupJid")
        if not gid:
            raise _err(400, ["The group id needs to be informed in the query"])
        group = self.groups.get(gid)
        if group is None:
            raise _err(404, ["Error fetching group"])
        return 200, {"id": gid, "subject": group["subject"], "size": len(group["participants"]),
                     "pictureUrl": self.avatars.get(gid), "participants": group["participants"]}

    # -- history: what the server keeps (its Message table), and outages of webhook delivery -----------
    def _kept(self, inst: Instance, event: str, data: Any) -> bool:
        """Store a message event's record; True when the instance's webhooks are cut off."""
        if event in ("messages.upsert", "send.message") and isinstance(data, dict):
            with self.lock:
                records = self.history.setdefault(inst.name, [])
                if not any(r["key"]["id"] == data["key"]["id"] for r in records):
                    records.append(data)
        return inst.name in self.offline

    def _find_messages(self, inst: Instance, query: dict[str, str], body: dict[str, Any]):
        where = body.get("where") or {}
        stamp = where.get("messageTimestamp") or {}
        page, offset = int(body.get("page") or 1), int(body.get("offset") or 50)
        with self.lock:
            records = list(self.history.get(inst.name, []))
        if stamp.get("gte") and stamp.get("lte"):  # both bounds, or no time filter (fetchMessages)
            gte = datetime.fromisoformat(stamp["gte"]).timestamp() // 1
            lte = datetime.fromisoformat(stamp["lte"]).timestamp() // 1
            records = [r for r in records if gte <= r["messageTimestamp"] <= lte]
        records.sort(key=lambda r: r["messageTimestamp"], reverse=True)
        skip = offset * (0 if page == 1 else page - 1)
        return 200, {"messages": {"total": len(records), "pages": -(-len(records) // offset),
                                  "currentPage": page, "records": records[skip:skip + offset]}}

    def inject_reaction(self, name: str, remote_jid: str, target_id: str, emoji: str, target_from_me: bool = True,
                        message_id: str | None = None) -> str:
        """The contact reacts to a message (an empty emoji removes the reaction): messages.upsert."""
        inst = self.instances[name]
        mid = message_id or "3A" + secrets.token_hex(9).upper()
        self._emit(inst, "messages.upsert", {
            "key": {"remoteJid": remote_jid, "fromMe": False, "id": mid, "addressingMode": "pn"},
            "pushName": "Maria", "status": "DELIVERY_ACK",
            "message": {"reactionMessage": {"key": {"remoteJid": remote_jid, "fromMe": target_from_me,
                                                    "id": target_id},
                                            "text": emoji, "senderTimestampMs": str(int(time.time() * 1000))}},
            "messageType": "reactionMessage", "messageTimestamp": int(time.time()), "instanceId": inst.id,
            "source": "android"})
        return mid

    def inject_edit(self, name: str, remote_jid: str, target_id: str, text: str) -> None:
        """The contact edits a message: its protocolMessage as `messages.edited`."""
        inst = self.instances[name]
        self._emit(inst, "messages.edited", {
            "key": {"remoteJid": remote_jid, "fromMe": False, "id": target_id}, "type": "MESSAGE_EDIT",
            "editedMessage": {"conversation": text}, "timestampMs": str(int(time.time() * 1000))})

    def inject_revoke(self, name: str, remote_jid: str, target_id: str) -> None:
        """The contact deletes a message for everyone: the REVOKE protocolMessage as `messages.edited`,
        then `messages.delete` with the raw key (messages.update with `message: null`)."""
        inst = self.instances[name]
        key = {"remoteJid": remote_jid, "fromMe": False, "id": target_id}
        self._emit(inst, "messages.edited", {"key": key, "type": "REVOKE"})
        self._emit(inst, "messages.delete", key)

"""The GREEN-API simulator's conversations: checkWhatsapp, readChat, reactions, edits, deletes,
avatars, group data, the incoming/outgoing journals, and outages of notification delivery
(https://green-api.com/en/docs/api/ — each method's page)."""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from lib.sim.base import Reply

if TYPE_CHECKING:
    from lib.sim.greenapi import Instance


class ChatRoutes:
    """Mixed into GreenApiSimulator (which provides `instances`, `lock` and `_notify`)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        # What these routes keep (set here, not on first use: the server answers on many threads).
        self.not_on_whatsapp: set[str] = set()
        # Every readChat request: (idInstance, body).
        self.reads: list[tuple[str, dict[str, Any]]] = []
        # Every sendReaction / editMessage / deleteMessage request: (idInstance, method, body).
        self.changes: list[tuple[str, str, dict[str, Any]]] = []
        self.avatars: dict[str, str] = {}
        # groupId → {"subject", "participants": [{"id", "isAdmin", "isSuperAdmin"}]}.
        self.groups: dict[str, dict[str, Any]] = {}
        # idInstance → journal records (LastIncomingMessages / LastOutgoingMessages format).
        self.journals: dict[str, list[dict[str, Any]]] = {}
        # Instances whose notifications do not reach us (our outage): journaled, never delivered.
        self.offline: set[str] = set()
        super().__init__(*args, **kw)

    # -- conversations: on-WhatsApp check, read receipts, reactions, edits, deletes ---------------------
    # https://green-api.com/en/docs/api/service/CheckWhatsapp, .../marks/ReadChat, .../service/SendReaction/,
    # .../service/EditMessage, .../service/DeleteMessage; edits and deletes are notified as messages whose
    # typeMessage is editedMessage / deletedMessage (receiving/notifications-format/*/EditedMessage, DeletedMessage).
    def _chat_routes(self):
        return {("POST", "checkWhatsapp"): self._check_whatsapp, ("POST", "readChat"): self._read_chat,
                ("POST", "sendReaction"): self._change, ("POST", "editMessage"): self._change,
                ("POST", "deleteMessage"): self._change, ("POST", "getAvatar"): self._avatar,
                ("POST", "getGroupData"): self._group_data, ("GET", "lastIncomingMessages"): self._journal,
                ("GET", "lastOutgoingMessages"): self._journal}

    def _check_whatsapp(self, inst: Instance, api: str, body: dict[str, Any]):
        phone = body.get("phoneNumber")
        if not isinstance(phone, int) or isinstance(phone, bool):
            raise Reply(400, "Validation failed. Details: Wrong format. 'phoneNumber' must contain only digits")
        if not 11 <= len(str(phone)) <= 16:
            raise Reply(400, "bad phone number, valid from 11 to 16 digits")
        if inst.state != "authorized":
            raise Reply(400, "instance is starting or not authorized")
        return 200, {"existsWhatsapp": str(phone) not in self.not_on_whatsapp}

    def _read_chat(self, inst: Instance, api: str, body: dict[str, Any]):
        if not isinstance(body.get("chatId"), str):
            raise Reply(400, "Validation failed. Details: 'chatId' must be a string")
        with self.lock:
            self.reads.append((inst.id, body))
        return 200, {"setRead": True}

    def _change(self, inst: Instance, api: str, body: dict[str, Any]):
        needed = {"sendReaction": ("chatId", "idMessage"), "editMessage": ("chatId", "idMessage", "message"),
                  "deleteMessage": ("chatId", "idMessage")}[api]
        if not all(isinstance(body.get(k), str) and body[k] for k in needed) or (
                api == "sendReaction" and not isinstance(body.get("reaction"), str)):
            raise Reply(400, "Bad Request Validation failed")
        if inst.state != "authorized":
            raise Reply(400, "instance account not authorized")
        known = {m["idMessage"] for m in inst.sent}
        if api != "sendReaction" and body["idMessage"] not in known:
            raise Reply(400, "Message by id not found")
        with self.lock:
            self.changes.append((inst.id, api, body))
        mid = "BAE5" + secrets.token_hex(6).upper()
        data = {"sendReaction": {"typeMessage": "reactionMessage",
                                 "extendedTextMessageData": {"text": body.get("reaction", "")},
                                 "quotedMessage": {"stanzaId": body["idMessage"]}},
                "editMessage": {"typeMessage": "editedMessage", "editedMessageData": {
                    "textMessage": body.get("message"), "stanzaId": body["idMessage"]}},
                "deleteMessage": {"typeMessage": "deletedMessage",
                                  "deletedMessageData": {"stanzaId": body["idMessage"]}}}[api]
        self._notify(inst, {"typeWebhook": "outgoingAPIMessageReceived", "idMessage": mid,
                            "senderData": {"chatId": body["chatId"], "chatName": "", "sender": inst.wid,
                                           "senderName": ""}, "messageData": data})
        return 200, ("" if api == "deleteMessage" else {"idMessage": mid})  # deleteMessage: an empty body

    def _avatar(self, inst: Instance, api: str, body: dict[str, Any]):
        if not isinstance(body.get("chatId"), str):
            raise Reply(400, "Bad Request Validation failed")
        url = self.avatars.get(body["chatId"], "")
        return 200, {"urlAvatar": url, "available": bool(url)}

    def _group_data(self, inst: Instance, api: str, body: dict[str, Any]):
        group = self.groups.get(body.get("groupId"))
        if group is None:
            raise Reply(400, "Bad Request Validation failed")
        return 200, {"groupId": body["groupId"], "owner": inst.wid, "subject": group["subject"],
                     "creation": int(time.time()), "participants": group["participants"], "subjectTime": 0,
                     "subjectOwner": inst.wid, "groupInviteLink": ""}

    # -- history: the journals, and outages of notification delivery ----------------------------------
    def _journaled(self, inst: Instance, payload: dict[str, Any]) -> bool:
        hook = payload.get("typeWebhook")
        md = payload.get("messageData") or {}
        if hook in ("incomingMessageReceived", "outgoingMessageReceived", "outgoingAPIMessageReceived") and \
                md.get("typeMessage") not in ("editedMessage", "deletedMessage", "reactionMessage"):
            sender = payload.get("senderData") or {}
            record = {"type": "incoming" if hook == "incomingMessageReceived" else "outgoing",
                      "idMessage": payload["idMessage"], "timestamp": payload["timestamp"],
                      "typeMessage": md.get("typeMessage"), "chatId": sender.get("chatId"),
                      "senderId": sender.get("sender"), "senderName": sender.get("senderName"),
                      "chatName": sender.get("chatName")}
            if md.get("typeMessage") == "textMessage":
                record["textMessage"] = (md.get("textMessageData") or {}).get("textMessage")
            elif isinstance(md.get("fileMessageData"), dict):
                record.update({k: md["fileMessageData"].get(k) for k in ("downloadUrl", "caption", "fileName",
                                                                          "mimeType")})
            if hook == "outgoingAPIMessageReceived":
                record.update(sendByApi=True, statusMessage="sent")
            with self.lock:
                self.journals.setdefault(inst.id, []).append(record)
        return inst.id in self.offline

    def _journal(self, inst: Instance, api: str, query: dict[str, Any]):
        minutes = int(query.get("minutes") or 1440)
        kind = "incoming" if api == "lastIncomingMessages" else "outgoing"
        oldest = time.time() - minutes * 60
        with self.lock:
            records = [r for r in self.journals.get(inst.id, []) if r["type"] == kind and r["timestamp"] >= oldest]
        return 200, sorted(records, key=lambda r: r["timestamp"], reverse=True)

    def _incoming(self, id_instance: str, chat_id: str, message_data: dict[str, Any]) -> str:
        mid = secrets.token_hex(16).upper()
        self._notify(self.instances[id_instance], {
            "typeWebhook": "incomingMessageReceived", "idMessage": mid,
            "senderData": {"chatId": chat_id, "chatName": "Ivan Petrov", "sender": chat_id, "senderName": "Ivan",
                           "senderContactName": ""}, "messageData": message_data})
        return mid

    def inject_reaction(self, id_instance: str, chat_id: str, target_id: str, emoji: str) -> str:
        return self._incoming(id_instance, chat_id, {"typeMessage": "reactionMessage",
                                                     "extendedTextMessageData": {"text": emoji},
                                                     "quotedMessage": {"stanzaId": target_id}})

    def inject_edit(self, id_instance: str, chat_id: str, target_id: str, text: str) -> str:
        return self._incoming(id_instance, chat_id, {"typeMessage": "editedMessage",
                                                     "editedMessageData": {"textMessage": text, "stanzaId": target_id}})

    def inject_delete(self, id_instance: str, chat_id: str, target_id: str) -> str:
        return self._incoming(id_instance, chat_id, {"typeMessage": "deletedMessage",
                                                     "deletedMessageData": {"stanzaId": target_id}})

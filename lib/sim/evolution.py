"""An Evolution API v2.3.6 simulator: same paths, `apikey` rules, status codes and bodies as the
real server (EvolutionAPI/evolution-api 2.3.6: src/api/routes, src/api/controllers, src/main.ts),
stateful, and sending webhooks the way Evolution does — the instance's webhook headers, with
`jwt_key` replaced by `Authorization: Bearer <JWT>` (HS256, iat/exp=iat+600, app "evolution",
action "webhook") minted once per event.

Lifecycle as observed on the real 2.3.6 server: create with `qrcode: true` starts the session
inside the request and delivers `connection.update connecting` webhooks (body `apikey` = the
instance token) before it answers; while the session cannot reach WhatsApp it reconnects forever,
emitting `connecting` about twice a second while `connectionState` answers `close` between attempts
(`reconnect_loop`); logout emits `logout.instance` and `close 401`, then the loop starts again;
delete emits `remove.instance` after it answers.

    python -m lib.sim.evolution --port 8081 --global-key KEY
"""

from __future__ import annotations

import argparse
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import segno

from lib.sim.base import Reply, Simulator, serve_until_interrupted
from lib.webhook_auth import sign_evolution

NON_RETRYABLE = (400, 401, 403, 404, 422)  # WEBHOOK_RETRY_NON_RETRYABLE_STATUS_CODES default


def _err(status: int, message: Any) -> Reply:
    phrase = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
              500: "Internal Server Error"}[status]
    return Reply(status, {"status": status, "error": phrase, "response": {"message": message}})


def qr_png(code: str) -> str:
    return segno.make(code, error="l").png_data_uri(scale=3)


@dataclass
class Instance:
    name: str
    token: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    state: str = "close"
    webhook: dict[str, Any] = field(default_factory=dict)
    qr_count: int = 0
    owner: str = "5511999990001"
    sent: list[dict[str, Any]] = field(default_factory=list)


class EvolutionSimulator(Simulator):
    CONTROLS = ("scan", "inject_message", "ack", "disconnect", "inject_media", "reconnect_loop", "inject_reaction",
                "inject_edit", "inject_revoke")

    def __init__(self, global_key: str, host: str = "127.0.0.1", port: int = 0, create_events: int = 3, **kw: Any):
        super().__init__(host, port, non_retryable=NON_RETRYABLE, **kw)
        self.global_key = global_key
        self.instances: dict[str, Instance] = {}
        self.create_events = create_events  # connection.update webhooks delivered before create answers

    def reconnect_loop(self, name: str, events: int = 10) -> None:
        """The session cannot reach WhatsApp: `connecting` webhooks while the live state says `close`."""
        inst = self.instances[name]
        inst.state = "close"
        for _ in range(events):
            self._emit(inst, "connection.update", {"instance": name, "state": "connecting", "statusReason": 200})

    # -- webhooks ---------------------------------------------------------------------------------
    def _emit(self, inst: Instance, event: str, data: Any) -> None:
        if self._kept(inst, event, data):  # the server stores it, then its webhook may not get through
            return
        hook = inst.webhook
        if not hook.get("enabled") or not hook.get("url"):
            return
        wanted = hook.get("events") or []
        if wanted and event.upper().replace(".", "_") not in wanted:
            return
        envelope = {"event": event, "instance": inst.name, "data": data, "destination": hook["url"],
                    "date_time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                    "server_url": self.url, "apikey": inst.token}
        if inst.state == "open":
            envelope["sender"] = f"{inst.owner}@s.whatsapp.net"

        def headers() -> dict[str, str]:
            out = {k: v for k, v in (hook.get("headers") or {}).items() if k != "jwt_key"}
            if (hook.get("headers") or {}).get("jwt_key"):
                out["Authorization"] = f"Bearer {sign_evolution(hook['headers']['jwt_key'])}"
            return out

        self.emit(hook["url"], event, envelope, headers)

    def _new_qr(self, inst: Instance, number: str | None = None) -> dict[str, Any]:
        inst.qr_count += 1
        inst.state = "connecting"
        code = f"2@{secrets.token_urlsafe(48)},{secrets.token_urlsafe(32)},{secrets.token_urlsafe(32)}"
        qr = {"pairingCode": secrets.token_hex(4).upper() if number else None, "code": code,
              "base64": qr_png(code), "count": inst.qr_count}
        self._emit(inst, "qrcode.updated", {"qrcode": {"instance": inst.name, "pairingCode": qr["pairingCode"],
                                                       "code": code, "base64": qr["base64"]}})
        return qr

    # -- control API (tests, dev) -------------------------------------------------------------------
    def scan(self, name: str) -> None:
        with self.lock:
            inst = self.instances[name]
            inst.state = "open"
        self._emit(inst, "connection.update", {"instance": name, "wuid": f"{inst.owner}@s.whatsapp.net",
                                               "profileName": "Simulated", "profilePictureUrl": None,
                                               "state": "open", "statusReason": 200})

    def inject_message(self, name: str, remote_jid: str, text: str, lid: str | None = None,
                       push_name: str = "Maria", from_me: bool = False, message_id: str | None = None) -> str:
        inst = self.instances[name]
        mid = message_id or "3A" + secrets.token_hex(9).upper()
        key: dict[str, Any] = {"remoteJid": lid or remote_jid, "fromMe": from_me, "id": mid,
                               "addressingMode": "lid" if lid else "pn"}
        if lid:
            key["remoteJidAlt"] = remote_jid
        self._emit(inst, "messages.upsert", {
            "key": key, "pushName": push_name, "status": "SERVER_ACK" if from_me else "DELIVERY_ACK",
            "message": {"conversation": text}, "messageType": "conversation",
            "messageTimestamp": int(time.time()), "instanceId": inst.id, "source": "ios"})
        return mid

    def ack(self, name: str, message_id: str, status: str, remote_jid: str = "5511999990002@s.whatsapp.net") -> None:
        inst = self.instances[name]
        self._emit(inst, "messages.update", {"keyId": message_id, "remoteJid": remote_jid, "fromMe": True,
                                             "status": status, "instanceId": inst.id,
                                             "messageId": "cm" + secrets.token_hex(10)})

    def disconnect(self, name: str, code: int) -> None:
        """Terminal codes close the session (Evolution's codesToNotReconnect); others reconnect."""
        inst = self.instances[name]
        if code in (401, 403, 402, 406):
            inst.state = "close"
            self._emit(inst, "connection.update", {"instance": name, "state": "close", "statusReason": code})
            if code == 401:
                self._emit(inst, "logout.instance", None)
        else:
            self._emit(inst, "connection.update", {"instance": name, "state": "connecting", "statusReason": 200})
            self._emit(inst, "connection.update", {"instance": name, "wuid": f"{inst.owner}@s.whatsapp.net",
                                                   "state": "open", "statusReason": 200})

    # -- HTTP ---------------------------------------------------------------------------------------
    def route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any):
        key = headers.get("apikey", "")
        parts = [p for p in path.split("/") if p]
        if method == "GET" and not parts:
            return 200, {"status": 200, "message": "Welcome to the Evolution API, it is working!", "version": "2.3.6",
                         "clientName": "evolution_exchange", "documentation": "https://doc.evolution-api.com",
                         "whatsappWebVersion": "2.3000.1028950771"}
        if parts == ["instance", "create"] and method == "POST":
            return self._create(key, body or {})
        if parts == ["instance", "fetchInstances"] and method == "GET":
            return self._fetch(key, query)
        if len(parts) == 3:
            with self.lock:
                inst = self.instances.get(parts[2])
            if inst is None:  # instanceExistsGuard runs before the key check
                raise _err(404, [f'The "{parts[2]}" instance does not exist'])
            if key not in (self.global_key, inst.token):
                raise _err(401, "Unauthorized")
            handler = self._instance_routes().get((method, parts[0], parts[1]))
            if handler is not None:
                return handler(inst, query, body or {})
        raise _err(404, [f"Cannot {method} {path}"])

    def _instance_routes(self):
        return {("GET", "instance", "connect"): self._connect, ("GET", "instance", "connectionState"): self._state,
                ("POST", "instance", "restart"): self._restart, ("DELETE", "instance", "logout"): self._logout,
                ("DELETE", "instance", "delete"): self._delete, ("POST", "webhook", "set"): self._set_webhook,
                ("POST", "message", "sendText"): self._send, ("POST", "message", "sendMedia"): self._send,
                **self._media_routes(), **self._chat_routes()}

    def _create(self, key: str, body: dict[str, Any]):
        if key != self.global_key:
            raise _err(401, "Unauthorized")
        name = body.get("instanceName")
        if not name:
            raise _err(400, [["instance requires property \"instanceName\""]])
        if body.get("integration") not in ("WHATSAPP-BAILEYS", "WHATSAPP-BUSINESS", "EVOLUTION"):
            raise _err(400, ["Invalid integration"])
        with self.lock:
            if name in self.instances:
                raise _err(403, [f'This name "{name}" is already in use.'])
            inst = self.instances[name] = Instance(name, body.get("token") or str(uuid.uuid4()).upper())
            hook = body.get("webhook")
            if isinstance(hook, dict):
                if "events" not in hook:
                    del self.instances[name]
                    raise _err(400, ["Cannot read properties of undefined (reading 'length')"])
                inst.webhook = {**hook, "enabled": True}
        for _ in range(self.create_events):  # the session starts inside the request
            self._emit(inst, "connection.update", {"instance": name, "state": "connecting", "statusReason": 200})
        self.wait_idle()  # ... and its webhooks arrive before create answers
        out = {"instance": {"instanceName": name, "instanceId": inst.id, "integration": body["integration"],
                            "webhookWaBusiness": None, "accessTokenWaBusiness": "", "status": "close"},
               "hash": inst.token, "webhook": {}, "websocket": {}, "rabbitmq": {}, "nats": {}, "sqs": {},
               "settings": {"rejectCall": False, "msgCall": "", "groupsIgnore": False, "alwaysOnline": False,
                            "readMessages": False, "readStatus": False, "syncFullHistory": False, "wavoipToken": ""}}
        if body.get("qrcode"):
            out["qrcode"] = self._new_qr(inst, body.get("number"))
            out["instance"]["status"] = "connecting"
        return 201, out

    def _fetch(self, key: str, query: dict[str, str]):
        with self.lock:
            rows = [i for i in self.instances.values() if key == self.global_key or key == i.token]
            if key != self.global_key and not rows:
                raise _err(401, "Unauthorized")
            if query.get("instanceName"):
                rows = [i for i in rows if i.name == query["instanceName"]]
                if not rows:
                    raise _err(404, [f'Instance "{query["instanceName"]}" not found'])
            return 200, [{"id": i.id, "name": i.name, "connectionStatus": i.state,
                          "ownerJid": f"{i.owner}@s.whatsapp.net" if i.state == "open" else None,
                          "profileName": None, "integration": "WHATSAPP-BAILEYS", "token": i.token,
                          "clientName": "evolution_exchange", "disconnectionReasonCode": None} for i in rows]

    def _connect(self, inst: Instance, query: dict[str, str], body: Any):
        if inst.state == "open":
            return 200, {"instance": {"instanceName": inst.name, "state": "open"}}
        return 200, self._new_qr(inst, query.get("number"))

    def _state(self, inst: Instance, query: dict[str, str], body: Any):
        return 200, {"instance": {"instanceName": inst.name, "state": inst.state}}

    def _restart(self, inst: Instance, query: dict[str, str], body: Any):
        if inst.state == "close":
            return 200, {"error": True, "message": "[object Object]"}
        return 200, {"instance": {"instanceName": inst.name, "state": inst.state}}

    def _logout(self, inst: Instance, query: dict[str, str], body: Any):
        if inst.state == "close":
            raise _err(400, [f'The "{inst.name}" instance is not connected'])
        inst.state = "close"
        self._emit(inst, "logout.instance", None)
        self._emit(inst, "connection.update", {"instance": inst.name, "state": "close", "statusReason": 401})
        # ~5 s later the real server starts its connection loop again (a fresh session, no creds).
        self._emit(inst, "connection.update", {"instance": inst.name, "state": "connecting", "statusReason": 200})
        return 200, {"status": "SUCCESS", "error": False, "response": {"message": "Instance logged out"}}

    def _delete(self, inst: Instance, query: dict[str, str], body: Any):
        self._emit(inst, "remove.instance", None)
        with self.lock:
            self.instances.pop(inst.name, None)
        return 200, {"status": "SUCCESS", "error": False, "response": {"message": "Instance deleted"}}

    def _set_webhook(self, inst: Instance, query: dict[str, str], body: dict[str, Any]):
        hook = body.get("webhook") or {}
        if "enabled" not in hook or "url" not in hook:
            raise _err(400, [["webhook requires property \"enabled\""]])
        if hook.get("enabled") and "events" not in hook:
            raise _err(500, "Cannot read properties of undefined (reading 'length')")
        inst.webhook = hook
        return 201, {"id": "cm" + secrets.token_hex(10), "url": hook["url"], "headers": hook.get("headers"),
                     "enabled": hook["enabled"], "events": hook.get("events", []),
                     "webhookByEvents": hook.get("byEvents", False), "webhookBase64": hook.get("base64", False),
                     "instanceId": inst.id}

    def _send(self, inst: Instance, query: dict[str, str], body: dict[str, Any]):
        number = str(body.get("number") or "")
        if not number:
            raise _err(400, [["instance requires property \"number\""]])
        if "mediatype" not in body and not body.get("text"):
            raise _err(400, [["instance requires property \"text\""]])
        if inst.state != "open":
            raise _err(500, "Connection Closed")  # the number check hits the dead socket (#1286)
        if number.startswith("000"):
            raise _err(400, [{"jid": f"{number}@s.whatsapp.net", "exists": False, "number": number}])
        jid = number if "@" in number else f"{number}@s.whatsapp.net"
        if "mediatype" in body:
            message = {f"{body['mediatype']}Message": {"url": "https://mmg.whatsapp.net/x.enc",
                                                       "mimetype": body.get("mimetype", "image/jpeg"),
                                                       "caption": body.get("caption")}}
            mtype = f"{body['mediatype']}Message"
        else:
            message, mtype = {"conversation": body["text"]}, "conversation"
        data = {"key": {"remoteJid": jid, "fromMe": True, "id": "3EB0" + secrets.token_hex(9).upper()},
                "pushName": "Você", "status": "PENDING", "message": message, "messageType": mtype,
                "messageTimestamp": int(time.time()), "instanceId": inst.id, "source": "web"}
        with self.lock:
            inst.sent.append(data)
        self._emit(inst, "send.message", data)
        return 201, data

    # -- media (lib/sim/media_samples.py supplies real bytes) -------------------------------------------
    def inject_media(self, name: str, remote_jid: str, kind: str = "image", caption: str | None = None,
                     message_id: str | None = None, media_url: str | None = None) -> str:
        """An inbound image (PNG), voice note (Ogg/Opus, ptt), audio or document (PDF). The webhook
        carries no bytes (`base64` off, no S3), as with our server kit; getBase64FromMediaMessage serves them.
        `media_url`: a server with S3_ENABLED adds `message.mediaUrl`, a presigned link to its S3 copy."""
        import base64  # noqa: PLC0415
        import hashlib  # noqa: PLC0415

        from lib.sim.media_samples import sample  # noqa: PLC0415

        inst = self.instances[name]
        media = sample(kind)
        mid = message_id or "3A" + secrets.token_hex(9).upper()
        content: dict[str, Any] = {
            "url": f"https://mmg.whatsapp.net/o1/v/t62.7118-24/{secrets.token_hex(8)}.enc", "mimetype": media.mime_type,
            "fileSha256": base64.b64encode(hashlib.sha256(media.data).digest()).decode(),
            "fileLength": str(len(media.data)), "mediaKey": base64.b64encode(secrets.token_bytes(32)).decode(),
            "directPath": f"/o1/v/t62.7118-24/{secrets.token_hex(8)}", "mediaKeyTimestamp": str(int(time.time()))}
        if kind == "voice":
            content.update(ptt=True, seconds=1)
        elif kind == "audio":
            content.update(ptt=False, seconds=1)
        if kind == "document":
            content.update(fileName=media.file_name, title=media.file_name, pageCount=1)
        if caption and kind in ("image", "document"):
            content["caption"] = caption
        message_type = f"{media.kind}Message"
        data = {"key": {"remoteJid": remote_jid, "fromMe": False, "id": mid, "addressingMode": "pn"},
                "pushName": "Maria", "status": "DELIVERY_ACK",
                "message": {message_type: content, **({"mediaUrl": media_url} if media_url else {})},
                "messageType": message_type, "messageTimestamp": int(time.time()), "instanceId": inst.id,
                "source": "ios"}
        with self.lock:
            self.media[(inst.name, mid)] = (media, data)
        self._emit(inst, "messages.upsert", data)
        return mid

    @property
    def media(self) -> dict[tuple[str, str], Any]:
        if not hasattr(self, "_media"):
            self._media: dict[tuple[str, str], Any] = {}
        return self._media

    def _media_routes(self):
        return {("POST", "chat", "getBase64FromMediaMessage"): self._get_base64,
                ("POST", "message", "sendWhatsAppAudio"): self._send_audio}

    def _get_base64(self, inst: Instance, query: dict[str, str], body: dict[str, Any]):
        # whatsapp.baileys.service.ts getBase64FromMediaMessage (2.3.6): looked up by key.id in the
        # instance's stored messages; failures are BadRequestException → 400.
        import base64  # noqa: PLC0415

        key_id = ((body.get("message") or {}).get("key") or {}).get("id")
        with self.lock:
            found = self.media.get((inst.name, key_id))
        if found is None:
            raise _err(400, ["Message not found"])
        media, data = found
        content = data["message"][data["messageType"]]
        return 201, {"mediaType": data["messageType"], "fileName": content.get("fileName") or f"{key_id}.bin",
                     "caption": content.get("caption"),
                     "size": {"fileLength": content["fileLength"], "height": None, "width": None},
                     "mimetype": media.mime_type, "base64": base64.b64encode(media.data).decode(), "buffer": None}

    def _send_audio(self, inst: Instance, query: dict[str, str], body: dict[str, Any]):
        # sendWhatsAppAudio: `audio` (URL or base64) becomes an Ogg/Opus voice note, `ptt: true`.
        if not body.get("audio"):
            raise _err(400, ["File buffer, URL, or base64 audio is required"])
        if not body.get("number"):
            raise _err(400, [["instance requires property \"number\""]])
        if inst.state != "open":
            raise _err(500, "Connection Closed")
        number = str(body["number"])
        data = {"key": {"remoteJid": number if "@" in number else f"{number}@s.whatsapp.net", "fromMe": True,
                        "id": "3EB0" + secrets.token_hex(9).upper()},
                "pushName": "Você", "status": "PENDING",
                "message": {"audioMessage": {"url": "https://mmg.whatsapp.net/x.enc", "ptt": True,
                                             "mimetype": "audio/ogg; codecs=opus", "seconds": 1}},
                "messageType": "audioMessage", "messageTimestamp": int(time.time()), "instanceId": inst.id,
                "source": "web"}
        with self.lock:
            inst.sent.append({**data, "request": body})
        self._emit(inst, "send.message", data)
        return 201, data

    # -- conversations: on-WhatsApp check, read receipts, reactions, edits, deletes ---------------------
    # Routes and shapes from 2.3.6: src/api/routes/chat.router.ts, src/api/routes/sendMessage.router.ts,
    # src/validate/chat.schema.ts, src/api/integrations/channel/whatsapp/whatsapp.baileys.service.ts.
    @property
    def not_on_whatsapp(self) -> set[str]:
        """Numbers (digits) the on-WhatsApp check answers `exists: false` for."""
        if not hasattr(self, "_not_on_whatsapp"):
            self._not_on_whatsapp: set[str] = set()
        return self._not_on_whatsapp

    @property
    def wa_jids(self) -> dict[str, str]:
        """Numbers WhatsApp knows under another JID (Brazil's ninth digit): digits → the JID it answers."""
        if not hasattr(self, "_wa_jids"):
            self._wa_jids: dict[str, str] = {}
        return self._wa_jids

    @property
    def reads(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """Every markMessageAsRead request: (instance, readMessages)."""
        if not hasattr(self, "_reads"):
            self._reads: list[tuple[str, list[dict[str, Any]]]] = []
        return self._reads

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

    @property
    def edits(self) -> list[tuple[str, str, str]]:
        if not hasattr(self, "_edits"):
            self._edits: list[tuple[str, str, str]] = []
        return self._edits

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

    @property
    def deletes(self) -> list[tuple[str, str]]:
        if not hasattr(self, "_deletes"):
            self._deletes: list[tuple[str, str]] = []
        return self._deletes

    @property
    def avatars(self) -> dict[str, str]:
        """JID → profile picture URL; a JID not listed has none (or hides it)."""
        if not hasattr(self, "_avatars"):
            self._avatars: dict[str, str] = {}
        return self._avatars

    @property
    def groups(self) -> dict[str, dict[str, Any]]:
        """group JID → {"subject", "participants": [{"id", "admin"}]} (Baileys groupMetadata)."""
        if not hasattr(self, "_groups"):
            self._groups: dict[str, dict[str, Any]] = {}
        return self._groups

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
    @property
    def history(self) -> dict[str, list[dict[str, Any]]]:
        """instance → every message record the server stored (messages.upsert / send.message data)."""
        if not hasattr(self, "_history"):
            self._history: dict[str, list[dict[str, Any]]] = {}
        return self._history

    @property
    def offline(self) -> set[str]:
        """Instances whose webhooks do not reach us (our outage): events are stored, never delivered."""
        if not hasattr(self, "_offline"):
            self._offline: set[str] = set()
        return self._offline

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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m lib.sim.evolution")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--global-key", required=True)
    args = parser.parse_args()
    sim = EvolutionSimulator(args.global_key, port=args.port).start()
    serve_until_interrupted(sim, "Evolution")


if __name__ == "__main__":
    main()

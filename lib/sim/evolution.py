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
from datetime import UTC, datetime
from typing import Any

from lib.sim.base import Simulator, serve_until_interrupted
from lib.sim.evolution_chats import ChatRoutes
from lib.sim.evolution_media import MediaRoutes
from lib.sim.evolution_state import NON_RETRYABLE, Instance, _err, qr_png
from lib.webhook_auth import sign_evolution

__all__ = ["EvolutionSimulator", "Instance", "qr_png"]


class EvolutionSimulator(MediaRoutes, ChatRoutes, Simulator):
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



def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m lib.sim.evolution")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--global-key", required=True)
    args = parser.parse_args()
    sim = EvolutionSimulator(args.global_key, port=args.port).start()
    serve_until_interrupted(sim, "Evolution")


if __name__ == "__main__":
    main()

"""A GREEN-API simulator: `/waInstance{id}/{method}/{token}` and `/partner/{method}/{token}` with the
documented status codes and bodies (https://green-api.com/en/docs/api/common-errors/ and each
method's page), stateful, and delivering
notifications as GREEN-API does: `Authorization: Bearer <webhookUrlToken>`, one at a time in
order, success only on exactly HTTP 200, otherwise the same notification again (every 60 s in
production; configurable here).

    python -m lib.sim.greenapi --port 8082 [--partner-token T]
"""

from __future__ import annotations

import argparse
import base64
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from lib.sim.base import Reply, Simulator, serve_until_interrupted
from lib.sim.evolution_state import qr_png
from lib.sim.greenapi_chats import ChatRoutes

_PATH = re.compile(r"^/waInstance(\d+)/([A-Za-z]+)/([^/]+)$")
_PARTNER = re.compile(r"^/partner/([A-Za-z]+)/([^/]+)$")


@dataclass
class Instance:
    id: str
    token: str
    name: str | None = None
    state: str = "notAuthorized"
    settings: dict[str, Any] = field(default_factory=dict)
    wid: str = "79001234567@c.us"
    deleted: bool = False
    sent: list[dict[str, Any]] = field(default_factory=list)


class GreenApiSimulator(ChatRoutes, Simulator):
    CONTROLS = ("scan", "inject_message", "status", "disconnect", "add_instance", "inject_media", "expire_links",
                "inject_reaction", "inject_edit", "inject_delete")

    def __init__(self, partner_token: str | None = None, host: str = "127.0.0.1", port: int = 0, **kw: Any):
        super().__init__(host, port, **kw)
        self.partner_token = partner_token
        self.instances: dict[str, Instance] = {}
        self._next_id = 7103000000 + secrets.randbelow(900000)
        self.files: dict[str, Any] = {}  # download token → (media, expired)
        self.files_by_message: dict[tuple[str, str, str], Any] = {}

    def accepted(self, status: int) -> bool:
        return status == 200  # GREEN-API removes a notification from its queue on exactly 200

    def mask(self, path: str) -> str:
        path = _PATH.sub(lambda m: f"/waInstance{m.group(1)}/{m.group(2)}/***", path)
        return _PARTNER.sub(lambda m: f"/partner/{m.group(1)}/***", path)

    # -- control API ---------------------------------------------------------------------------
    def add_instance(self, id_instance: str | None = None, token: str | None = None,
                     name: str | None = None) -> tuple[str, str]:
        with self.lock:
            self._next_id += 1
            inst = Instance(id_instance or str(self._next_id), token or secrets.token_hex(25), name)
            self.instances[inst.id] = inst
        return inst.id, inst.token

    def _notify(self, inst: Instance, payload: dict[str, Any]) -> None:
        url = inst.settings.get("webhookUrl")
        token = inst.settings.get("webhookUrlToken")
        payload = {**payload, "instanceData": {"idInstance": int(inst.id), "wid": inst.wid if inst.state ==
                                               "authorized" else "", "typeInstance": "whatsapp"},
                   "timestamp": int(time.time())}
        if self._journaled(inst, payload):  # kept in the journals; its notification cannot reach us
            return
        self.emit(url, payload["typeWebhook"], payload, {"Authorization": f"Bearer {token}"} if token else {})

    def scan(self, id_instance: str) -> None:
        inst = self.instances[id_instance]
        inst.state = "authorized"
        self._notify(inst, {"typeWebhook": "stateInstanceChanged", "stateInstance": "authorized"})

    def disconnect(self, id_instance: str, state: str = "notAuthorized") -> None:
        inst = self.instances[id_instance]
        inst.state = state
        self._notify(inst, {"typeWebhook": "stateInstanceChanged", "stateInstance": state})

    def inject_message(self, id_instance: str, chat_id: str, text: str, sender: str | None = None,
                       message_id: str | None = None) -> str:
        mid = message_id or secrets.token_hex(16).upper()
        self._notify(self.instances[id_instance], {
            "typeWebhook": "incomingMessageReceived", "idMessage": mid,
            "senderData": {"chatId": chat_id, "chatName": "Ivan Petrov", "sender": sender or chat_id,
                           "senderName": "Ivan", "senderContactName": ""},
            "messageData": {"typeMessage": "textMessage", "textMessageData": {"textMessage": text}}})
        return mid

    def status(self, id_instance: str, id_message: str, status: str, description: str | None = None,
               chat_id: str = "79001234568@c.us") -> None:
        body = {"typeWebhook": "outgoingMessageStatus", "chatId": chat_id, "idMessage": id_message,
                "status": status, "sendByApi": True}
        if description:
            body["description"] = description
        self._notify(self.instances[id_instance], body)

    # -- HTTP -----------------------------------------------------------------------------------
    def route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any):
        if path.startswith(FILES_PREFIX) and method == "GET":
            return self._file(path)
        m = _PARTNER.match(path)
        if m:
            return self._partner(method, m.group(1), m.group(2), body or {})
        m = _PATH.match(path)
        if not m:
            raise Reply(404, "Not Found")
        with self.lock:
            inst = self.instances.get(m.group(1))
        if inst is None or inst.deleted:
            raise Reply(403, "Forbidden")
        if m.group(3) != inst.token:
            raise Reply(401, "Unauthorized")
        handler = {("GET", "getStateInstance"): self._state, ("GET", "qr"): self._qr,
                   ("POST", "getAuthorizationCode"): self._code, ("GET", "logout"): self._logout,
                   ("GET", "reboot"): self._reboot, ("POST", "setSettings"): self._set_settings,
                   ("POST", "sendMessage"): self._send, ("POST", "sendFileByUrl"): self._send,
                   ("POST", "downloadFile"): self._download_file, **self._chat_routes()}.get((method, m.group(2)))
        if handler is None:
            raise Reply(404, "Not Found")
        return handler(inst, m.group(2), body if isinstance(body, dict) else dict(query))  # GET: the query

    def _partner(self, method: str, api: str, token: str, body: dict[str, Any]):
        if not self.partner_token or token != self.partner_token:
            return 200, {"code": 401, "description": "Unauthorized"}  # partner errors are HTTP 200
        if api == "getInstances" and method == "GET":
            with self.lock:
                return 200, [{"idInstance": int(i.id), "name": i.name, "typeInstance": "whatsapp",
                              "apiTokenInstance": i.token, "deleted": i.deleted, "tariff": "BUSINESS",
                              "isExpired": False} for i in self.instances.values()]
        if api == "createInstance" and method == "POST":
            iid, tok = self.add_instance(name=body.get("name"))
            self.instances[iid].settings = {k: v for k, v in body.items() if k != "name"}
            return 200, {"idInstance": int(iid), "apiTokenInstance": tok, "typeInstance": "whatsapp"}
        if api == "deleteInstanceAccount" and method == "POST":
            inst = self.instances.get(str(body.get("idInstance")))
            if inst is None or inst.deleted:
                return 200, {"code": 404, "description": "Not found"}
            inst.deleted = True
            return 200, {"deleteInstanceAccount": True}
        raise Reply(404, "Not Found")

    def _state(self, inst: Instance, api: str, body: dict[str, Any]):
        return 200, {"stateInstance": inst.state}

    def _qr(self, inst: Instance, api: str, body: dict[str, Any]):
        if inst.state == "authorized":
            return 200, {"type": "alreadyLogged", "message": "instance account already authorized"}
        png = qr_png(f"1@{secrets.token_urlsafe(40)}")
        return 200, {"type": "qrCode", "message": png.split(",", 1)[1]}

    def _code(self, inst: Instance, api: str, body: dict[str, Any]):
        if not isinstance(body.get("phoneNumber"), int):
            raise Reply(400, "Bad Request Validation failed")
        return 200, {"status": True, "code": base64.b32encode(secrets.token_bytes(5)).decode()[:8]}

    def _logout(self, inst: Instance, api: str, body: dict[str, Any]):
        inst.state = "notAuthorized"
        return 200, {"isLogout": True}

    def _reboot(self, inst: Instance, api: str, body: dict[str, Any]):
        return 200, {"isReboot": True}

    def _set_settings(self, inst: Instance, api: str, body: dict[str, Any]):
        if not body:
            raise Reply(400, "Bad Request Validation failed")
        inst.settings.update(body)
        return 200, {"saveSettings": True}

    def _send(self, inst: Instance, api: str, body: dict[str, Any]):
        if not body.get("chatId") or (api == "sendMessage" and not body.get("message")) or (
                api == "sendFileByUrl" and not (body.get("urlFile") and body.get("fileName"))):
            raise Reply(400, "Bad Request Validation failed")
        if inst.state != "authorized":
            raise Reply(400, "instance account not authorized")
        mid = "BAE5" + secrets.token_hex(6).upper()
        with self.lock:
            inst.sent.append({"idMessage": mid, "method": api, **body})
        type_message = "textMessage" if api == "sendMessage" else "documentMessage"
        self._notify(inst, {"typeWebhook": "outgoingAPIMessageReceived", "idMessage": mid,
                            "senderData": {"chatId": body["chatId"], "chatName": "", "sender": inst.wid,
                                           "senderName": ""},
                            "messageData": {"typeMessage": type_message,
                                            "textMessageData": {"textMessage": body.get("message", "")}}
                            if api == "sendMessage" else
                            {"typeMessage": type_message, "fileMessageData": {
                                "downloadUrl": body["urlFile"], "caption": body.get("caption", ""),
                                "fileName": body["fileName"], "mimeType": "application/octet-stream"}}})
        self._notify(inst, {"typeWebhook": "outgoingMessageStatus", "chatId": body["chatId"], "idMessage": mid,
                            "status": "sent", "sendByApi": True})
        return 200, {"idMessage": mid}

    # -- media (lib/sim/media_samples.py supplies real bytes) -------------------------------------------
    # Incoming files are served from a storage link, as GREEN-API's `downloadUrl`
    # (https://sw-media.storage.yandexcloud.net/...): here `<sim>/__files/<token>/<name>`. Links expire
    # on demand (`expire_links`): the storage then answers 403 like an expired presigned URL, and
    # `downloadFile` hands out a fresh link (green-api.com/en/docs/api/receiving/files/DownloadFile/).
    def inject_media(self, id_instance: str, chat_id: str, kind: str = "image", caption: str | None = None,
                     message_id: str | None = None, link: str = "live") -> str:
        """An incoming file. `link`: "live", "expired" (a notification delivered after its link died,
        e.g. after GREEN-API's 24 h of redelivery), "missing" (empty downloadUrl) or a `{{SWE00x}}` marker."""
        from lib.sim.media_samples import sample  # noqa: PLC0415

        inst = self.instances[id_instance]
        media = sample(kind)
        mid = message_id or secrets.token_hex(16).upper()
        with self.lock:
            self.files_by_message[(inst.id, chat_id, mid)] = media
        url = {"live": lambda: self._link(media), "missing": lambda: "",
               "expired": lambda: self._link(media, expired=True)}.get(link, lambda: link)()
        file_data = {"downloadUrl": url, "caption": caption or "",
                     "fileName": media.file_name, "jpegThumbnail": "", "mimeType": media.mime_type,
                     "isForwarded": False, "forwardingScore": 0}
        self._notify(inst, {
            "typeWebhook": "incomingMessageReceived", "idMessage": mid,
            "senderData": {"chatId": chat_id, "chatName": "Ivan Petrov", "sender": chat_id, "senderName": "Ivan",
                           "senderContactName": ""},
            "messageData": {"typeMessage": f"{media.kind}Message", "fileMessageData": file_data}})
        return mid

    def expire_links(self) -> int:
        """Every storage link handed out so far stops working (403); returns how many."""
        with self.lock:
            live = [t for t, (_, expired) in self.files.items() if not expired]
            for token in live:
                self.files[token] = (self.files[token][0], True)
        return len(live)

    def _link(self, media: Any, expired: bool = False) -> str:
        token = secrets.token_urlsafe(16)
        with self.lock:
            self.files[token] = (media, expired)
        return f"{self.url}{FILES_PREFIX}{token}/{media.file_name}"

    def _file(self, path: str):
        token = path.removeprefix(FILES_PREFIX).split("/", 1)[0]
        with self.lock:
            found = self.files.get(token)
        if found is None or found[1]:
            raise Reply(403, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
                             "<Message>Request has expired</Message></Error>")
        return 200, RawFile(found[0].data, found[0].mime_type)

    def _download_file(self, inst: Instance, api: str, body: dict[str, Any]):
        if not body.get("chatId") or not body.get("idMessage"):
            raise Reply(400, "Bad Request Validation failed")
        with self.lock:
            media = self.files_by_message.get((inst.id, body["chatId"], body["idMessage"]))
        if media is None:
            raise Reply(400, f"File message encrypted url not found by chatId {body['chatId']} and idMessage "
                             f"{body['idMessage']}")
        return 200, {"downloadUrl": self._link(media)}

    @staticmethod
    def _write(h: Any, status: int, body: Any) -> None:
        if not isinstance(body, RawFile):
            return Simulator._write(h, status, body)
        h.send_response(status)
        h.send_header("Content-Type", body.content_type)
        h.send_header("Content-Length", str(len(body.data)))
        h.end_headers()
        h.wfile.write(body.data)


FILES_PREFIX = "/__files/"


@dataclass(frozen=True)
class RawFile:
    data: bytes
    content_type: str


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m lib.sim.greenapi")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--partner-token", default=None)
    args = parser.parse_args()
    sim = GreenApiSimulator(args.partner_token, port=args.port).start()
    serve_until_interrupted(sim, "GREEN-API")


if __name__ == "__main__":
    main()

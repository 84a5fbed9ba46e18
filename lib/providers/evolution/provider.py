"""Evolution API v2 (Baileys) behind the provider contract.

Wire contract read from EvolutionAPI/evolution-api at 2.3.6 (src/api/routes/*.router.ts,
src/api/guards/auth.guard.ts, src/api/controllers/instance.controller.ts):
- one header, `apikey`; the global key (AUTHENTICATION_API_KEY) only where the instance token
  cannot work — POST /instance/create and GET /instance/fetchInstances; every
  /{resource}/{action}/{instance} route gets the instance's own token;
- 201 on create, send and webhook/set; 200 elsewhere; connect and restart answer HTTP 200
  `{"error": true, "message"}` on failure.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from lib import config, log, resilience
from lib import webhook_auth as auth
from lib.errors import ConfigError, InstanceNotFound, NumberDisconnected, ProviderError, WebhookAuthError
from lib.events import Event, from_unix
from lib.providers import error_table, http, naming
from lib.providers.base import (
    ConnectionState,
    CreateRequest,
    InstanceInfo,
    InstanceSummary,
    MediaSpec,
    NumberRef,
    PresetSecrets,
    Provider,
    QrCode,
    SentMessage,
    WebhookIdentity,
)
from lib.providers.evolution import errors as evo_errors
from lib.providers.evolution.states import QR_LIFETIME, to_state
from lib.providers.evolution.wire import to_int
from lib.providers.naming import digits
from lib.providers.parts import InPackage

# What we consume (UPPER_SNAKE in configuration: src/api/integrations/event/event.controller.ts).
# Always sent: an absent `events` makes WebhookController.set throw
# (src/api/integrations/event/webhook/webhook.controller.ts reads `events.length`).
EVENTS = ["MESSAGES_UPSERT", "MESSAGES_UPDATE", "MESSAGES_EDITED", "MESSAGES_DELETE", "SEND_MESSAGE",
          "CONNECTION_UPDATE", "QRCODE_UPDATED", "LOGOUT_INSTANCE", "REMOVE_INSTANCE"]


def to_number(chat_id: str) -> str:
    """Evolution's `number`: digits for a person; groups and LIDs keep their full JID."""
    if chat_id.endswith(("@g.us", "@lid")):
        return chat_id
    return digits(chat_id.split("@")[0]) or chat_id


def _starting(state: ConnectionState) -> ConnectionState:
    """A session being started: Evolution answers `close` between its connection attempts, and the QR
    follows by webhook (observed on 2.3.6: create and connect answer `close` while the loop runs)."""
    if state.status in ("disconnected", "pending"):
        return ConnectionState("connecting", state.raw_state, None, "the QR code is not ready yet")
    return state


class EvolutionProvider(InPackage, Provider):
    package = "lib.providers.evolution"
    name = "evolution"

    def __init__(self, base_url: str | None, global_key: str | None, webhook_secret: str | None,
                 webhook_url: str | None, client: httpx.Client | None = None):
        # Receiving webhooks needs none of the server settings: they are required when a call is made.
        self.base_url = (base_url or "").rstrip("/")
        self.global_key = global_key
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self._client = client
        log.register_secret(global_key)
        log.register_secret(webhook_secret)

    @classmethod
    def from_settings(cls) -> EvolutionProvider:
        s = config.settings()
        return cls(s.evolution_api_url, s.evolution_global_api_key, s.evolution_webhook_secret,
                   f"{s.base_url}/api/v1/webhooks/evolution" if s.base_url else None)

    # -- HTTP ------------------------------------------------------------------------------------
    def _call(self, operation: str, method: str, path: str, key: str | None, *, json: Any = None,
              params: dict | None = None, instance: str | None = None, sending: bool = False,
              ok: tuple[int, ...] = (200, 201)) -> Any:
        config.require(self.base_url, "EVOLUTION_API_URL")
        if key is None and self.global_key is None:
            config.require(None, "EVOLUTION_GLOBAL_API_KEY")
        if not key:
            raise ConfigError("this number has no Evolution instance token stored; delete and add it again")
        call = resilience.Call(provider=self.name, operation=operation, method=method, url=self.base_url + path,
                               instance=instance, json=json, params=params, headers={"apikey": key},
                               idempotent=not sending, server_failure=lambda r: error_table.server_failure(
                                   evo_errors.to_error(r.status_code, http.body(r), sending=sending)))
        resp = resilience.send(self._client or http.client(), call)
        body = http.body(resp)
        if resp.status_code in ok:
            if not isinstance(body, (dict, list)):
                raise ProviderError("Evolution answered with a body we cannot read", provider=self.name,
                                    http_status=resp.status_code)
            if isinstance(body, dict) and body.get("error") is True:  # connect/restart: 200 + error flag
                raise evo_errors.to_error(400, {"response": {"message": body.get("message")}}, sending=sending)
            return body
        raise evo_errors.to_error(resp.status_code, body, sending=sending)

    def _instance(self, ref: NumberRef) -> str:
        if not ref.provider_instance_id:
            raise InstanceNotFound("this number has no Evolution instance yet", provider=self.name)
        return ref.provider_instance_id

    def _webhook(self, number_id: str) -> dict[str, Any]:
        """The instance's webhook: a URL naming the number, and a `jwt_key` of its own.

        `jwt_key` makes Evolution send `Authorization: Bearer <HS256 JWT>` signed with it
        (src/api/integrations/event/webhook/webhook.controller.ts). Evolution hands that key back in
        clear to any holder of the instance token (GET /webhook/find/{instance}), so each number gets
        a key derived from our secret and its id: a key read back opens that number's webhook only."""
        url = self.webhook_url or config.require(None, "PUBLIC_BASE_URL")
        secret = config.require(self.webhook_secret, "EVOLUTION_WEBHOOK_SECRET")
        return {"enabled": True, "url": f"{url}/{number_id}", "byEvents": False, "base64": False,
                "headers": {"jwt_key": auth.evolution_number_key(secret, number_id),
                            "Content-Type": "application/json"}, "events": EVENTS}

    # -- lifecycle ---------------------------------------------------------------------------------
    def planned_instance_id(self, number_id: str) -> str:
        return naming.instance_name(number_id)

    def check_create(self, req: CreateRequest) -> None:
        config.require(self.base_url, "EVOLUTION_API_URL")
        config.require(self.global_key, "EVOLUTION_GLOBAL_API_KEY")
        config.require(self.webhook_secret, "EVOLUTION_WEBHOOK_SECRET")
        config.require(self.webhook_url, "PUBLIC_BASE_URL")

    def preset_secrets(self, req: CreateRequest) -> PresetSecrets:
        # We choose the instance token (POST /instance/create takes `token`): stored before the call,
        # it lets the events Evolution sends from inside create (it holds the request ≥ 5 s while the
        # session starts) pass the body `apikey` check.
        token = secrets.token_hex(24)
        log.register_secret(token)
        return PresetSecrets(api_token=token)

    def create_instance(self, req: CreateRequest) -> InstanceInfo:
        name = self.planned_instance_id(req.number_id)
        token = req.api_token or self.preset_secrets(req).api_token
        log.register_secret(token)
        payload: dict[str, Any] = {"instanceName": name, "token": token, "integration": "WHATSAPP-BAILEYS",
                                   "qrcode": True, "webhook": self._webhook(req.number_id)}
        if req.phone:
            payload["number"] = digits(req.phone)
        try:
            body = self._call("create_instance", "POST", "/instance/create", self.global_key, json=payload,
                              instance=name)
        except ProviderError as exc:
            if exc.http_status != 403:  # 403 = "name already in use": a retried create
                raise
            return self._adopt(name, req.number_id)
        inst = body.get("instance") or {}
        token = body.get("hash") if isinstance(body.get("hash"), str) else token
        qr = self._qr(body.get("qrcode"))
        return InstanceInfo(provider_instance_id=name, managed=True, api_token=token, qr=qr,
                            instance_data={"instanceName": name, "instanceId": inst.get("instanceId"),
                                           "integration": inst.get("integration", "WHATSAPP-BAILEYS")},
                            state=_starting(to_state(inst.get("status"))))

    def _adopt(self, name: str, number_id: str) -> InstanceInfo:
        rows = self._call("fetch_instances", "GET", "/instance/fetchInstances", self.global_key,
                          params={"instanceName": name}, instance=name)
        row = next((r for r in rows if isinstance(r, dict) and r.get("name") == name), None) if isinstance(
            rows, list) else None
        if row is None or not row.get("token"):
            raise ProviderError("Evolution says the instance exists but does not list it", provider=self.name)
        token = row["token"]
        log.register_secret(token)
        self._call("set_webhook", "POST", f"/webhook/set/{name}", token,
                   json={"webhook": self._webhook(number_id)}, instance=name)
        return InstanceInfo(provider_instance_id=name, managed=True, api_token=token,
                            instance_data={"instanceName": name, "instanceId": row.get("id"),
                                           "integration": row.get("integration", "WHATSAPP-BAILEYS")},
                            state=_starting(to_state(row.get("connectionStatus"), row.get("disconnectionReasonCode"))))

    def configure_webhook(self, ref: NumberRef) -> None:
        name = self._instance(ref)
        self._call("set_webhook", "POST", f"/webhook/set/{name}", ref.api_token,
                   json={"webhook": self._webhook(ref.number_id)}, instance=name)

    @staticmethod
    def _qr(obj: Any) -> QrCode | None:
        if not isinstance(obj, dict) or not (obj.get("base64") or obj.get("pairingCode")):
            return None  # {"count": 0}: no QR produced yet
        return QrCode(expires_at=datetime.now(UTC) + QR_LIFETIME, data_url=obj.get("base64"),
                      pairing_code=obj.get("pairingCode"))

    def connect(self, ref: NumberRef, phone: str | None = None) -> QrCode | ConnectionState:
        name = self._instance(ref)
        body = self._call("connect", "GET", f"/instance/connect/{name}", ref.api_token,
                          params={"number": digits(phone)} if phone else None, instance=name)
        if isinstance(body.get("instance"), dict):
            return _starting(to_state(body["instance"].get("state")))
        qr = self._qr(body)
        if qr is None:
            return ConnectionState("connecting", "connecting", None, "the QR code is not ready yet; ask again")
        return qr

    def connection_state(self, ref: NumberRef) -> ConnectionState:
        name = self._instance(ref)
        body = self._call("connection_state", "GET", f"/instance/connectionState/{name}", ref.api_token,
                          instance=name)
        return to_state((body.get("instance") or {}).get("state"))

    def restart(self, ref: NumberRef) -> None:
        name = self._instance(ref)
        self._call("restart", "POST", f"/instance/restart/{name}", ref.api_token, instance=name)

    def logout(self, ref: NumberRef) -> None:
        name = self._instance(ref)
        try:
            self._call("logout", "DELETE", f"/instance/logout/{name}", ref.api_token, instance=name)
        except NumberDisconnected:
            pass  # 400 "instance is not connected": already logged out

    def delete(self, ref: NumberRef) -> None:
        name = self._instance(ref)
        try:
            self._call("delete", "DELETE", f"/instance/delete/{name}", ref.api_token or self.global_key,
                       instance=name)
        except InstanceNotFound:
            pass  # already gone

    def list_instances(self) -> list[InstanceSummary]:
        rows = self._call("fetch_instances", "GET", "/instance/fetchInstances", self.global_key)
        return [InstanceSummary(r["name"], to_state(r.get("connectionStatus"), r.get("disconnectionReasonCode")
                                                    if r.get("connectionStatus") == "close" else None),
                                r.get("profileName"), naming.number_id_of(r["name"]))
                for r in rows if isinstance(r, dict) and isinstance(r.get("name"), str)]

    def server_info(self) -> dict[str, Any]:
        body = self._call("root", "GET", "/", self.global_key)
        return {"version": body.get("version"), "whatsapp_web_version": body.get("whatsappWebVersion")}

    # -- messages ------------------------------------------------------------------------------------
    def _sent(self, body: dict[str, Any]) -> SentMessage:
        key = body.get("key") or {}
        if not key.get("id"):
            raise ProviderError("Evolution accepted the message but returned no id", provider=self.name)
        ts = to_int(body.get("messageTimestamp"))  # 2.3.6: a protobuf long as {low, high, unsigned}
        return SentMessage(key["id"], "pending", from_unix(ts) if ts else None)

    @staticmethod
    def _quoted(quoted_id: str | None) -> dict[str, Any]:
        return {"quoted": {"key": {"id": quoted_id}}} if quoted_id else {}

    def send_text(self, ref: NumberRef, to: str, text: str, quoted_id: str | None = None) -> SentMessage:
        name = self._instance(ref)
        body = self._call("send_text", "POST", f"/message/sendText/{name}", ref.api_token, instance=name,
                          json={"number": to_number(to), "text": text, **self._quoted(quoted_id)}, sending=True)
        return self._sent(body)

    def send_media(self, ref: NumberRef, to: str, media: MediaSpec, quoted_id: str | None = None) -> SentMessage:
        if media.kind == "voice":
            from lib.providers.evolution import media as evo_media  # noqa: PLC0415

            return evo_media.send_voice(self, ref, to_number(to), media, self._quoted(quoted_id))
        name = self._instance(ref)
        payload: dict[str, Any] = {"number": to_number(to), "mediatype": media.kind, "media": media.url,
                                   **self._quoted(quoted_id)}
        for key, value in (("caption", media.caption), ("fileName", media.file_name), ("mimetype", media.mime_type)):
            if value:
                payload[key] = value
        body = self._call("send_media", "POST", f"/message/sendMedia/{name}", ref.api_token, instance=name,
                          json=payload, sending=True)
        return self._sent(body)

    # -- webhooks ------------------------------------------------------------------------------------
    def verify_webhook(self, headers: Mapping[str, str], body: bytes, path_id: str | None = None) -> WebhookIdentity:
        max_age = config.settings().evolution_webhook_max_age_seconds
        if path_id is None:
            # The route of numbers configured before per-number keys: one key shared by every number
            # (and readable by any instance token holder), so the body's apikey must also match.
            auth.verify_evolution(headers, auth.evolution_secrets(), max_age)
            return WebhookIdentity(apikey_required=True)
        number_id = auth.number_id(path_id)
        keys = [auth.evolution_number_key(s, number_id) for s in auth.evolution_secrets()]
        if not keys:
            raise WebhookAuthError("no_secret_configured")
        auth.verify_evolution(headers, keys, max_age)
        return WebhookIdentity(number_id=number_id)

    def normalize_webhook(self, payload: Mapping[str, Any]) -> list[Event]:
        from lib.providers.evolution.normalize import normalize  # noqa: PLC0415

        return normalize(payload)

    def webhook_instance(self, payload: Mapping[str, Any]) -> str | None:
        value = payload.get("instance")
        return value if isinstance(value, str) else None

    # Media fetching and the conversation calls: lib/providers/parts.py, in this package's media.py and chats.py.
    def capabilities(self) -> dict[str, Any]:
        s = super().capabilities()
        # Pairing codes: GET /instance/connect/{instance}?number= (instance.controller.ts, 2.3.6); we create
        # every instance with the global key.
        return {**s, "configured": bool(self.base_url and self.global_key and self.webhook_secret),
                "pairing_code": True, "instances": "created",
                "media": ["image", "video", "audio", "voice", "document"]}

"""GREEN-API behind the provider contract (https://green-api.com/en/docs/api/).

Instance methods are `{apiUrl}/waInstance{idInstance}/{method}/{apiTokenInstance}`: the token is a
path segment, so URLs are never logged (resilience logs operation and instance only). apiUrl and
mediaUrl are per instance; createInstance does not return them, so the configured hosts are used
until the user supplies the console's values.

Two ways to get an instance:
- with GREEN_API_PARTNER_TOKEN: we create it (partner createInstance) and delete it on teardown;
- without: the user links an instance of their own (idInstance + apiTokenInstance) — the legacy
  flow. We never delete such an instance; teardown logs it out and forgets it.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from lib import config, log, resilience
from lib import webhook_auth as auth
from lib.errors import InstanceNotFound, InvalidRequest, NotSupported, NumberDisconnected, ProviderError
from lib.events import Event
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
from lib.providers.greenapi import errors as gerr
from lib.providers.greenapi.states import to_state
from lib.providers.parts import InPackage

QR_LIFETIME = timedelta(seconds=20)        # the QR rotates every 20 s (account/QR)
PAIRING_LIFETIME = timedelta(seconds=150)  # a pairing code lives ~2.5 min (GetAuthorizationCode)
# Webhook switches we consume (SetSettings; all are off after instance creation).
# https://green-api.com/en/docs/api/account/SetSettings/
WEBHOOK_SWITCHES = {"incomingWebhook": "yes", "outgoingWebhook": "yes", "outgoingMessageWebhook": "yes",
                    "outgoingAPIMessageWebhook": "yes", "stateWebhook": "yes", "editedMessageWebhook": "yes",
                    "deletedMessageWebhook": "yes"}


def chat_id(to: str) -> str:
    if "@" in to:
        user, _, server = to.partition("@")
        return f"{naming.digits(user) or ''}@c.us" if server == "s.whatsapp.net" else to
    return f"{naming.digits(to) or ''}@c.us"


def file_name(media: MediaSpec) -> str:
    """GREEN-API decides the message type by the file name's extension, so there must be one."""
    if media.file_name and "." in media.file_name:
        return media.file_name
    base = (urlsplit(media.url).path.rsplit("/", 1)[-1] or media.kind)
    if "." in base:
        return base
    ext = mimetypes.guess_extension(media.mime_type or "") or {"image": ".jpg", "video": ".mp4", "audio": ".ogg",
                                                               "document": ".pdf"}[media.kind]
    return (media.file_name or base) + ext


class GreenApiProvider(InPackage, Provider):
    package = "lib.providers.greenapi"
    name = "green-api"

    def __init__(self, api_url: str, media_url: str, partner_url: str, partner_token: str | None,
                 webhook_url: str | None, client: httpx.Client | None = None):
        self.api_url, self.media_url, self.partner_url = api_url, media_url, partner_url
        self.partner_token = partner_token
        self.webhook_url = webhook_url
        self._client = client
        log.register_secret(partner_token)

    @classmethod
    def from_settings(cls) -> GreenApiProvider:
        s = config.settings()
        return cls(s.green_api_url, s.green_api_media_url, s.green_api_partner_url, s.green_api_partner_token,
                   f"{s.base_url}/api/v1/webhooks/greenapi" if s.base_url else None)

    # -- HTTP --------------------------------------------------------------------------------------
    def _send(self, call: resilience.Call, sending: bool = False) -> Any:
        call.server_failure = lambda r: error_table.server_failure(
            gerr.to_error(r.status_code, http.body(r), sending=sending))
        resp = resilience.send(self._client or http.client(), call)
        body = http.body(resp)
        if resp.status_code == 200:
            return body
        ra = resilience.retry_after_seconds(resp.headers.get("Retry-After"))
        raise gerr.to_error(resp.status_code, body, sending=sending, retry_after=ra)

    def _instance_call(self, ref: NumberRef, operation: str, method: str, api: str, json: Any = None,
                       sending: bool = False) -> Any:
        id_instance = str(ref.provider_instance_id or ref.instance_data.get("idInstance") or "")
        if not id_instance or not ref.api_token:
            raise InstanceNotFound("this number has no GREEN-API instance credentials", provider=self.name)
        if not id_instance.isdigit():
            raise InstanceNotFound("this number's GREEN-API instance id is not a number", provider=self.name)
        log.register_secret(ref.api_token)
        base = str(ref.instance_data.get("apiUrl") or self.api_url).rstrip("/")
        # Path segments are encoded: a token must never pick the path or query we request.
        call = resilience.Call(provider=self.name, operation=operation, method=method, instance=id_instance,
                               url=f"{base}/waInstance{id_instance}/{api}/{quote(ref.api_token, safe='')}",
                               json=json, idempotent=not sending)
        return self._send(call, sending)

    def _partner_call(self, operation: str, method: str, api: str, json: Any = None, idempotent: bool = True) -> Any:
        token = config.require(self.partner_token, "GREEN_API_PARTNER_TOKEN")
        call = resilience.Call(provider=self.name, operation=operation, method=method,
                               url=f"{self.partner_url.rstrip('/')}/partner/{api}/{quote(token, safe='')}", json=json,
                               idempotent=idempotent)
        body = self._send(call, sending=not idempotent)
        if isinstance(body, dict) and "code" in body and "description" in body:  # errors as HTTP 200
            raise gerr.partner_error(body)
        return body

    # -- lifecycle ---------------------------------------------------------------------------------
    def _settings(self, number_id: str) -> dict[str, Any]:
        url = self.webhook_url or config.require(None, "PUBLIC_BASE_URL")
        return {"webhookUrl": url, "webhookUrlToken": auth.greenapi_token(number_id), **WEBHOOK_SWITCHES}

    def check_create(self, req: CreateRequest) -> None:
        if not req.credentials and not self.partner_token:
            raise InvalidRequest("send `green_api` with your instance's id_instance and api_token_instance "
                                 "(this deployment cannot create GREEN-API instances)", code="credentials_required")
        config.require(self.webhook_url, "PUBLIC_BASE_URL")
        config.require(config.settings().webhook_token_secret, "WEBHOOK_TOKEN_SECRET")

    def preset_secrets(self, req: CreateRequest) -> PresetSecrets:
        token = (req.credentials or {}).get("apiTokenInstance")
        return PresetSecrets(api_token=token, webhook_token=auth.greenapi_token(req.number_id))

    def create_instance(self, req: CreateRequest) -> InstanceInfo:
        if req.credentials:
            return self._link(req)
        self.check_create(req)
        name = naming.instance_name(req.number_id)
        settings = self._settings(req.number_id)
        # createInstance is not idempotent (each call is a new paid instance): an instance an earlier
        # attempt made is found by its name first, and the call is never retried once it may have
        # reached GREEN-API (a lost answer is an orphan the sync job finds by its name).
        existing = [i for i in self._partner_call("get_instances", "GET", "getInstances") or []
                    if isinstance(i, dict) and i.get("name") == name and not i.get("deleted")]
        created = existing[0] if existing else self._partner_call("create_instance", "POST", "createInstance",
                                                                  {"name": name, **settings}, idempotent=False)
        if not created.get("idInstance") or not created.get("apiTokenInstance"):
            raise ProviderError("GREEN-API created an instance but returned no credentials", provider=self.name)
        log.register_secret(created["apiTokenInstance"])
        id_instance = str(created["idInstance"])
        if existing:  # a retried create: make sure the webhook settings are ours
            ref = NumberRef(req.number_id, self.name, id_instance, {}, created["apiTokenInstance"])
            self._instance_call(ref, "set_settings", "POST", "setSettings", settings)
        return InstanceInfo(provider_instance_id=id_instance, managed=True, api_token=created["apiTokenInstance"],
                            webhook_token=settings["webhookUrlToken"],
                            instance_data={"idInstance": id_instance, "apiUrl": self.api_url,
                                           "mediaUrl": self.media_url, "name": name},
                            state=ConnectionState("pending", "null", None, "the instance is being created"))

    def _link(self, req: CreateRequest) -> InstanceInfo:
        c = req.credentials or {}
        id_instance, token = str(c.get("idInstance") or ""), str(c.get("apiTokenInstance") or "")
        data = {"idInstance": id_instance, "apiUrl": c.get("apiUrl") or self.api_url,
                "mediaUrl": c.get("mediaUrl") or self.media_url}
        ref = NumberRef(req.number_id, self.name, id_instance, data, token)
        state = self.connection_state(ref)  # proves the credentials (401 / 403 otherwise)
        settings = self._settings(req.number_id)
        self._instance_call(ref, "set_settings", "POST", "setSettings", settings)
        return InstanceInfo(provider_instance_id=id_instance, managed=False, api_token=token,
                            webhook_token=settings["webhookUrlToken"], instance_data=data, state=state)

    def configure_webhook(self, ref: NumberRef) -> None:
        self._instance_call(ref, "set_settings", "POST", "setSettings", self._settings(ref.number_id))

    def connect(self, ref: NumberRef, phone: str | None = None) -> QrCode | ConnectionState:
        now = datetime.now(UTC)
        if phone:
            body = self._instance_call(ref, "authorization_code", "POST", "getAuthorizationCode",
                                       {"phoneNumber": int(naming.digits(phone) or 0)})
            if isinstance(body, dict) and body.get("status") and body.get("code"):
                return QrCode(expires_at=now + PAIRING_LIFETIME, pairing_code=str(body["code"]))
            raise ProviderError("GREEN-API gave no pairing code", provider=self.name)
        body = self._instance_call(ref, "qr", "GET", "qr")
        kind = body.get("type") if isinstance(body, dict) else None
        if kind == "qrCode" and body.get("message"):
            return QrCode(expires_at=now + QR_LIFETIME, data_url="data:image/png;base64," + body["message"])
        if kind == "alreadyLogged":
            return to_state("authorized")
        if kind == "error":
            raise gerr.to_error(400, {"message": body.get("message")}, sending=False)
        raise ProviderError("GREEN-API answered the QR request with a body we cannot read", provider=self.name)

    def connection_state(self, ref: NumberRef) -> ConnectionState:
        body = self._instance_call(ref, "get_state", "GET", "getStateInstance")
        if body is not None and not isinstance(body, dict):
            raise ProviderError("GREEN-API answered the state request with a body we cannot read", provider=self.name)
        return to_state((body or {}).get("stateInstance"))

    def restart(self, ref: NumberRef) -> None:
        self._instance_call(ref, "reboot", "GET", "reboot")

    def logout(self, ref: NumberRef) -> None:
        try:
            self._instance_call(ref, "logout", "GET", "logout")
        except NumberDisconnected:
            pass  # not authorized: already logged out

    def teardown(self, ref: NumberRef) -> None:
        """The webhook is cleared first: a linked instance outlives its number here (it is the
        user's), and must stop sending us its notifications, message texts included."""
        self._skip_done(lambda r: self._instance_call(r, "set_settings", "POST", "setSettings",
                                                      {"webhookUrl": "", "webhookUrlToken": ""}), ref)
        super().teardown(ref)

    def delete(self, ref: NumberRef) -> None:
        if not ref.instance_data.get("managed"):
            return  # the user's own instance: logged out by the caller, never deleted by us
        try:
            self._partner_call("delete_instance", "POST", "deleteInstanceAccount",
                               {"idInstance": int(ref.provider_instance_id or 0)})
        except InstanceNotFound:
            pass

    def list_instances(self) -> list[InstanceSummary]:
        if not self.partner_token:
            raise NotSupported("listing GREEN-API instances needs GREEN_API_PARTNER_TOKEN", provider=self.name)
        rows = self._partner_call("get_instances", "GET", "getInstances") or []
        return [InstanceSummary(str(r["idInstance"]), None, r.get("name"), naming.number_id_of(r.get("name")))
                for r in rows if isinstance(r, dict) and not r.get("deleted") and r.get("idInstance")]

    # -- messages ----------------------------------------------------------------------------------
    def _sent(self, body: Any) -> SentMessage:
        if not isinstance(body, dict) or not body.get("idMessage"):
            raise ProviderError("GREEN-API accepted the message but returned no id", provider=self.name)
        return SentMessage(str(body["idMessage"]), "pending", None)

    def send_text(self, ref: NumberRef, to: str, text: str, quoted_id: str | None = None) -> SentMessage:
        payload = {"chatId": chat_id(to), "message": text, **({"quotedMessageId": quoted_id} if quoted_id else {})}
        return self._sent(self._instance_call(ref, "send_message", "POST", "sendMessage", payload, sending=True))

    def send_media(self, ref: NumberRef, to: str, media: MediaSpec, quoted_id: str | None = None) -> SentMessage:
        if media.kind == "voice":
            from lib.providers.greenapi import media as green_media  # noqa: PLC0415

            return green_media.send_voice(self, ref, chat_id(to), media, quoted_id)
        payload: dict[str, Any] = {"chatId": chat_id(to), "urlFile": media.url, "fileName": file_name(media)}
        if media.caption:
            payload["caption"] = media.caption
        if quoted_id:
            payload["quotedMessageId"] = quoted_id
        return self._sent(self._instance_call(ref, "send_file_by_url", "POST", "sendFileByUrl", payload,
                                              sending=True))

    # -- webhooks ----------------------------------------------------------------------------------
    def verify_webhook(self, headers: Mapping[str, str], body: bytes, path_id: str | None = None) -> WebhookIdentity:
        return WebhookIdentity(number_id=auth.verify_greenapi(headers, auth.greenapi_secrets()))

    def normalize_webhook(self, payload: Mapping[str, Any]) -> list[Event]:
        from lib.providers.greenapi.normalize import normalize  # noqa: PLC0415

        return normalize(payload)

    def webhook_instance(self, payload: Mapping[str, Any]) -> str | None:
        data = payload.get("instanceData")
        value = data.get("idInstance") if isinstance(data, Mapping) else None
        return str(value) if isinstance(value, (int, str)) and str(value) else None

    # Media fetching and the conversation calls: lib/providers/parts.py, in this package's media.py and chats.py.
    def capabilities(self) -> dict[str, Any]:
        s = super().capabilities()
        # Pairing codes: getAuthorizationCode; without a partner token users link instances of their own.
        return {**s, "pairing_code": True, "instances": "created" if self.partner_token else "linked",
                "media": ["image", "video", "audio", "voice", "document"]}

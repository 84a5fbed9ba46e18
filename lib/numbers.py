"""Numbers: add (with the provider instance and its QR), read (cheap enough to poll), reconnect,
delete. Every function takes the caller's user id; another owner's number is a 404."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from lib import config, db, log
from lib.errors import (
    AppError,
    Conflict,
    DatabaseUnavailable,
    InstanceNotFound,
    InvalidRequest,
    NotSupported,
    NumberDisconnected,
    ProviderError,
)
from lib.providers import get_provider
from lib.providers import provider as provider_named
from lib.providers.base import ConnectionState, CreateRequest, NumberRef, QrCode
from lib.schemas import CreateNumberRequest, public_number

_log = log.get("numbers")
ONBOARDING = ("pending", "qr")


def _ref(row: dict[str, Any]) -> NumberRef:
    log.register_secret(row.get("api_token"))
    data = dict(row.get("instance_data") or {})
    data["managed"] = bool(row.get("managed_instance"))
    return NumberRef(number_id=row["id"], provider=row["provider"],
                     provider_instance_id=row.get("provider_instance_id"),
                     instance_data=data, api_token=row.get("api_token"), webhook_token=row.get("webhook_token"))


def list_numbers(owner: str, limit: int, cursor: tuple[str, str] | None) -> dict[str, Any]:
    after, after_id = cursor if cursor else (None, None)
    page = db.call("list_numbers", p_owner=owner, p_limit=limit, p_after=after, p_after_id=after_id)
    items = [public_number(n) for n in page["items"]]
    return {"items": items, "has_more": page["has_more"]}


def create(owner: str, req: CreateNumberRequest, idempotency_key: str | None) -> tuple[int, dict[str, Any]]:
    s = config.settings()
    name = req.provider or s.default_provider
    prov = provider_named(name)
    number_id = str(uuid.uuid4())  # chosen here so the instance id can derive from it before the row exists
    row = db.call("begin_create_number", p_number_id=number_id, p_owner=owner, p_provider=name, p_label=req.label,
                  p_phone=req.phone, p_rollout=s.evolution_rollout, p_idempotency_key=idempotency_key,
                  p_planned_instance_id=prov.planned_instance_id(number_id))
    if row.get("replayed") and row.get("status") != "pending":
        return 200, public_number(row)
    creds = None
    if req.green_api:
        for url in (req.green_api.api_url, req.green_api.media_url):
            _check_green_api_host(url)
        creds = {"idInstance": req.green_api.id_instance, "apiTokenInstance": req.green_api.api_token_instance,
                 "apiUrl": str(req.green_api.api_url).rstrip("/") if req.green_api.api_url else None,
                 "mediaUrl": str(req.green_api.media_url).rstrip("/") if req.green_api.media_url else None}
        log.register_secret(req.green_api.api_token_instance)
    try:
        info = prov.create_instance(CreateRequest(number_id=row["id"], label=req.label, phone=req.phone,
                                                  credentials=creds))
    except AppError as exc:
        # Nothing usable was made; an instance that did get created is named after this id and
        # the sync job removes it.
        db.call("abandon_number", p_number_id=row["id"], p_reason=f"{exc.code}: {exc.message}"[:300])
        raise
    qr, state = info.qr, info.state or ConnectionState("pending", "created")
    ref = NumberRef(row["id"], name, info.provider_instance_id, {**info.instance_data, "managed": info.managed},
                    info.api_token, info.webhook_token)
    if qr is None and state.status != "active":
        qr, state = _try_connect(prov, ref, req.phone, state)
    status = "qr" if qr is not None and state.status != "active" else state.status
    try:
        number = db.call(
            "complete_create_number", p_number_id=row["id"], p_provider_instance_id=info.provider_instance_id,
            p_instance_data={k: v for k, v in info.instance_data.items() if k != "managed"}, p_managed=info.managed,
            p_api_token=info.api_token, p_webhook_token=info.webhook_token, p_status=status,
            p_raw_state=state.raw_state,
            p_reason=state.reason if status != "qr" else "waiting for the QR code to be scanned",
            p_qr_code=qr.data_url if qr else None, p_pairing_code=qr.pairing_code if qr else None,
            p_qr_expires_at=qr.expires_at if qr else None)
    except DatabaseUnavailable:
        _log.error("provider instance created but not recorded; the sync job will reconcile it",
                   extra={"number_id": row["id"], "provider": name, "instance": info.provider_instance_id})
        raise
    return 201, public_number(number)


GREEN_API_DOMAINS = ("green-api.com", "greenapi.com")


def _check_green_api_host(url: Any) -> None:
    """A user-supplied GREEN-API host must be GREEN-API's (or the configured one): we send the
    instance token there, and we must not be made to call arbitrary addresses (SSRF)."""
    if url is None:
        return
    host = (url.host or "").lower()
    configured = {(urlsplit(u).hostname or "").lower() for u in (config.settings().green_api_url,
                                                                  config.settings().green_api_media_url)}
    if host in configured or (url.scheme == "https" and any(host == d or host.endswith("." + d)
                                                            for d in GREEN_API_DOMAINS)):
        return
    raise InvalidRequest("api_url and media_url must be your instance's GREEN-API hosts (https://....green-api.com "
                         "or ....greenapi.com), as shown in the GREEN-API console", code="invalid_green_api_host")


def _try_connect(prov, ref: NumberRef, phone: str | None,
                 state: ConnectionState) -> tuple[QrCode | None, ConnectionState]:
    """Ask for a QR right away; a provider still starting the instance is not an error here."""
    try:
        result = prov.connect(ref, phone)
    except (ProviderError, NotSupported) as exc:
        _log.info("no QR yet", extra={"number_id": ref.number_id, "code": exc.code})
        return None, state
    if isinstance(result, QrCode):
        return result, state
    return None, result


def get(owner: str, number_id: str) -> dict[str, Any]:
    """The number; while onboarding, a fresh QR when the stored one has expired (one provider call
    per QR lifetime, however often the frontend polls)."""
    row = db.call("number_for_provider", p_owner=owner, p_number_id=number_id)
    if row["status"] in ONBOARDING and row.get("provider_instance_id") and _expired(row.get("qr_expires_at")):
        row = _refresh_qr(owner, row) or row
    return public_number(row)


def _expired(value: str | None) -> bool:
    return value is None or datetime.fromisoformat(value) <= datetime.now(UTC)


def _refresh_qr(owner: str, row: dict[str, Any]) -> dict[str, Any] | None:
    ref = _ref(row)
    try:
        result = get_provider(ref).connect(ref)
    except (ProviderError, NotSupported) as exc:
        _log.info("QR refresh failed", extra={"number_id": ref.number_id, "code": exc.code})
        return None
    if isinstance(result, QrCode):
        return db.call("save_qr", p_number_id=ref.number_id, p_qr_code=result.data_url,
                       p_pairing_code=result.pairing_code, p_expires_at=result.expires_at)
    _record(ref.number_id, result)
    return db.call("get_number", p_owner=owner, p_number_id=ref.number_id)


def _record(number_id: str, state: ConnectionState) -> None:
    db.call("record_connection", p_number_id=number_id, p_status=state.status, p_raw_state=state.raw_state,
            p_reason_code=state.reason_code, p_reason=state.reason, p_at=datetime.now(UTC), p_source="api")


def reconnect(owner: str, number_id: str, phone: str | None = None) -> dict[str, Any]:
    row = db.call("number_for_provider", p_owner=owner, p_number_id=number_id)
    if not row.get("provider_instance_id"):
        raise InvalidRequest("this number was never fully created; delete it and add it again",
                             code="number_incomplete")
    ref = _ref(row)
    prov = get_provider(ref)
    state = prov.connection_state(ref)
    _record(number_id, state)  # the live state wins over what webhooks last told us
    if state.status == "active":
        raise Conflict("this number is connected; nothing to reconnect", code="already_connected")
    result = prov.connect(ref, phone)
    if isinstance(result, ConnectionState):
        _record(number_id, result)
        if result.status == "active":
            raise Conflict("this number is connected; nothing to reconnect", code="already_connected")
        return public_number(db.call("get_number", p_owner=owner, p_number_id=number_id))
    return public_number(db.call("save_qr", p_number_id=number_id, p_qr_code=result.data_url,
                                 p_pairing_code=result.pairing_code, p_expires_at=result.expires_at))


def delete(owner: str, number_id: str) -> dict[str, Any]:
    """Provider teardown, then a soft delete that keeps history. Repeatable."""
    try:
        row = db.call("number_for_provider", p_owner=owner, p_number_id=number_id)
    except AppError as exc:
        if exc.code != "number_not_found":
            raise
        return public_number(db.call("delete_number", p_owner=owner, p_number_id=number_id))
    if row.get("provider_instance_id"):
        ref = _ref(row)
        prov = get_provider(ref)
        _tolerate(prov.logout, ref)
        if row.get("managed_instance"):
            _tolerate(prov.delete, ref)
    return public_number(db.call("delete_number", p_owner=owner, p_number_id=number_id))


def _tolerate(step, ref: NumberRef) -> None:
    """Teardown steps already done (or impossible) are not failures; an unreachable provider is."""
    try:
        step(ref)
    except (InstanceNotFound, NumberDisconnected, NotSupported) as exc:
        _log.info("teardown step skipped", extra={"number_id": ref.number_id, "code": exc.code})

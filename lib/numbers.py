"""Numbers: add (with the provider instance and its QR), read (cheap enough to poll), reconnect,
delete. Every function takes the caller's user id; another owner's number is a 404."""

from __future__ import annotations

import hashlib
import json
import string
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lib import config, db, log
from lib.errors import (
    AppError,
    Conflict,
    DatabaseUnavailable,
    InvalidRequest,
    NotSupported,
    ProviderError,
)
from lib.providers import get_provider
from lib.providers import provider as provider_named
from lib.providers.base import ConnectionState, CreateRequest, NumberRef, PresetSecrets, QrCode

if TYPE_CHECKING:  # pydantic is imported by the routes that validate a body, not by every number route
    from lib.schemas.numbers import CreateNumberRequest

_log = log.get("numbers")
ONBOARDING = ("pending", "qr")
# What a number shows in the API, documented by `schemas.NumberOut`: never its secrets or instance data.
PUBLIC_FIELDS = ("id", "label", "phone", "provider", "status", "status_reason", "status_changed_at",
                 "provider_state", "provider_reason_code", "connected_at", "disconnected_at", "created_at",
                 "deleted_at", "qr")


def public_number(row: dict[str, Any]) -> dict[str, Any]:
    """Only the public fields of a number row (drops secrets and instance data)."""
    return {k: row.get(k) for k in PUBLIC_FIELDS}


def list_numbers(owner: str, limit: int, cursor: tuple[str, str] | None) -> dict[str, Any]:
    after, after_id = cursor if cursor else (None, None)
    page = db.call("list_numbers", p_owner=owner, p_limit=limit, p_after=after, p_after_id=after_id)
    items = [public_number(n) for n in page["items"]]
    return {"items": items, "has_more": page["has_more"]}


IDEMPOTENCY_KEY_CHARS = frozenset(string.ascii_letters + string.digits + "-_.:~+/=")


def idempotency_key(value: str | None, required: bool = False) -> str | None:
    """A client's Idempotency-Key: 1-255 printable characters; absent is allowed unless `required`."""
    if value is None or value == "":
        if required:
            raise InvalidRequest("send an Idempotency-Key header (1-255 characters) so a retry never acts twice",
                                 code="idempotency_key_required")
        return None
    if len(value) > 255 or not set(value) <= IDEMPOTENCY_KEY_CHARS:
        raise InvalidRequest("Idempotency-Key must be 1-255 characters of letters, digits and -_.:~+/=",
                             code="invalid_idempotency_key")
    return value


def request_hash(body: Any) -> str:
    """A fingerprint of a request body: the same Idempotency-Key with another body is refused."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def create(owner: str, req: CreateNumberRequest, key: str | None) -> tuple[int, dict[str, Any]]:
    """Validate everything first (nothing is written for a request that cannot succeed), then
    record the number with the secrets we choose, then ask the provider; any failure after the
    row exists abandons it at once."""
    s = config.settings()
    key = idempotency_key(key)
    name = req.provider or s.default_provider
    prov = provider_named(name)
    number_id = str(uuid.uuid4())  # chosen here so the instance name and tokens derive from it
    creds = _credentials(req)
    draft = CreateRequest(number_id=number_id, label=req.label, phone=req.phone, credentials=creds)
    prov.check_create(draft)
    secrets_ = prov.preset_secrets(draft)
    row = db.call("begin_create_number", p_number_id=number_id, p_owner=owner, p_provider=name, p_label=req.label,
                  p_phone=req.phone, p_rollout=s.evolution_rollout, p_idempotency_key=key,
                  p_planned_instance_id=prov.planned_instance_id(number_id), p_request_hash=request_hash(req),
                  p_api_token=secrets_.api_token, p_webhook_token=secrets_.webhook_token,
                  p_max_live=s.max_numbers_per_user, p_max_per_hour=s.max_number_creates_per_hour)
    if row["replayed"] and not row["resume"]:
        return 200, public_number(row)
    if row["resume"]:  # an earlier attempt died mid-way: finish it, with the same instance and token
        log.register_secret(row.get("api_token"))
        secrets_ = PresetSecrets(row.get("api_token") or secrets_.api_token, secrets_.webhook_token)
    draft = CreateRequest(number_id=row["id"], label=req.label, phone=req.phone, credentials=creds,
                          api_token=secrets_.api_token)
    try:
        info = prov.create_instance(draft)
    except BaseException as exc:
        # Nothing usable was made; an instance that did get created is named after this id and the
        # sync job removes it.
        reason = f"{exc.code}: {exc.message}" if isinstance(exc, AppError) else "internal error"
        db.call("abandon_number", p_number_id=row["id"], p_reason=reason[:300])
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
        _log.error("provider instance created but not recorded; a retry with the same Idempotency-Key, or "
                   "the sync job, will reconcile it",
                   extra={"number_id": row["id"], "provider": name, "instance": info.provider_instance_id})
        raise
    return 201, public_number(number)


def _credentials(req: CreateNumberRequest) -> dict[str, Any] | None:
    if not req.green_api:
        return None
    g = req.green_api
    for url in (g.api_url, g.media_url):
        check_green_api_url(url)
    log.register_secret(g.api_token_instance)
    return {"idInstance": g.id_instance, "apiTokenInstance": g.api_token_instance,
            "apiUrl": str(g.api_url).rstrip("/") if g.api_url else None,
            "mediaUrl": str(g.media_url).rstrip("/") if g.media_url else None}


GREEN_API_DOMAINS = ("green-api.com", "greenapi.com")


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def check_green_api_url(url: Any) -> None:
    """A user-supplied GREEN-API host: exactly a configured GREEN-API URL (scheme, host and port),
    or https on the default port of GREEN-API's own domains. We send the instance token there: we
    must not be made to call any other address or port (SSRF, and a port-scan oracle)."""
    if url is None:
        return
    raw = str(url)
    scheme, host, port = _origin(raw)
    s = config.settings()
    configured = {_origin(u) for u in (s.green_api_url, s.green_api_media_url)}
    own_domain = any(host == d or host.endswith("." + d) for d in GREEN_API_DOMAINS)
    path_ok = urlsplit(raw).path in ("", "/") and not urlsplit(raw).query and "@" not in urlsplit(raw).netloc
    if path_ok and ((scheme, host, port) in configured or (scheme == "https" and port == 443 and own_domain)):
        return
    raise InvalidRequest("api_url and media_url must be your instance's GREEN-API hosts as shown in the GREEN-API "
                         "console (https://NNNN.api.greenapi.com), with no port or path",
                         code="invalid_green_api_host")


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
    ref = NumberRef.from_row(row)
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
    """An explicit action of the user: the only way (with a scan) out of `logged_out` and `blocked`."""
    row = db.call("number_for_provider", p_owner=owner, p_number_id=number_id)
    if not row.get("provider_instance_id"):
        raise InvalidRequest("this number was never fully created; delete it and add it again",
                             code="number_incomplete")
    ref = NumberRef.from_row(row)
    prov = get_provider(ref)
    state = prov.connection_state(ref)
    if state.status == "active":
        # Only a live `open` is recorded here: Evolution answers `close` between the attempts of its
        # reconnect loop while its webhooks say `connecting`, and recording both made the status flap.
        _record(number_id, state)
        raise Conflict("this number is connected; nothing to reconnect", code="already_connected")
    result = prov.connect(ref, phone)
    if isinstance(result, ConnectionState):
        if result.status == "active":
            _record(number_id, result)
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
        ref = NumberRef.from_row(row)
        get_provider(ref).teardown(ref)
    return public_number(db.call("delete_number", p_owner=owner, p_number_id=number_id))

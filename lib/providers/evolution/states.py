"""Evolution (Baileys) connection states → our number status.

Evolution sends `connection.update` with `state` open | connecting | close | refused and a
`statusReason` (Baileys DisconnectReason, WhiskeySockets/Baileys v7.0.0-rc.6 src/Types/index.ts).
It only reports `close` for terminal codes (401/403/402/406); transient drops reconnect silently
(EvolutionAPI/evolution-api 2.3.6, src/api/integrations/channel/whatsapp/whatsapp.baileys.service.ts,
connectionUpdate).
"""

from __future__ import annotations

from datetime import timedelta

from lib.providers.base import ConnectionState

# Baileys rotates QR refs about every 45 s (qrTimeout in whatsapp.baileys.service.ts, 2.3.6): a QR
# is shown as valid for a little less.
QR_LIFETIME = timedelta(seconds=40)

# Baileys DisconnectReason (src/Types/index.ts at v7.0.0-rc.6) plus the CB:failure reasons
# whatsmeow names (402 TempBanned, 403 MainDeviceGone, 406 UnknownLogout/banned).
REASONS: dict[int, str] = {
    401: "logged out from the phone",
    402: "temporarily banned by WhatsApp",
    403: "forbidden by WhatsApp (account locked or main device gone)",
    406: "banned by WhatsApp",
    408: "connection lost or QR attempts ended",
    411: "multi-device mismatch",
    428: "connection closed",
    440: "connection replaced by another session",
    500: "bad session",
    503: "WhatsApp service unavailable",
    515: "restart required",
}
BLOCKED = {402, 403, 406}


def to_state(raw_state: str | None, reason_code: int | None = None) -> ConnectionState:
    raw = (raw_state or "unknown").lower()
    code = reason_code if isinstance(reason_code, int) else None
    reason = REASONS.get(code) if code not in (None, 200) else None
    if raw == "open":
        return ConnectionState("active", raw, code, None)
    if raw == "connecting":
        return ConnectionState("connecting", raw, code, None)
    if raw == "refused":
        return ConnectionState("disconnected", raw, code, "QR code limit reached; request a new QR")
    if raw == "close":
        if code == 401:
            return ConnectionState("logged_out", raw, code, reason)
        if code in BLOCKED:
            return ConnectionState("blocked", raw, code, reason)
        return ConnectionState("disconnected", raw, code, reason)
    return ConnectionState("disconnected", raw, code, "instance not loaded on the Evolution server")

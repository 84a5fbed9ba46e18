"""GREEN-API `stateInstance` → our number status (https://green-api.com/en/docs/api/account/GetStateInstance/)."""

from __future__ import annotations

from lib.providers.base import ConnectionState

_MAP: dict[str, tuple[str, str | None]] = {
    "authorized": ("active", None),
    "notAuthorized": ("logged_out", "the phone is not linked; scan a QR code"),
    "blocked": ("blocked", "the account is blocked by WhatsApp"),
    "yellowCard": ("blocked", "sending is suspended by WhatsApp for suspected spam (messages queue for 24 h)"),
    "sleepMode": ("disconnected", "the phone is offline"),
    "starting": ("connecting", "the instance is starting"),
}


def to_state(raw_state: str | None) -> ConnectionState:
    if raw_state is None:
        # getStateInstance answers `null` while a new instance is still being created.
        return ConnectionState("pending", "null", None, "the instance is still being created")
    status, reason = _MAP.get(raw_state, ("disconnected", f"unknown state {raw_state!r}"))
    return ConnectionState(status, raw_state, None, reason)  # type: ignore[arg-type]

"""Evolution API error bodies → our typed errors, in one table.

Evolution answers `{"status", "error", "response": {"message": ...}}` where `message` is a string,
an array, a nested array (schema validation) or an array of objects (number not on WhatsApp)
(src/main.ts error middleware, src/exceptions/*.ts; research/evolution-api.md §2.0, §2.12).
An unknown instance is 404 before the API key is checked (instanceExistsGuard runs first).
"""

from __future__ import annotations

from typing import Any

from lib import errors


def messages(body: Any) -> list[Any]:
    """Every message item of an Evolution error body, flattened."""
    if isinstance(body, dict):
        inner = body.get("response")
        msg = inner.get("message") if isinstance(inner, dict) else body.get("message")
    else:
        msg = body
    out: list[Any] = []

    def walk(x: Any) -> None:
        if isinstance(x, list):
            for item in x:
                walk(item)
        elif x is not None:
            out.append(x)

    walk(msg)
    return out


def text(body: Any) -> str:
    return " ".join(str(m) if not isinstance(m, dict) else "" for m in messages(body)).strip()


def not_on_whatsapp(body: Any) -> list[str]:
    return [str(m.get("number") or m.get("jid")) for m in messages(body)
            if isinstance(m, dict) and m.get("exists") is False]


def to_error(status: int, body: Any, *, sending: bool) -> errors.ProviderError:
    """The one mapping. `sending`: the call was a send, so an unexplained 500 means the outcome is unknown."""
    p = "evolution"
    msg = text(body)
    low = msg.lower()
    absent = not_on_whatsapp(body)
    if absent:
        return errors.ProviderRejected(f"{', '.join(absent)} is not on WhatsApp", code="not_on_whatsapp",
                                       provider=p, http_status=status)
    if "connection closed" in low or "reading 'textmessage'" in low or "is not connected" in low:
        return errors.NumberDisconnected("this number's WhatsApp connection is closed; reconnect it (scan a new QR) "
                                         "and try again", provider=p, http_status=status)
    if status == 401:
        return errors.ProviderAuthError("Evolution refused our API key; check EVOLUTION_GLOBAL_API_KEY and the "
                                        "instance token", provider=p, http_status=status)
    if status == 404 and ("instance" in low or "does not exist" in low or "not found" in low) and "cannot" not in low:
        return errors.InstanceNotFound("this number's instance no longer exists on the Evolution server; delete the "
                                       "number and add it again", provider=p, http_status=status)
    if status == 429:
        return errors.RateLimited("Evolution is rate limiting; try again shortly", provider=p, http_status=status)
    if status in (400, 403, 404, 413, 422):
        return errors.ProviderRejected(f"Evolution refused the request: {msg or status}"[:300], code="invalid_request",
                                       provider=p, http_status=status)
    if status >= 500 and sending:
        return errors.OutcomeUnknown("Evolution failed while sending; the message may or may not have gone out — "
                                     "check the chat before sending again", provider=p, http_status=status)
    if status >= 500:
        return errors.ProviderUnavailable(f"Evolution failed ({status}); try again shortly", provider=p,
                                          http_status=status)
    return errors.ProviderError(f"Evolution answered {status} unexpectedly", provider=p, http_status=status)

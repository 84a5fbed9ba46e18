"""Evolution API error bodies → our typed errors: one table (lib.providers.error_table).

Evolution answers `{"status", "error", "response": {"message": ...}}` where `message` is a string,
an array, a nested array (schema validation) or an array of objects (number not on WhatsApp)
(EvolutionAPI/evolution-api 2.3.6: src/main.ts error middleware, src/exceptions/*.ts). An unknown
instance is 404 before the API key is checked (src/api/guards/instance.guard.ts runs first).
Bodies seen on the real 2.3.6 server are the rows' comments.
"""

from __future__ import annotations

from typing import Any

from lib import errors
from lib.providers.error_table import Rule, shared_tail
from lib.providers.error_table import to_error as _apply

P = "Evolution"
_RECONNECT = "this number's WhatsApp connection is closed; reconnect it (scan a new QR) and try again"

TABLE: tuple[Rule, ...] = (
    # 500 "Connection Closed" / 400 ["Error: Connection Closed"]: Baileys' socket is dead (nothing sent).
    Rule(None, ("connection closed",), errors.NumberDisconnected, _RECONNECT),
    # 500 "Cannot read properties of undefined (reading 'textMessage' | 'onWhatsApp')": the session's
    # client never started on the server (nothing sent).
    Rule(None, ("reading 'textmessage'", "reading 'onwhatsapp'", "is not connected"), errors.NumberDisconnected,
         _RECONNECT),
    # restart of a never-connected instance: HTTP 200 {"error": true, "message": "[object Object]"}.
    Rule(None, ("[object object]",), errors.NumberDisconnected,
         "the session is not running on the Evolution server; reconnect the number (scan a new QR)"),
    # sendMedia: 500 ["Error: getaddrinfo ENOTFOUND host"] — Evolution could not download the media,
    # so nothing was sent.
    Rule(None, ("getaddrinfo", "enotfound", "econnrefused", "econnreset", "etimedout", "status code 404",
                "status code 403", "invalid url"), errors.ProviderRejected,
         "Evolution could not download the media from its URL; nothing was sent", code="media_unreachable"),
    Rule(frozenset({401}), None, errors.ProviderAuthError,
         "Evolution refused our API key; check EVOLUTION_GLOBAL_API_KEY and the instance token"),
    Rule(frozenset({404}), ("instance", "does not exist"), errors.InstanceNotFound,
         "this number's instance no longer exists on the Evolution server; delete the number and add it again"),
    Rule(frozenset({429}), None, errors.RateLimited, "Evolution is rate limiting; try again shortly"),
    Rule(frozenset({400, 403, 404, 413, 422}), None, errors.ProviderRejected, "Evolution refused the request: {text}",
         code="invalid_request"),
    *shared_tail(P),
)


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
    """The one mapping. `sending`: the call was a send (a 5xx may then mean the outcome is unknown)."""
    absent = not_on_whatsapp(body)
    if absent:  # 400 [{"jid", "exists": false, "number"}] — structured, not text
        return errors.ProviderRejected(f"{', '.join(absent)} is not on WhatsApp", code="not_on_whatsapp",
                                       provider="evolution", http_status=status)
    return _apply(TABLE, "evolution", status, text(body), sending=sending)

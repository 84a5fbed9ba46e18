"""GREEN-API answers → our typed errors: one table (lib.providers.error_table).

Bodies are mostly plain text and undocumented, so the status decides, and for 400 the text:
"not authorized" and "starting" are both 400 (github.com/green-api/issues/issues/571; error list:
https://green-api.com/en/docs/api/common-errors/). The partner API answers its errors as HTTP 200
`{"code", "description"}` (https://green-api.com/en/docs/partners/deleteInstanceAccount).
"""

from __future__ import annotations

from typing import Any

from lib import errors
from lib.providers.error_table import SERVER_ERRORS, Rule, shared_tail
from lib.providers.error_table import to_error as _apply

P = "GREEN-API"
_400 = frozenset({400})

TABLE: tuple[Rule, ...] = (
    Rule(_400, ("not authorized", "notauthorized"), errors.NumberDisconnected,
         "this number is not linked to WhatsApp; scan a new QR code"),
    Rule(_400, ("starting",), errors.ProviderUnavailable, "the GREEN-API instance is starting; try again in a minute"),
    Rule(_400, ("expired",), errors.ProviderAuthError,
         "the GREEN-API instance's plan has expired; renew it in the GREEN-API console"),
    Rule(_400, ("deleted",), errors.InstanceNotFound, "the GREEN-API instance was deleted; add the number again"),
    Rule(_400, None, errors.ProviderRejected, "GREEN-API refused the request: {text}"),
    Rule(frozenset({401}), None, errors.ProviderAuthError,
         "GREEN-API refused the instance token; check the number's credentials"),
    Rule(frozenset({403}), None, errors.InstanceNotFound,
         "GREEN-API does not know this instance id; check the number's credentials"),
    Rule(frozenset({429}), None, errors.RateLimited, "GREEN-API is rate limiting this number; try again shortly"),
    Rule(frozenset({466}), None, errors.RateLimited, "the GREEN-API plan's quota is used up: {text}"),
    # 500 "File from url exceeded max upload size. Size: XXXXmb Limit: 100mb" — nothing was sent.
    Rule(SERVER_ERRORS, ("exceeded max upload size",), errors.ProviderRejected,
         "the file is over GREEN-API's 100 MB limit"),
    # 499 Client Closed Request: GREEN-API gave up on us; retryable (common-errors page).
    Rule(frozenset({499}), None, errors.ProviderUnavailable, "GREEN-API failed ({status}); try again shortly"),
    *shared_tail(P),
)

PARTNER: dict[int, tuple[type[errors.ProviderError], str]] = {
    401: (errors.ProviderAuthError, "GREEN-API refused the partner token (GREEN_API_PARTNER_TOKEN)"),
    404: (errors.InstanceNotFound, "GREEN-API does not know this instance"),
}


def _text(body: Any) -> str:
    if isinstance(body, dict):
        quota = body.get("correspondentsStatus")
        if isinstance(quota, dict) and quota.get("description"):
            return str(quota["description"])
        return str(body.get("message") or body.get("description") or body.get("error") or body)
    return str(body or "")


def to_error(status: int, body: Any, *, sending: bool, retry_after: float | None = None) -> errors.ProviderError:
    return _apply(TABLE, "green-api", status, _text(body), sending=sending, retry_after=retry_after)


def partner_error(body: dict[str, Any]) -> errors.ProviderError:
    code = body.get("code")
    cls, message = PARTNER.get(code if isinstance(code, int) else -1, (
        errors.ProviderError, f"GREEN-API partner API error {code}: {str(body.get('description') or '')}"[:300]))
    return cls(message, provider="green-api", http_status=200)

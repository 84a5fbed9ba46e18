"""GREEN-API answers → our typed errors, in one table (research/greenapi.md §2 "Error codes").

Bodies are mostly plain text and undocumented, so the status decides, and for 400 the text:
"not authorized" and "starting" are both 400 (green-api/issues#571). The partner API answers its
errors as HTTP 200 `{"code", "description"}` (partners/deleteInstanceAccount).
"""

from __future__ import annotations

from typing import Any

from lib import errors

P = "green-api"


def _text(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("message") or body.get("description") or body.get("error") or body)
    return str(body or "")


def to_error(status: int, body: Any, *, sending: bool, retry_after: float | None = None) -> errors.ProviderError:
    text = _text(body)
    low = text.lower()
    if status == 400:
        if "not authorized" in low or "notauthorized" in low:
            return errors.NumberDisconnected("this number is not linked to WhatsApp; scan a new QR code",
                                             provider=P, http_status=status)
        if "starting" in low:
            return errors.ProviderUnavailable("the GREEN-API instance is starting; try again in a minute",
                                              provider=P, http_status=status)
        if "expired" in low:
            return errors.ProviderAuthError("the GREEN-API instance's plan has expired; renew it in the GREEN-API "
                                            "console", provider=P, http_status=status)
        if "deleted" in low:
            return errors.InstanceNotFound("the GREEN-API instance was deleted; add the number again",
                                           provider=P, http_status=status)
        return errors.ProviderRejected(f"GREEN-API refused the request: {text}"[:300], provider=P, http_status=status)
    if status == 401:
        return errors.ProviderAuthError("GREEN-API refused the instance token; check the number's credentials",
                                        provider=P, http_status=status)
    if status == 403:
        return errors.InstanceNotFound("GREEN-API does not know this instance id; check the number's credentials",
                                       provider=P, http_status=status)
    if status == 429:
        return errors.RateLimited("GREEN-API is rate limiting this number; try again shortly", provider=P,
                                  http_status=status, retry_after=retry_after)
    if status == 466:
        quota = body.get("correspondentsStatus", {}).get("description") if isinstance(body, dict) else None
        return errors.RateLimited(f"the GREEN-API plan's quota is used up{': ' + quota if quota else ''}",
                                  code="rate_limited", provider=P, http_status=status)
    if status >= 500 and "exceeded max upload size" in low:
        return errors.ProviderRejected("the file is over GREEN-API's 100 MB limit", provider=P, http_status=status)
    if status >= 500 and sending:
        return errors.OutcomeUnknown("GREEN-API failed while sending; the message may or may not have gone out — "
                                     "check the chat before sending again", provider=P, http_status=status)
    if status >= 499:
        return errors.ProviderUnavailable(f"GREEN-API failed ({status}); try again shortly", provider=P,
                                          http_status=status)
    return errors.ProviderError(f"GREEN-API answered {status} unexpectedly", provider=P, http_status=status)


def partner_error(body: dict[str, Any]) -> errors.ProviderError:
    code = body.get("code")
    desc = str(body.get("description") or "")
    if code == 401:
        return errors.ProviderAuthError("GREEN-API refused the partner token (GREEN_API_PARTNER_TOKEN)",
                                        provider=P, http_status=200)
    if code == 404:
        return errors.InstanceNotFound("GREEN-API does not know this instance", provider=P, http_status=200)
    return errors.ProviderError(f"GREEN-API partner API error {code}: {desc}"[:300], provider=P, http_status=200)

"""One error hierarchy for the whole bundle, mapped to HTTP in exactly one place (`http_status`).

    AppError (code, message, status)
    ├── InvalidRequest                 400  invalid_request (and invalid_json, ...)
    │   ├── UnsupportedMediaType       415  unsupported_media_type
    │   └── PayloadTooLarge            413  payload_too_large
    ├── Unauthorized                   401  unauthorized
    ├── Forbidden                      403  forbidden / provider_not_enabled
    ├── NotFound                       404  not_found / number_not_found / chat_not_found
    ├── Gone                           410  gone / media_failed
    ├── MethodNotAllowed               405  method_not_allowed
    ├── Conflict                       409  conflict / already_connected
    │   └── InProgress                 409  idempotency_key_in_progress (retryable)
    ├── TooManyRequests                429  rate_limited (our own limits: numbers added per hour)
    ├── WebhookAuthError               401  webhook_unauthorized
    ├── ConfigError                    500  config_error          (a deployment problem, never a bug)
    ├── DatabaseUnavailable            503  database_unavailable  (transient: the caller may retry)
    └── ProviderError                  502  provider_error
        ├── NotSupported               422  not_supported
        ├── ProviderRejected           422  invalid_request / not_on_whatsapp
        ├── NumberDisconnected         409  number_disconnected
        ├── InstanceNotFound           409  instance_not_found
        ├── ProviderAuthError          502  provider_auth_failed
        ├── RateLimited                429  rate_limited
        ├── ProviderUnavailable        503  provider_unreachable
        └── OutcomeUnknown             504  outcome_unknown   (a send may have reached the provider)

Every error carries a stable machine `code`, a message a person can act on, and `retryable`: can
the same request succeed if simply sent again later (a database or provider outage, a rate limit,
a request still in flight) — never for `outcome_unknown`, whose retry could send twice. Messages never
contain secrets: callers build them from our own words, not from raw provider URLs.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status = 500
    code = "internal_error"
    transient = False  # can the same request succeed later, unchanged? (`retryable` in every body)

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}

    @property
    def retryable(self) -> bool:
        return self.transient

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message, "retryable": self.retryable}
        if self.details:
            err["details"] = self.details
        return {"error": err}


class InvalidRequest(AppError):
    status = 400
    code = "invalid_request"


class UnsupportedMediaType(InvalidRequest):
    status = 415
    code = "unsupported_media_type"


class PayloadTooLarge(InvalidRequest):
    status = 413
    code = "payload_too_large"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Gone(AppError):
    """It existed and never will again (a media file that could not be stored)."""

    status = 410
    code = "gone"


class MethodNotAllowed(AppError):
    status = 405
    code = "method_not_allowed"


class Conflict(AppError):
    status = 409
    code = "conflict"


class InProgress(Conflict):
    """A replay while the request with the same Idempotency-Key is still being carried out: sent again
    a moment later, it gets that request's outcome."""

    code = "idempotency_key_in_progress"
    transient = True


class TooManyRequests(AppError):
    status = 429
    code = "rate_limited"
    transient = True


class WebhookAuthError(AppError):
    """A webhook failed authentication. `reason` is for the security log, never the response."""

    status = 401
    code = "webhook_unauthorized"

    def __init__(self, reason: str):
        super().__init__("webhook authentication failed")
        self.reason = reason


class ConfigError(AppError):
    status = 500
    code = "config_error"


class DatabaseUnavailable(AppError):
    status = 503
    code = "database_unavailable"
    transient = True


class ProviderError(AppError):
    status = 502
    code = "provider_error"

    def __init__(self, message: str, *, code: str | None = None, provider: str | None = None,
                 http_status: int | None = None, retry_after: float | None = None,
                 details: dict[str, Any] | None = None):
        super().__init__(message, code=code, details=details)
        self.provider = provider
        self.http_status = http_status
        self.retry_after = retry_after


class NotSupported(ProviderError):
    status = 422
    code = "not_supported"


class ProviderRejected(ProviderError):
    status = 422
    code = "invalid_request"


class NumberDisconnected(ProviderError):
    status = 409
    code = "number_disconnected"


class InstanceNotFound(ProviderError):
    status = 409
    code = "instance_not_found"


class ProviderAuthError(ProviderError):
    status = 502
    code = "provider_auth_failed"


class RateLimited(ProviderError):
    status = 429
    code = "rate_limited"
    transient = True


class ProviderUnavailable(ProviderError):
    status = 503
    code = "provider_unreachable"
    transient = True


class OutcomeUnknown(ProviderError):
    status = 504
    code = "outcome_unknown"


def _classes(root: type[AppError] = AppError) -> list[type[AppError]]:
    out = [root]
    for sub in root.__subclasses__():
        out.extend(_classes(sub))
    return out


def stored(code: str, message: str, status: int | None) -> AppError:
    """An error recorded earlier (a send's outcome, replayed for the same Idempotency-Key), as the
    class that raised it: the one whose default code is `code`, else a provider error of that status."""
    by_code = sorted((c for c in _classes() if c.code == code and (status is None or c.status == status)),
                     key=lambda c: not issubclass(c, ProviderError))  # a send's errors are the provider's
    # the classes the error tables raise with codes of their own (not_on_whatsapp, media_unreachable…)
    by_status = [c for c in (ProviderRejected, RateLimited, ProviderUnavailable, ProviderError) if c.status == status]
    cls = (by_code or by_status or [ProviderError])[0]
    exc = cls(message, code=code)
    exc.transient = False  # the same request replays this outcome: only a new Idempotency-Key can do better
    return exc


def of_code(code: str | None, base: type[AppError]) -> type[AppError]:
    """The class under `base` whose own code is `code` (a database error names it in its hint), else `base`."""
    return next((c for c in _classes(base) if c.code == code), base)


def http_status(exc: BaseException) -> int:
    """The single mapping from an exception to an HTTP status."""
    return exc.status if isinstance(exc, AppError) else 500

"""The error hierarchy: every class has a stable code and one HTTP status, mapped in one place."""

from __future__ import annotations

import inspect

import pytest

from lib import errors

CLASSES = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.AppError)]


def test_every_error_class_has_a_distinct_code():
    by_code: dict[str, list[str]] = {}
    for c in CLASSES:
        by_code.setdefault(c.code, []).append(c.__name__)
    shared = {code: names for code, names in by_code.items() if len(names) > 1}
    # deliberate aliases: a provider refusing our request is the caller's invalid request too (422 vs 400);
    # our own rate limit and a provider's are both `rate_limited` (429) for the client
    assert {k: sorted(v) for k, v in shared.items()} == {"invalid_request": ["InvalidRequest", "ProviderRejected"],
                                                         "rate_limited": ["RateLimited", "TooManyRequests"]}


# The HTTP status of every error class, written down: a class added without a row fails here.
STATUSES = {
    "AppError": 500, "InvalidRequest": 400, "UnsupportedMediaType": 415, "PayloadTooLarge": 413,
    "Unauthorized": 401, "Forbidden": 403, "NotFound": 404, "MethodNotAllowed": 405, "Gone": 410, "Conflict": 409, "InProgress": 409,
    "TooManyRequests": 429, "WebhookAuthError": 401, "ConfigError": 500, "DatabaseUnavailable": 503,
    "ProviderError": 502, "NotSupported": 422, "ProviderRejected": 422, "NumberDisconnected": 409,
    "InstanceNotFound": 409, "ProviderAuthError": 502, "RateLimited": 429, "ProviderUnavailable": 503,
    "OutcomeUnknown": 504,
}


def test_every_error_class_has_its_written_down_status():
    assert {c.__name__ for c in CLASSES} == set(STATUSES)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_error_maps_to_its_status_and_a_body(cls):
    exc = cls("reason") if cls is not errors.WebhookAuthError else cls("bad_signature")
    assert errors.http_status(exc) == STATUSES[cls.__name__]
    assert exc.body() == {"error": {"code": cls.code, "message": exc.message, "retryable": cls.transient}}


@pytest.mark.parametrize(("exc", "retryable"), [
    (errors.DatabaseUnavailable("x"), True), (errors.ProviderUnavailable("x"), True), (errors.RateLimited("x"), True),
    (errors.TooManyRequests("x"), True), (errors.InProgress("x"), True), (errors.OutcomeUnknown("x"), False),
    # a replayed outcome: the same request (same Idempotency-Key) gets it again, however transient its class
    (errors.stored("provider_unavailable", "x", 503), False), (errors.stored("rate_limited", "x", 429), False),
    (errors.Conflict("x", code="idempotency_key_reused"), False), (errors.InvalidRequest("x"), False),
    (errors.NumberDisconnected("x"), False), (errors.WebhookAuthError("bad_signature"), False),
])
def test_every_error_says_whether_a_retry_can_succeed(exc, retryable):
    assert exc.body()["error"]["retryable"] is retryable



def test_the_user_facing_provider_codes_exist():
    provider_codes = {c.code for c in CLASSES if issubclass(c, errors.ProviderError)}
    assert {"instance_not_found", "number_disconnected", "provider_auth_failed", "provider_unreachable",
            "rate_limited", "invalid_request", "outcome_unknown", "not_supported"} <= provider_codes
    assert errors.ProviderRejected("x", code="not_on_whatsapp").code == "not_on_whatsapp"


def test_anything_else_is_a_500():
    assert errors.http_status(RuntimeError("x")) == 500


def test_a_database_error_is_raised_as_the_class_its_hint_names():
    from lib.db import map_sqlstate  # noqa: PLC0415

    exc = map_sqlstate("WA409", "a creation with this Idempotency-Key is in progress", "idempotency_key_in_progress")
    assert isinstance(exc, errors.InProgress) and exc.body()["error"]["retryable"] is True
    other = map_sqlstate("WA409", "already connected", "already_connected")
    assert type(other) is errors.Conflict and other.code == "already_connected" and other.retryable is False

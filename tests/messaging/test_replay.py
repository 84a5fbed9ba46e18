"""A replayed send answers what the first attempt answered: the same error class, status and code
(lib.errors.stored rebuilds it from what prepare_send kept), never a re-send."""

from __future__ import annotations

import pytest

from lib import errors


@pytest.mark.parametrize(("code", "status", "cls"), [
    ("outcome_unknown", 504, errors.OutcomeUnknown),
    ("number_disconnected", 409, errors.NumberDisconnected),
    ("not_on_whatsapp", 422, errors.ProviderRejected),
    ("media_unreachable", 422, errors.ProviderRejected),
    ("rate_limited", 429, errors.RateLimited),
    ("provider_unreachable", 503, errors.ProviderUnavailable),
    ("instance_not_found", 409, errors.InstanceNotFound),
    ("provider_auth_failed", 502, errors.ProviderAuthError),
])
def test_a_stored_error_comes_back_as_its_own_class(code, status, cls):
    exc = errors.stored(code, "what the provider said", status)
    assert (type(exc), exc.code, errors.http_status(exc), exc.message) == (cls, code, status,
                                                                             "what the provider said")


def test_an_error_stored_without_a_status_keeps_its_code():
    exc = errors.stored("outcome_unknown", "x", None)
    assert type(exc) is errors.OutcomeUnknown and errors.http_status(exc) == 504

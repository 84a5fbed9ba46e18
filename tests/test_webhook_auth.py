"""lib/webhook_auth.py: Evolution's webhook JWTs, whose verification is cached per (token, secret)."""

from __future__ import annotations

import pytest

from lib.errors import WebhookAuthError
from lib.webhook_auth import sign_evolution, verify_evolution

T0 = 1_764_150_000
CURRENT, PREVIOUS = "current-secret-0123456789abcdef-0123", "previous-secret-0123456789abcdef-0123"


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_verified_once_is_still_refused_when_it_has_aged_or_expired():
    token = sign_evolution(CURRENT, iat=T0)
    assert verify_evolution(headers(token), [CURRENT], max_age=300, now=T0 + 1)["iat"] == T0
    with pytest.raises(WebhookAuthError) as too_old:
        verify_evolution(headers(token), [CURRENT], max_age=300, now=T0 + 400)
    assert too_old.value.reason == "too_old"
    with pytest.raises(WebhookAuthError) as expired:
        verify_evolution(headers(token), [CURRENT], max_age=3600, now=T0 + 700)
    assert expired.value.reason == "expired"


def test_a_token_of_a_retired_secret_is_refused_once_the_secret_is_dropped():
    token = sign_evolution(PREVIOUS, iat=T0)
    assert verify_evolution(headers(token), [CURRENT, PREVIOUS], max_age=300, now=T0)
    with pytest.raises(WebhookAuthError) as refused:
        verify_evolution(headers(token), [CURRENT], max_age=300, now=T0)
    assert refused.value.reason == "bad_signature"


def test_changing_the_returned_claims_changes_nothing_for_the_next_call():
    token = sign_evolution(CURRENT, iat=T0)
    claims = verify_evolution(headers(token), [CURRENT], max_age=300, now=T0)
    claims["app"] = "someone-else"
    assert verify_evolution(headers(token), [CURRENT], max_age=300, now=T0)["app"] == "evolution"


def test_a_malformed_token_is_refused_every_time():
    for _ in range(2):
        with pytest.raises(WebhookAuthError) as bad:
            verify_evolution(headers("not.a.jwt"), [CURRENT], max_age=300, now=T0)
        assert bad.value.reason == "malformed_token"

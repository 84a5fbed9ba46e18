"""Every retry of an Evolution webhook lands while its JWT is still inside our window: the kit's retry
schedule (.env.example) against the receiver's own check (lib.webhook_auth) with its default window."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from lib import config, errors
from lib.webhook_auth import sign_evolution, verify_evolution

KIT = Path(__file__).resolve().parents[2] / "deploy" / "evolution"
spec = importlib.util.spec_from_file_location("retry_window", KIT / "retry_window.py")
retry_window = importlib.util.module_from_spec(spec)
spec.loader.exec_module(retry_window)

SECRET = "evolution-webhook-secret-0123456789abcdef"
IMAGE_DEFAULTS = {"WEBHOOK_RETRY_MAX_ATTEMPTS": "10", "WEBHOOK_RETRY_INITIAL_DELAY_SECONDS": "5",
                  "WEBHOOK_RETRY_MAX_DELAY_SECONDS": "300", "WEBHOOK_RETRY_JITTER_FACTOR": "0.2",
                  "WEBHOOK_REQUEST_TIMEOUT_MS": "60000", "WEBHOOK_RETRY_USE_EXPONENTIAL_BACKOFF": "true"}


def refusal_at(seconds_after_first_attempt: float) -> str | None:
    """Why the receiver, configured as a deployment that does not set the window, refuses the JWT
    Evolution minted at the first attempt when a retry arrives this much later (None: accepted)."""
    iat = 1_800_000_000
    headers = {"Authorization": f"Bearer {sign_evolution(SECRET, iat=iat)}"}
    window = config.load({}).evolution_webhook_max_age_seconds
    try:
        verify_evolution(headers, [SECRET], window, now=iat + seconds_after_first_attempt)
    except errors.WebhookAuthError as exc:
        return exc.reason
    return None


def test_the_last_retry_of_the_kits_schedule_is_still_accepted():
    env = retry_window.read_env(KIT / ".env.example")
    # Worst case: every wait at +jitter and every attempt timing out, the last one included.
    assert refusal_at(retry_window.worst_case_seconds(env)) is None


def test_the_images_default_schedule_would_retry_with_a_refused_jwt():
    """Why the kit sets the schedule: left to the image, the late retries are all refused (401)."""
    # past the token's own `exp` (Evolution signs one for 10 minutes), not a bad signature or a malformed token
    assert refusal_at(retry_window.last_attempt_starts_after(IMAGE_DEFAULTS)) == "expired"


def test_the_worst_case_adds_every_wait_at_full_jitter_and_every_timeout():
    env = {"WEBHOOK_RETRY_MAX_ATTEMPTS": "3", "WEBHOOK_RETRY_INITIAL_DELAY_SECONDS": "10",
           "WEBHOOK_RETRY_MAX_DELAY_SECONDS": "15", "WEBHOOK_RETRY_JITTER_FACTOR": "0.5",
           "WEBHOOK_REQUEST_TIMEOUT_MS": "2000", "WEBHOOK_RETRY_USE_EXPONENTIAL_BACKOFF": "true"}
    # waits: min(10, 15) x 1.5 = 15, then min(20, 15) x 1.5 = 22.5; three attempts of 2 s each
    assert retry_window.delays(env) == [15.0, 22.5]
    assert retry_window.last_attempt_starts_after(env) == pytest.approx(15 + 22.5 + 2 * 2)
    assert retry_window.worst_case_seconds(env) == pytest.approx(15 + 22.5 + 3 * 2)


def test_the_floor_and_the_cap_apply():
    env = {**IMAGE_DEFAULTS, "WEBHOOK_RETRY_INITIAL_DELAY_SECONDS": "1", "WEBHOOK_RETRY_MAX_ATTEMPTS": "4",
           "WEBHOOK_RETRY_MAX_DELAY_SECONDS": "3", "WEBHOOK_RETRY_JITTER_FACTOR": "0"}
    assert retry_window.delays(env) == [5.0, 5.0, 5.0]

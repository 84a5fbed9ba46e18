"""Every retry of an Evolution webhook lands while its JWT is still inside our window."""

from __future__ import annotations

import importlib.util
from pathlib import Path

KIT = Path(__file__).resolve().parents[2] / "deploy" / "evolution"
spec = importlib.util.spec_from_file_location("retry_window", KIT / "retry_window.py")
retry_window = importlib.util.module_from_spec(spec)
spec.loader.exec_module(retry_window)

WINDOW = 300  # EVOLUTION_WEBHOOK_MAX_AGE_SECONDS default
IMAGE_DEFAULTS = {"WEBHOOK_RETRY_MAX_ATTEMPTS": "10", "WEBHOOK_RETRY_INITIAL_DELAY_SECONDS": "5",
                  "WEBHOOK_RETRY_MAX_DELAY_SECONDS": "300", "WEBHOOK_RETRY_JITTER_FACTOR": "0.2",
                  "WEBHOOK_REQUEST_TIMEOUT_MS": "60000", "WEBHOOK_RETRY_USE_EXPONENTIAL_BACKOFF": "true"}


def test_our_schedule_fits_the_window_with_margin():
    env = retry_window.read_env(KIT / ".env.example")
    assert retry_window.delays(env) == [6.0, 12.0, 24.0, 48.0, 72.0]
    assert retry_window.last_attempt_starts_after(env) == 212.0
    assert retry_window.worst_case_seconds(env) == 222.0
    assert retry_window.worst_case_seconds(env) < WINDOW - 30


def test_the_images_default_schedule_does_not_fit():
    assert retry_window.worst_case_seconds(IMAGE_DEFAULTS) > WINDOW * 4


def test_the_floor_and_the_cap_apply():
    env = {**IMAGE_DEFAULTS, "WEBHOOK_RETRY_INITIAL_DELAY_SECONDS": "1", "WEBHOOK_RETRY_MAX_ATTEMPTS": "4",
           "WEBHOOK_RETRY_MAX_DELAY_SECONDS": "3", "WEBHOOK_RETRY_JITTER_FACTOR": "0"}
    assert retry_window.delays(env) == [5.0, 5.0, 5.0]

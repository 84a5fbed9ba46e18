"""The worst-case span of Evolution's webhook retries, from its settings.

Evolution (v2.3.x, retryWebhookRequest): up to WEBHOOK_RETRY_MAX_ATTEMPTS attempts; after the n-th
failure it waits min(initial * 2^(n-1), max) seconds (or `initial` without exponential backoff),
plus or minus JITTER_FACTOR, never less than 5 s; each attempt may take WEBHOOK_REQUEST_TIMEOUT_MS.
The JWT it signs with `jwt_key` is minted once per event, so the last attempt must start before our
receiver's window (EVOLUTION_WEBHOOK_MAX_AGE_SECONDS, 300 s) closes.

    python deploy/evolution/retry_window.py deploy/evolution/.env.example
"""

from __future__ import annotations

import sys
from pathlib import Path

FLOOR_SECONDS = 5.0


def read_env(path: str | Path) -> dict[str, str]:
    out = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def delays(env: dict[str, str]) -> list[float]:
    """The longest wait after each failed attempt (maximum positive jitter)."""
    attempts = int(env["WEBHOOK_RETRY_MAX_ATTEMPTS"])
    initial = float(env["WEBHOOK_RETRY_INITIAL_DELAY_SECONDS"])
    cap = float(env["WEBHOOK_RETRY_MAX_DELAY_SECONDS"])
    jitter = float(env["WEBHOOK_RETRY_JITTER_FACTOR"])
    exponential = env.get("WEBHOOK_RETRY_USE_EXPONENTIAL_BACKOFF", "true").lower() == "true"
    out = []
    for n in range(1, attempts):
        base = min(initial * 2 ** (n - 1), cap) if exponential else initial
        out.append(max(FLOOR_SECONDS, base * (1 + jitter)))
    return out


def last_attempt_starts_after(env: dict[str, str]) -> float:
    """Seconds from the first attempt (the JWT's iat) to the start of the last one, worst case."""
    timeout = float(env["WEBHOOK_REQUEST_TIMEOUT_MS"]) / 1000
    waits = delays(env)
    return sum(waits) + timeout * len(waits)


def worst_case_seconds(env: dict[str, str]) -> float:
    """Until the last attempt gives up: every wait at +jitter, every attempt timing out."""
    return last_attempt_starts_after(env) + float(env["WEBHOOK_REQUEST_TIMEOUT_MS"]) / 1000


if __name__ == "__main__":
    env = read_env(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name(".env.example"))
    print(f"waits {[round(d, 1) for d in delays(env)]} s; "
          f"last attempt starts by {last_attempt_starts_after(env):.0f} s; all done by {worst_case_seconds(env):.0f} s")

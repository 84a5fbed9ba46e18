"""Cost of one JSON log line as the number of known secrets grows (every number's token is one).

    .venv/bin/python -m bench.log_cost
"""

from __future__ import annotations

import io
import logging
import secrets
import time

from lib import log


def per_line_us(n_lines: int = 20_000) -> float:
    stream = io.StringIO()
    logger = logging.getLogger("bench.log_cost")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(log._Formatter("{message}", style="{"))
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    extra = {"provider": "evolution", "event_type": "messages.upsert", "instance": "inbox-7b1d", "inserted": 1,
             "path": "/api/v1/webhooks/evolution/7b1d0a52-2f0c-4f55-9d7e-3c9a8f1e2b44"}
    started = time.perf_counter()
    for _ in range(n_lines):
        logger.info("webhook applied", extra=extra)
    return (time.perf_counter() - started) / n_lines * 1e6


def main() -> None:
    known = 0
    for target in (0, 1_000, 5_000, 20_000):
        for _ in range(target - known):
            log.register_secret(secrets.token_hex(24))
        known = target
        print(f"{target:>6} secrets known: {per_line_us():6.1f} µs per log line")


if __name__ == "__main__":
    main()

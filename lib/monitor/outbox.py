"""Delivering the alert outbox (private.alert_outbox), from the crons.

Each due message is claimed with a lease (`alert_outbox_claim`: `for update skip locked`), sent
through its channel, and finished by the lease holder only (`alert_outbox_finish`): sent; or
unconfigured — the channel is not set up, so the alert is logged (`"alert": true`) and kept as a
record; or failed — retried at the next run, then with back-off (1, 2, 4 ... minutes, at most an
hour). A message is sent at most once per claim; only a crash between the send and the finish
(the lease then expires, 2 minutes) can repeat one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lib import db, log
from lib.monitor.notify import email, slack

_log = log.get("alerts")
LEASE_SECONDS = 120


class Channel:
    def __init__(self, configured: Callable[[], bool], send: Callable[[str, str], None]):
        self.configured = configured
        self.send = send


CHANNELS: dict[str, Channel] = {
    "email": Channel(email.configured, lambda t, b: email.send(t, b)),
    "slack": Channel(slack.configured, lambda t, b: slack.send(t, b)),
}


def deliver(deadline: float | None = None, limit: int = 50) -> dict[str, int]:
    """Send what is due; returns counts by outcome."""
    counts = {"sent": 0, "failed": 0, "unconfigured": 0}
    rows: list[dict[str, Any]] = db.call("alert_outbox_claim", p_limit=limit, p_lease_seconds=LEASE_SECONDS) or []
    for row in rows:
        if deadline is not None and time.monotonic() > deadline:
            break  # the lease runs out and the next run takes it
        outcome, error = _send(row)
        db.call("alert_outbox_finish", p_id=row["id"], p_lease=row["lease"], p_outcome=outcome, p_error=error)
        counts[outcome] += 1
    return counts


def _send(row: dict[str, Any]) -> tuple[str, str | None]:
    channel = CHANNELS[row["channel"]]
    fields = {"alert": True, "channel": row["channel"], "rule": row["rule"], "subject": row["subject"],
              "kind": row["kind"], "outbox_id": row["id"], "title": row["title"], "body": row["body"]}
    if not channel.configured():
        _log.warning("alert recorded; channel not configured", extra=fields)
        return "unconfigured", None
    try:
        channel.send(row["title"], row["body"])
    except Exception as exc:
        error = log.redact(f"{type(exc).__name__}: {exc}")[:500]
        _log.warning("alert delivery failed; will retry", extra={**fields, "error": error,
                                                                  "attempts": row["attempts"]})
        return "failed", error
    _log.info("alert sent", extra={k: v for k, v in fields.items() if k != "body"})
    return "sent", None

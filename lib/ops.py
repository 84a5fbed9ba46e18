"""Operator commands.

    python -m lib.ops replay-dead-letters [--limit N] [--reason R]
    python -m lib.ops resync-webhooks --provider evolution|green-api

Re-applies dead letters (webhooks we authenticated but could not apply: a number unknown at the
time, an event our code could not read) through the same normalize-and-ingest path as live
webhooks. Replaying is idempotent: anything already applied is recognised by its unique key.
A letter that still cannot be applied waits longer each time (1, 2, 4 … minutes, at most a day)
and after 8 attempts ends `failed`, with its last error: letters never starve each other.
Uses the same configuration as the functions (DATABASE_URL or SUPABASE_URL + key).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lib import db, log
from lib.errors import AppError
from lib.webhooks.ingest import Unprocessable, apply, ingest_events

_log = log.get("ops")


def replay_dead_letters(limit: int = 100, reason: str | None = None) -> dict[str, int]:
    counts = {"replayed": 0, "still_failing": 0, "not_replayable": 0}
    for letter in db.call("dead_letters_due", p_limit=limit, p_reason=reason):
        outcome, error = _replay_one(letter)
        counts[outcome] += 1
        db.call("finish_dead_letter", p_id=letter["id"], p_replayed=outcome == "replayed", p_error=error,
                p_final=outcome == "not_replayable")
    return counts


def resync_webhooks(provider_name: str) -> dict[str, int]:
    """Point every live number's webhook at us again, with the current secret / token: after
    rotating EVOLUTION_WEBHOOK_SECRET, or to give legacy GREEN-API numbers their per-number token."""
    from lib.providers import provider  # noqa: PLC0415
    from lib.providers.base import NumberRef  # noqa: PLC0415

    prov = provider(provider_name)
    counts = {"configured": 0, "failed": 0}
    for n in db.call("live_numbers_with_secrets", p_provider=provider_name):
        ref = NumberRef.from_row(n, provider_name)
        try:
            prov.configure_webhook(ref)
            counts["configured"] += 1
        except AppError as exc:
            counts["failed"] += 1
            _log.warning("webhook not re-set", extra={"number_id": n["id"], "code": exc.code})
    return counts


def _replay_one(letter: dict[str, Any]) -> tuple[str, str | None]:
    payload = letter["payload"]
    if letter["reason"] == "malformed_json" or not isinstance(payload, (dict, list)):
        return "not_replayable", "the body was not JSON; inspect it by hand"
    try:
        if isinstance(payload, list):  # an unknown number's letter keeps the normalized events
            result = ingest_events(letter["provider"], letter.get("instance"), letter.get("number_id"), None, payload,
                                   letter.get("event_type"), dead_letter=False)
        else:
            result = apply(letter["provider"], payload, letter.get("number_id"), None, dead_letter=False)
    except Unprocessable as exc:
        return "still_failing", f"{exc.reason}: {exc.error or ''}".strip(": ")
    except AppError as exc:
        return "still_failing", f"{exc.code}: {exc.message}"
    if result.get("result") in ("ok", "ignored", "dropped"):
        return "replayed", None
    return "still_failing", str(result.get("reason") or result.get("result"))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m lib.ops")
    sub = parser.add_subparsers(dest="cmd", required=True)
    replay = sub.add_parser("replay-dead-letters", help="re-apply dead-lettered webhooks")
    replay.add_argument("--limit", type=int, default=100)
    replay.add_argument("--reason", default=None, help="only letters with this reason (e.g. unknown_number)")
    resync = sub.add_parser("resync-webhooks", help="re-point every number's webhook at this deployment")
    resync.add_argument("--provider", required=True, choices=["evolution", "green-api"])
    args = parser.parse_args(argv)
    log.configure()
    counts = (resync_webhooks(args.provider) if args.cmd == "resync-webhooks"
              else replay_dead_letters(args.limit, args.reason))
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

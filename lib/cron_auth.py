"""The scheduler's credential: Vercel Cron sends `Authorization: Bearer $CRON_SECRET`.

Apart from `lib.auth` (users' access tokens) so that the cron functions do not import PyJWT and
`cryptography` for a constant-time string comparison (~55 ms of their cold start)."""

from __future__ import annotations

import hmac

from lib import config
from lib.errors import Unauthorized
from lib.http import Request


def is_cron(req: Request) -> bool:
    """Does the request carry `Authorization: Bearer $CRON_SECRET`? (Vercel Cron sends exactly that.)"""
    secret = config.settings().cron_secret
    value = req.header("Authorization") or ""
    return bool(secret) and hmac.compare_digest(value.encode(), f"Bearer {secret}".encode())


def require_cron(req: Request) -> None:
    """401 unless the scheduler is calling."""
    if not is_cron(req):
        raise Unauthorized("this endpoint is for the scheduler", code="unauthorized")

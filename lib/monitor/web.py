"""What the metrics endpoint and the status page share: who may read them.

Readers present `Authorization: Bearer <METRICS_TOKEN or CRON_SECRET>`. A browser cannot set a
header, so the status page also takes `?token=<METRICS_TOKEN>` once: it answers 303 to the same page without the
token (it does not stay in the address bar or history) and sets an HttpOnly, SameSite=Strict
cookie holding an HMAC of the token — never the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING

from lib import config
from lib.errors import Unauthorized

if TYPE_CHECKING:
    from lib.http import Request

COOKIE = "wa_status"
COOKIE_MAX_AGE = 12 * 3600


def _tokens() -> list[str]:
    s = config.settings()
    return [t for t in (s.metrics_token, s.cron_secret) if t]


def _cookie_value(token: str) -> str:
    return hmac.new(token.encode(), b"wa-inbox status page cookie v1", hashlib.sha256).hexdigest()


def _bearer_ok(req: Request) -> bool:
    value = (req.header("Authorization") or "").encode()
    return any(hmac.compare_digest(value, f"Bearer {t}".encode()) for t in _tokens())


def _cookie_ok(req: Request) -> bool:
    jar = SimpleCookie()
    try:
        jar.load(req.header("Cookie") or "")
    except Exception:
        return False
    morsel = jar.get(COOKIE)
    if morsel is None:
        return False
    return any(hmac.compare_digest(morsel.value.encode(), _cookie_value(t).encode()) for t in _tokens())


def require_reader(req: Request, allow_cookie: bool = False) -> None:
    if _bearer_ok(req) or (allow_cookie and _cookie_ok(req)):
        return
    raise Unauthorized("send `Authorization: Bearer <METRICS_TOKEN>` (or open the page once with ?token=)",
                       code="unauthorized")


def token_login(req: Request) -> dict[str, str] | None:
    """?token=<valid token>: the headers of a 303 back to the page without it, with the cookie set."""
    given = req.query.get("token")
    if given is None:
        return None
    # METRICS_TOKEN only: a token in an address ends up in browser history and request logs, and
    # CRON_SECRET also runs the crons.
    match = config.settings().metrics_token
    if not match or not hmac.compare_digest(given.encode(), match.encode()):
        raise Unauthorized("the token is not valid (open the page with METRICS_TOKEN)", code="unauthorized")
    secure = "; Secure" if (req.header("X-Forwarded-Proto") or "").lower() == "https" else ""
    cookie = (f"{COOKIE}={_cookie_value(match)}; Path={req.path}; Max-Age={COOKIE_MAX_AGE}; HttpOnly; "
              f"SameSite=Strict{secure}")
    return {"Location": req.path, "Set-Cookie": cookie}

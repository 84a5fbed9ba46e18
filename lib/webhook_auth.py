"""Authenticate provider webhooks from headers and raw bytes, before any parsing.

Each verifier has a signing twin, used by the simulators and the tests, so what is checked is
exactly what is produced (the standardwebhooks pattern). This module sits below the providers and
the webhook pipeline: it imports neither.

Evolution API: it signs nothing over the body. A per-instance webhook whose `headers` carry
`jwt_key` makes Evolution send `Authorization: Bearer <JWT>`, HS256 with that key, claims
`{iat, exp: iat+600, app: "evolution", action: "webhook"}`, minted once per event and reused by
its retries (src/api/integrations/event/webhook/webhook.controller.ts, v2.3.6). Each number's
webhook has a key of its own derived from our secret (`evolution_number_key`) and its id in the URL,
so a token proves its number before the body is parsed. We accept the current and the previous
secret (rotation) and reject an `iat` older than our window; since Evolution reuses one JWT for all
retries of an event, the retry schedule of the server kit ends inside that window
(deploy/evolution/retry_window.py checks the arithmetic).

GREEN-API: it sends `Authorization: Bearer <webhookUrlToken>` (GREEN-API's own receivers strip the
`Bearer ` prefix: whatsapp-api-webhook-server-golang pkg/webhook.go). We give every number its own
token `<number_id>.<HMAC-SHA256(WEBHOOK_TOKEN_SECRET, "green-api:" + number_id)>`, so the token
names and proves its number with no database lookup (one round trip per webhook stays one).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import time
import uuid
from collections.abc import Mapping
from types import MappingProxyType

import jwt

from lib import config
from lib.errors import WebhookAuthError

CLOCK_SKEW_SECONDS = 5
EVOLUTION_JWT_TTL = 600  # Evolution's exp = iat + 600


def _bearer(headers: Mapping[str, str]) -> str:
    value = (headers.get("Authorization") or headers.get("authorization") or "").strip()
    if not value:
        raise WebhookAuthError("missing_authorization")
    scheme, _, token = value.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if " " not in value:  # GREEN-API documents the token itself; accept it bare too
        return value
    raise WebhookAuthError("malformed_authorization")


# -- Evolution ---------------------------------------------------------------------------------
def sign_evolution(secret: str, iat: int | None = None, ttl: int = EVOLUTION_JWT_TTL, **extra) -> str:
    issued = int(time.time()) if iat is None else iat
    claims = {"iat": issued, "exp": issued + ttl, "app": "evolution", "action": "webhook", **extra}
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_evolution(headers: Mapping[str, str], secrets: list[str], max_age: int, now: float | None = None) -> dict:
    token = _bearer(headers)
    if not secrets:
        raise WebhookAuthError("no_secret_configured")
    now = time.time() if now is None else now
    claims = next((c for c in (_signed_claims(token, secret) for secret in secrets) if c is not None), None)
    if claims is None:
        raise WebhookAuthError("bad_signature")
    if not (hmac.compare_digest(str(claims.get("app")), "evolution")
            and hmac.compare_digest(str(claims.get("action")), "webhook")):
        raise WebhookAuthError("wrong_claims")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, (int, float)) or not isinstance(exp, (int, float)):
        raise WebhookAuthError("malformed_token")
    if exp + CLOCK_SKEW_SECONDS < now:
        raise WebhookAuthError("expired")
    if iat > now + CLOCK_SKEW_SECONDS:
        raise WebhookAuthError("issued_in_future")
    if now - iat > max_age + CLOCK_SKEW_SECONDS:
        raise WebhookAuthError("too_old")
    return dict(claims)


@functools.lru_cache(maxsize=4096)
def _signed_claims(token: str, secret: str) -> MappingProxyType | None:
    """The token's claims if `secret` signed it, None if it did not. A pure function of its arguments,
    so it is cached: Evolution mints one token per event with `iat` in whole seconds, so every event
    of a number in the same second, and every retry of an event, carries the same token (a verification
    is 9 % of the webhook path's CPU under load). Times are checked on every call, by the caller;
    a malformed token raises and is not cached."""
    try:
        return MappingProxyType(jwt.decode(token, secret, algorithms=["HS256"],
                                           options={"require": ["iat", "exp"], "verify_iat": False,
                                                    "verify_exp": False}))
    except jwt.InvalidSignatureError:
        return None
    except jwt.PyJWTError:
        raise WebhookAuthError("malformed_token") from None


def evolution_number_key(secret: str, number_id: str) -> str:
    """The `jwt_key` one number's Evolution webhook is configured with: HMAC-SHA256 of its id under
    our secret. Evolution returns a webhook's `jwt_key` in clear from GET /webhook/find/{instance};
    a key read back there opens that one number's webhook, nobody else's."""
    return hmac.new(secret.encode(), f"evolution:{uuid.UUID(number_id)}".encode(), hashlib.sha256).hexdigest()


def number_id(value: str) -> str:
    """A number id named by a webhook URL; WebhookAuthError when it cannot be one."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        raise WebhookAuthError("malformed_number_id") from None


def evolution_secrets() -> list[str]:
    s = config.settings()
    return [v for v in (s.evolution_webhook_secret, s.evolution_webhook_secret_previous) if v]


# -- GREEN-API ---------------------------------------------------------------------------------
def _mac(secret: str, number_id: str) -> str:
    digest = hmac.new(secret.encode(), f"green-api:{number_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def greenapi_token(number_id: str, secret: str | None = None) -> str:
    """The webhookUrlToken we give GREEN-API for this number."""
    secret = secret or config.require(config.settings().webhook_token_secret, "WEBHOOK_TOKEN_SECRET")
    return f"{uuid.UUID(number_id)}.{_mac(secret, str(uuid.UUID(number_id)))}"


def verify_greenapi(headers: Mapping[str, str], secrets: list[str]) -> str:
    """The number id the token proves; WebhookAuthError otherwise."""
    token = _bearer(headers)
    if not secrets:
        raise WebhookAuthError("no_secret_configured")
    number_id, _, mac = token.partition(".")
    try:
        number_id = str(uuid.UUID(number_id))
    except ValueError:
        raise WebhookAuthError("malformed_token") from None
    if not any(hmac.compare_digest(mac.encode(), _mac(s, number_id).encode()) for s in secrets):
        raise WebhookAuthError("bad_token")
    return number_id


def greenapi_secrets() -> list[str]:
    s = config.settings()
    return [v for v in (s.webhook_token_secret, s.webhook_token_secret_previous) if v]

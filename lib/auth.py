"""Who is calling: Supabase access tokens verified locally (the cron secret: lib/cron_auth.py).

Access tokens are verified without a network round trip on the request path: HS256 with the
project's JWT secret (legacy Supabase keys), or ES256/RS256 against the project's JWKS, fetched
once and cached by PyJWT's PyJWKClient (Supabase's newer asymmetric signing keys carry a `kid`).
`aud` must be "authenticated" and `exp` in the future; the user is `sub`.
"""

from __future__ import annotations

import threading
import uuid

import jwt

from lib import config
from lib.errors import ConfigError, Unauthorized
from lib.http import Request

_jwks_lock = threading.Lock()
_jwks: jwt.PyJWKClient | None = None
_jwks_url: str | None = None
LEEWAY_SECONDS = 10


def _jwk_client(url: str) -> jwt.PyJWKClient:
    global _jwks, _jwks_url
    with _jwks_lock:
        if _jwks is None or _jwks_url != url:
            _jwks = jwt.PyJWKClient(url, cache_keys=True, lifespan=600, timeout=3)
            _jwks_url = url
        return _jwks


def _bearer(req: Request) -> str:
    value = req.header("Authorization") or ""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("sign in: send `Authorization: Bearer <access token>`", code="unauthorized")
    return token.strip()


def user_id(req: Request) -> str:
    """The caller's user id; 401 for a missing, malformed, expired or foreign token."""
    token = _bearer(req)
    s = config.settings()
    try:
        header = jwt.get_unverified_header(token)
        alg = header.get("alg")
        if alg == "HS256":
            if not s.supabase_jwt_secret:
                raise ConfigError("environment variable SUPABASE_JWT_SECRET is not set",
                                  details={"variable": "SUPABASE_JWT_SECRET"})
            key = s.supabase_jwt_secret
        elif alg in ("ES256", "RS256") and s.jwks_url:
            key = _jwk_client(s.jwks_url).get_signing_key_from_jwt(token).key
        else:
            raise Unauthorized("the access token is signed with an unsupported algorithm", code="invalid_token")
        claims = jwt.decode(token, key, algorithms=[alg], audience="authenticated", leeway=LEEWAY_SECONDS,
                            options={"require": ["exp", "sub", "aud"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the access token has expired; sign in again", code="token_expired") from None
    except jwt.PyJWKClientError:
        raise Unauthorized("the access token's signing key is unknown", code="invalid_token") from None
    except jwt.PyJWTError:
        raise Unauthorized("the access token is not valid", code="invalid_token") from None
    try:
        return str(uuid.UUID(str(claims["sub"])))
    except ValueError:
        raise Unauthorized("the access token names no user", code="invalid_token") from None

"""Access tokens signed the way Supabase Auth signs them (HS256 with the project's JWT secret)."""

from __future__ import annotations

import time
import uuid

import jwt


def user_token(secret: str, user_id: str, ttl: int = 3600, role: str = "authenticated",
               email: str | None = None, now: int | None = None) -> str:
    issued = int(time.time()) if now is None else now
    claims = {
        "sub": str(uuid.UUID(user_id)),
        "aud": "authenticated",
        "role": role,
        "iat": issued,
        "exp": issued + ttl,
        "iss": "supabase",
        "session_id": str(uuid.uuid4()),
    }
    if email:
        claims["email"] = email
    return jwt.encode(claims, secret, algorithm="HS256")

"""Upstash Redis (REST) for fast de-duplication markers — optional and never required.

Every operation is best-effort: with Redis unset, down or slow, it answers "not seen" / does
nothing, and the database's unique keys alone keep webhooks exactly-once. The SDK's own HTTP client
has no timeout and retries after 3 s (upstash_redis/http.py, 1.8.0), so we build it with no
retries and give it a 1 s timeout.
"""

from __future__ import annotations

import threading

from lib import config, log

_log = log.get("redis")
_lock = threading.Lock()
_client = None
_client_key: tuple[str, str] | None = None
TIMEOUT_SECONDS = 1.0



def client():
    """The Upstash client, or None when Redis is not configured."""
    global _client, _client_key
    s = config.settings()
    if not (s.upstash_redis_rest_url and s.upstash_redis_rest_token):
        return None
    key = (s.upstash_redis_rest_url, s.upstash_redis_rest_token)
    with _lock:
        if _client is None or _client_key != key:
            import httpx  # noqa: PLC0415
            from upstash_redis import Redis  # noqa: PLC0415

            log.register_secret(s.upstash_redis_rest_token)
            redis = Redis(s.upstash_redis_rest_url, s.upstash_redis_rest_token, rest_encoding=None,
                          rest_retries=0, allow_telemetry=False, read_your_writes=False)
            redis._http._client = httpx.Client(timeout=httpx.Timeout(TIMEOUT_SECONDS))  # SDK default: no timeout
            _client, _client_key = redis, key
        return _client


def reset() -> None:
    global _client, _client_key
    with _lock:
        _client, _client_key = None, None


def seen(key: str) -> bool:
    """Was this marker written (after a committed write)? False when unknown."""
    redis = client()
    if redis is None:
        return False
    try:
        return redis.get(key) is not None
    except Exception as exc:  # Redis is an optimisation: any failure means "not seen"
        _log.warning("redis unavailable", extra={"op": "get", "error": type(exc).__name__})
        return False


def mark(key: str, ttl_seconds: int = 86_400) -> None:
    """Write a marker; call only after the database committed what it stands for."""
    redis = client()
    if redis is None:
        return
    try:
        redis.set(key, "1", ex=ttl_seconds)
    except Exception as exc:
        _log.warning("redis unavailable", extra={"op": "set", "error": type(exc).__name__})

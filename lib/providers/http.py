"""What both provider clients share: one pooled, thread-safe httpx client with explicit timeouts,
and reading a response body that may be JSON, text or garbage."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from lib import config

_lock = threading.Lock()
_client: httpx.Client | None = None
_client_key: tuple[float, float] | None = None


def client() -> httpx.Client:
    global _client, _client_key
    s = config.settings()
    key = (s.provider_connect_timeout, s.provider_read_timeout)
    with _lock:
        if _client is None or _client_key != key:
            _client = httpx.Client(
                timeout=httpx.Timeout(s.provider_read_timeout, connect=s.provider_connect_timeout, pool=2.0),
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
                headers={"User-Agent": "wa-inbox-backend"})
            _client_key = key
        return _client


def body(resp: httpx.Response) -> Any:
    """The parsed JSON body, or the text when it is not JSON (None when empty)."""
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        return resp.text

"""Downloading a media file from a link a provider gave us (GREEN-API's `downloadUrl`, Evolution's
S3 `mediaUrl`): streamed, with the size capped while reading, so an oversized file is refused before
it is all in memory. The URL is never logged (storage links carry signatures)."""

from __future__ import annotations

import time

import httpx

from lib import log
from lib.errors import PayloadTooLarge, ProviderError, ProviderRejected, ProviderUnavailable
from lib.providers import http
from lib.providers.base import MediaBytes

_log = log.get("provider")
EXPIRED_STATUSES = (401, 403, 404, 410)  # an expired or revoked storage link


class LinkExpired(ProviderRejected):
    """The link no longer serves the file: ask the provider for a fresh one."""

    code = "media_link_expired"


def download(url: str, max_bytes: int, provider: str) -> MediaBytes:
    started = time.monotonic()
    status: int | None = None
    try:
        with http.client().stream("GET", url, follow_redirects=True) as resp:
            status = resp.status_code
            if status in EXPIRED_STATUSES:
                raise LinkExpired("the media link has expired", provider=provider, http_status=status)
            if status != 200:
                raise (ProviderUnavailable if status >= 500 or status == 429 else ProviderError)(
                    f"the media link answered {status}", provider=provider, http_status=status)
            declared = int(resp.headers.get("Content-Length") or 0)
            if declared > max_bytes:
                raise PayloadTooLarge(f"the file is {declared} bytes, over the limit of {max_bytes} bytes",
                                      code="media_too_large")
            chunks, total = [], 0
            for chunk in resp.iter_bytes():
                total += len(chunk)
                if total > max_bytes:
                    raise PayloadTooLarge(f"the file exceeds the limit of {max_bytes} bytes", code="media_too_large")
                chunks.append(chunk)
            ctype = (resp.headers.get("Content-Type") or "").strip() or None
            return MediaBytes(b"".join(chunks), ctype, None)
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"the media link could not be read ({type(exc).__name__})",
                                  provider=provider) from None
    finally:
        _log.info("media download", extra={"provider": provider, "http_status": status,
                                           "latency_ms": round((time.monotonic() - started) * 1000, 2)})

"""The base of every `api/**.py` handler: JSON in and out, request ids, limits, one error boundary.

A route file holds `class handler(JsonHandler)` (Vercel detects the class statically) and defines
`get` / `post` / `delete` ... taking a `Request` and returning a `Response`, a `(status, body)`
pair or a dict (200). Methods it does not define answer 405 with `Allow`. Errors raised as
`lib.errors.AppError` become `{"error": {"code", "message"}}` with their status; anything else is
logged (redacted) and answered as a 500 without internals.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lib import errors, log

MAX_BODY_BYTES = 4_500_000  # Vercel's request body limit (4.5 MB)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_REQUEST_ID_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")
_log = log.get("http")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Any  # email.message.Message: case-insensitive .get()
    body: bytes
    client: str
    request_id: str

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    def json(self) -> Any:
        ctype = (self.header("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json" and not ctype.endswith("+json"):
            raise errors.UnsupportedMediaType("send the body as application/json")
        if not self.body:
            raise errors.InvalidRequest("the request body is empty", code="invalid_json")
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise errors.InvalidRequest(f"the body is not valid JSON: {exc}", code="invalid_json") from None
        except RecursionError:
            raise errors.InvalidRequest("the body is nested too deeply", code="invalid_json") from None
        if _unstorable(data):
            raise errors.InvalidRequest("the body contains characters that cannot be stored (NUL, or half of a "
                                        "surrogate pair)", code="invalid_characters")
        return data

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise errors.InvalidRequest("the body must be a JSON object", code="invalid_json")
        return data


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable(value: Any) -> bool:
    """Does any string (or key) hold what PostgreSQL text cannot: NUL or a lone UTF-16 surrogate?"""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-serialisable, None for no body, or a Raw body written as it is
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Raw:
    """A body that is not JSON (the status page's HTML, Prometheus text), written as it is."""

    content_type: str
    data: bytes


def _body_length(headers: Any) -> int | None:
    raw = headers.get("Content-Length")
    if raw is None:
        return None
    try:
        n = int(raw)
    except ValueError:
        raise errors.InvalidRequest("Content-Length is not a number") from None
    if n < 0:
        raise errors.InvalidRequest("Content-Length is negative")
    return n


_SEGMENT_PARAM = re.compile(r"\[([A-Za-z_][A-Za-z0-9_]*)\]")


@lru_cache(maxsize=256)
def _route_of(file: str) -> tuple[re.Pattern[str], tuple[str, ...]] | None:
    """The URL pattern of a route file (`.../api/v1/numbers/[id].py` -> `^/api/v1/numbers/([^/]+)/?$`),
    or None when the file has no `[param]` segment."""
    parts = Path(file).with_suffix("").parts
    if "api" not in parts:
        return None
    parts = parts[len(parts) - 1 - parts[::-1].index("api"):]
    names = tuple(m.group(1) for p in parts if (m := _SEGMENT_PARAM.fullmatch(p)))
    if not names:
        return None
    regex = "/".join("([^/]+)" if _SEGMENT_PARAM.fullmatch(p) else re.escape(p) for p in parts)
    return re.compile(f"^/{regex}/?$"), names


def _path_params(handler_cls: type, path: str) -> dict[str, str]:
    """The `[param]` values in the request path. Vercel rewrites them into the query (`?id=$1`), but a
    request's own `?id=` wins that merge (vercel dev: `Object.assign(destQuery, reqQuery)`), so the
    path itself decides. A value that is the placeholder itself means the runtime saw the rewritten
    path: then the query is all there is."""
    for cls in handler_cls.__mro__:
        file = getattr(sys.modules.get(cls.__module__), "__file__", None)
        route = _route_of(file) if file else None
        if route:
            m = route[0].match(path)
            if not m:
                return {}
            return {k: v for k, v in zip(route[1], m.groups(), strict=True) if v != f"[{k}]"}
    return {}


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries Content-Length
    max_body_bytes = MAX_BODY_BYTES

    def version_string(self) -> str:
        return "wa-inbox"

    # -- dispatch -----------------------------------------------------------------------------
    def _allowed(self) -> list[str]:
        allowed = [m for m in METHODS if callable(getattr(self, m.lower(), None))]
        return [*allowed, "HEAD"] if "GET" in allowed else allowed

    def _method_fn(self, method: str) -> Callable[[Request], Any] | None:
        """The route's method; HEAD is GET without the body (HTTP semantics, as on Vercel)."""
        return getattr(self, "get" if method == "HEAD" else method.lower(), None)

    def _dispatch(self, method: str) -> None:
        started = time.perf_counter()
        log.configure(os.environ.get("LOG_LEVEL", "INFO").upper())
        rid = self._request_id()
        token = log.request_id.set(rid)
        status = 500
        try:
            resp = self._run(method, rid)
            status = resp.status
            self._send(resp, rid)
        finally:
            _log.info("request", extra={
                "method": method, "path": urlsplit(self.path).path, "status": status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 2)})
            log.request_id.reset(token)

    def _run(self, method: str, rid: str) -> Response:
        try:
            fn = self._method_fn(method)
            if method == "OPTIONS" and fn is None:
                return Response(204, None, {"Allow": ", ".join(self._allowed())})
            if fn is None:
                self._discard_body()
                allowed = ", ".join(self._allowed())
                resp = self._error_response(errors.MethodNotAllowed(f"{method} is not supported here; use {allowed}"))
                resp.headers["Allow"] = allowed
                return resp
            req = self._read_request(method, rid)
            return self._to_response(fn(req))
        except errors.AppError as exc:
            if exc.status >= 500:
                _log.warning("request failed", extra={"code": exc.code, "error": exc.message, "details": exc.details})
            return self._error_response(exc)
        except Exception:
            _log.exception("unhandled error")
            return self._error_response(errors.AppError("something went wrong on our side; it was logged"))

    def _read_request(self, method: str, rid: str) -> Request:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        query.update(_path_params(type(self), parts.path))  # the path's [id] wins over a request's ?id=
        body = self._read_body()
        client = self.headers.get("X-Forwarded-For", "").split(",")[0].strip() or self.client_address[0]
        return Request(method, parts.path, query, self.headers, body, client, rid)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        n = _body_length(self.headers) or 0
        if n > self.max_body_bytes:
            self.close_connection = True  # we will not read the rest of it
            raise errors.PayloadTooLarge(f"the body is {n} bytes; the limit is {self.max_body_bytes}")
        return self.rfile.read(n) if n else b""

    def _read_chunked(self) -> bytes:
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                self.close_connection = True
                raise errors.InvalidRequest("malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > self.max_body_bytes:
                self.close_connection = True
                raise errors.PayloadTooLarge(f"the body exceeds the limit of {self.max_body_bytes} bytes")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)

    def _discard_body(self) -> None:
        try:
            n = _body_length(self.headers) or 0
        except errors.InvalidRequest:
            n = 0
        if 0 < n <= self.max_body_bytes:
            self.rfile.read(n)
        elif n:
            self.close_connection = True

    def _request_id(self) -> str:
        given = self.headers.get("X-Request-Id") or ""
        if 8 <= len(given) <= 64 and set(given) <= _REQUEST_ID_OK:
            return given
        return uuid.uuid4().hex

    # -- responses ------------------------------------------------------------------------------
    @staticmethod
    def _to_response(result: Any) -> Response:
        if isinstance(result, Response):
            return result
        if isinstance(result, tuple):
            return Response(result[0], result[1])
        return Response(200, result)

    @staticmethod
    def _error_response(exc: errors.AppError) -> Response:
        headers = {}
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            headers["Retry-After"] = str(int(retry_after + 0.999))
        return Response(errors.http_status(exc), exc.body(), headers)

    def _send(self, resp: Response, rid: str) -> None:
        if isinstance(resp.body, Raw):
            payload, content_type = resp.body.data, resp.body.content_type
        elif resp.body is None:
            payload, content_type = b"", None
        else:
            payload = json.dumps(resp.body, separators=(",", ":"), default=str).encode()
            content_type = "application/json"
        self.send_response(resp.status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Request-Id", rid)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        # Headers and body in one write: no Nagle/delayed-ACK stall between two small segments.
        self._headers_buffer.append(b"\r\n" + (b"" if self.command == "HEAD" else payload))
        self.flush_headers()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No stdlib access line: `_dispatch` logs one JSON line per request. It must be `log_request`:
        Vercel's runtime serves `class Handler(BaseHandler, handler)`, and its BaseHandler.log_message
        (an Apache-style line on stdout) precedes ours in that MRO; it defines no log_request."""

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Errors the stdlib answers itself (bad request line, 501 from the runtime) as one JSON line."""
        _log.warning("http error", extra={"detail": format % args})

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the stdlib's stderr access log; `_dispatch` logs JSON instead."""

    # -- stdlib entry points ----------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def do_OPTIONS(self) -> None:  # noqa: N802
        self._dispatch("OPTIONS")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("HEAD")

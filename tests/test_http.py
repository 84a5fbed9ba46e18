"""The base handler: JSON in/out, limits, request ids, one error boundary without internals."""

from __future__ import annotations

import io
import logging
import socket
from pathlib import Path

import httpx
import pytest

from lib import log
from lib.dev.server import serve_in_thread

SAMPLE = Path(__file__).parent / "dev" / "sample_api" / "api"


@pytest.fixture(scope="module")
def base():
    server, url = serve_in_thread(api_dir=SAMPLE)
    yield url
    server.shutdown()
    server.server_close()


def test_json_body_round_trip_and_status(base):
    r = httpx.post(f"{base}/api/things", json={"a": [1, "x"]})
    assert r.status_code == 201 and r.json()["received"] == {"a": [1, "x"]}
    assert r.headers["content-type"] == "application/json"


@pytest.mark.parametrize(("content", "ctype", "status", "code"), [
    (b"{not json", "application/json", 400, "invalid_json"),
    (b"", "application/json", 400, "invalid_json"),
    (b"[1,2]", "application/json", 400, "invalid_json"),
    (b"\xff\xfe", "application/json", 400, "invalid_json"),
    (b"a=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    (b"{}", "text/plain", 415, "unsupported_media_type"),
])
def test_bad_bodies_get_precise_errors(base, content, ctype, status, code):
    r = httpx.post(f"{base}/api/things", content=content, headers={"Content-Type": ctype})
    assert r.status_code == status
    assert r.json()["error"]["code"] == code
    assert set(r.json()["error"]) >= {"code", "message"}


def test_charset_parameter_is_accepted(base):
    r = httpx.post(f"{base}/api/things", content=b'{"a":1}', headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 201


def test_an_oversized_body_is_refused_before_it_is_read(base):
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"POST /api/things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 4500001\r\n\r\n{")
        head = s.recv(4096).decode()
    assert head.startswith("HTTP/1.1 413")
    assert '"payload_too_large"' in head
    assert "Connection: close" in head


def test_a_body_at_the_limit_is_accepted(base):
    body = b'{"pad":"' + b"x" * (4_500_000 - 10) + b'"}'
    assert len(body) == 4_500_000
    r = httpx.post(f"{base}/api/things", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 201 and r.json()["bytes"] == 4_500_000


def test_chunked_bodies_are_read_and_limited(base):
    def chunks():
        yield b'{"a":'
        yield b'"chunked"}'
    r = httpx.post(f"{base}/api/things", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 201 and r.json()["received"] == {"a": "chunked"}

    def too_much():
        for _ in range(5):
            yield b"x" * 1_000_000
    r = httpx.post(f"{base}/api/things", content=too_much(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_app_errors_keep_their_code(base):
    r = httpx.post(f"{base}/api/things", json={"fail": "conflict"})
    assert r.status_code == 409
    assert r.json() == {"error": {"code": "already_connected", "message": "already there", "retryable": False}}


def test_a_bug_is_a_generic_500_without_internals(base):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(log._Formatter("{levelname}{name}{message}", style="{"))
    logging.getLogger("http").addHandler(handler)
    try:
        r = httpx.get(f"{base}/api/things?mode=boom")
    finally:
        logging.getLogger("http").removeHandler(handler)
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal_error"
    assert "hunter22" not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text
    logs = stream.getvalue()
    assert "RuntimeError" in logs  # logged for us...
    assert "hunter22" not in logs  # ...with the secret masked


def test_request_ids_are_echoed_or_made(base):
    r = httpx.get(f"{base}/api/things", headers={"X-Request-Id": "abc-12345678"})
    assert r.headers["x-request-id"] == "abc-12345678"
    r = httpx.get(f"{base}/api/things", headers={"X-Request-Id": "bad id with spaces <script>"})
    assert len(r.headers["x-request-id"]) == 32 and " " not in r.headers["x-request-id"]


def test_options_and_head(base):
    r = httpx.options(f"{base}/api/things/x")
    assert r.status_code == 204 and r.headers["allow"] == "GET, DELETE, HEAD"
    r = httpx.head(f"{base}/api/things")  # HEAD is GET without the body, as on Vercel
    get = httpx.get(f"{base}/api/things")
    assert r.status_code == get.status_code == 200 and r.content == b""
    assert r.headers["content-length"] == get.headers["content-length"]

from __future__ import annotations

import io
import json
import logging

import pytest

from lib import log


@pytest.fixture
def capture():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(log._Formatter("{levelname}{name}{message}", style="{"))
    logger = logging.getLogger("test-redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def _lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize(("text", "secret"), [
    ("POST https://7103.api.greenapi.com/waInstance7103123456/sendMessage/d75b3a66374942c5b3c019c698abc2067e151558acbd412345", "d75b3a66374942c5b3c019c698abc2067e151558acbd412345"),
    ("GET https://api.green-api.com/partner/getInstances/gac.0123456789abcdef", "gac.0123456789abcdef"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nature_x", "eyJhbGciOiJIUzI1NiJ9"),
    ('{"apikey": "B6D711FCDE4D4FD5936544120E713976", "event": "x"}', "B6D711FCDE4D4FD5936544120E713976"),
    ("apikey=ABCDEF123456&x=1", "ABCDEF123456"),
    ("postgresql://postgres:sup3rs3cret@db.example.com:5432/postgres", "sup3rs3cret"),
])
def test_secrets_are_masked_by_shape(capture, text, secret):
    logger, stream = capture
    logger.info("calling %s", text)
    line = stream.getvalue()
    assert secret not in line and log.MASK in line


def test_registered_secrets_are_masked_everywhere(capture):
    logger, stream = capture
    log.register_secret("an-odd-secret-value-42")
    logger.warning("failed", extra={"detail": "server said an-odd-secret-value-42 is wrong", "headers": {
        "apikey": "whatever-it-is", "x-ok": "visible"}})
    try:
        raise ValueError("boom an-odd-secret-value-42")
    except ValueError:
        logger.exception("with traceback")
    text = stream.getvalue()
    assert "an-odd-secret-value-42" not in text and "whatever-it-is" not in text
    first = _lines(stream)[0]
    assert first["headers"] == {"apikey": log.MASK, "x-ok": "visible"}


def test_request_id_is_added(capture):
    logger, stream = capture
    token = log.request_id.set("req-12345678")
    try:
        logger.info("hello")
    finally:
        log.request_id.reset(token)
    assert _lines(stream)[0]["request_id"] == "req-12345678"

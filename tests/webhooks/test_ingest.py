"""lib.webhooks.ingest without a database: what makes an authenticated body storable."""

from __future__ import annotations

import json

import pytest

from lib import log
from lib.webhooks.ingest import MAX_DEPTH, Unprocessable, clean, parse, raw_excerpt, sanitize


@pytest.mark.parametrize(("raw", "expected"), [
    (b'{"a": "x\\ud800y"}', {"a": "xy"}),                  # a lone surrogate (half an emoji)
    (b'{"a": "x\\u0000y"}', {"a": "xy"}),                  # an escaped NUL
    (b'{"a": "x\x00y"}', {"a": "xy"}),                     # a raw NUL byte inside a string
    (b'{"a": NaN, "b": Infinity, "c": -Infinity}', {"a": None, "b": None, "c": None}),
    (b'{"a": 1e400, "b": 1.5}', {"a": None, "b": 1.5}),
    ('{"a": "🙂"}'.encode(), {"a": "🙂"}),                  # a whole emoji stays
])
def test_parse_makes_bodies_storable(raw, expected):
    assert parse(raw) == expected


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe"])
def test_parse_refuses_what_is_no_json_object(raw):
    with pytest.raises(Unprocessable) as info:
        parse(raw)
    assert info.value.reason == "malformed_json"


def test_nesting_is_cut_at_the_bound():
    deep = json.loads("[" * (MAX_DEPTH + 10) + "]" * (MAX_DEPTH + 10))
    out = clean({"x": deep})
    depth, node = 0, out["x"]
    while isinstance(node, list):
        node, depth = node[0], depth + 1
    assert node == "[nested too deeply]" and depth == MAX_DEPTH - 1


def test_a_raw_excerpt_masks_secrets_and_is_storable():
    log.register_secret("a-registered-secret-123456")
    raw = b'{"apikey": "TOKEN-IN-THE-BODY-0001", "x": "a-registered-secret-123456", "nul": "\x00"'
    text = raw_excerpt(raw)
    assert "TOKEN-IN-THE-BODY-0001" not in text and "a-registered-secret-123456" not in text
    assert "\x00" not in text


def test_sanitize_strips_secrets_and_blobs_and_cuts_long_strings():
    out = sanitize({"apikey": "t", "data": {"message": {"imageMessage": {"jpegThumbnail": "AAAA", "caption": "c"}},
                                            "long": "x" * 5000}})
    assert out == {"data": {"message": {"imageMessage": {"caption": "c"}}, "long": "x" * 2000 + "...[5000 chars]"}}

"""lib/schemas/: request validation."""

from __future__ import annotations

import pydantic
import pytest

from lib.schemas import base

URLS = ["https://cdn.example.com/a b.jpg", "http://example.com", "HTTPS://Example.COM:443/x?y=1#z",
        "https://xn--bcher-kva.example/", "https://bücher.example/pfad", "http://0x7f.1/", "http://[::1]:8080/",
        "ftp://example.com/f", "file:///etc/passwd", "javascript:alert(1)", "https://", "not a url",
        "https://example.com/" + "a" * 2064, "https://example.com/" + "a" * 2063]


class Ours(pydantic.BaseModel):
    url: base.HttpUrl


class Pydantics(pydantic.BaseModel):
    url: pydantic.HttpUrl


@pytest.mark.parametrize("url", URLS)
def test_media_urls_are_accepted_refused_and_normalised_as_pydantics_http_url(url):
    try:
        expected = str(Pydantics(url=url).url)
    except pydantic.ValidationError as exc:
        expected = [e["type"] for e in exc.errors()]
    try:
        got = Ours(url=url).model_dump(mode="json")["url"]
    except pydantic.ValidationError as exc:
        got = [e["type"] for e in exc.errors()]
    assert got == expected

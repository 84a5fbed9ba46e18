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


def test_a_reaction_takes_the_same_emoji_through_either_route():
    """POST /messages/{id}/reaction and a `reaction` through /send accept and refuse the same emoji."""
    from lib.errors import InvalidRequest  # noqa: PLC0415
    from lib.schemas.conversations import ReactionRequest  # noqa: PLC0415
    from lib.schemas.messages import SendRequest  # noqa: PLC0415

    family = "👨\u200d👩\u200d👧\u200d👦" * 3  # three ZWJ sequences: 21 characters
    target = "00000000-0000-0000-0000-000000000001"
    assert base.parse(ReactionRequest, {"emoji": family}).emoji == family
    assert base.parse(SendRequest, {"type": "reaction", "target_message_id": target, "emoji": family}).emoji == family
    for model, body in ((ReactionRequest, {}), (SendRequest, {"type": "reaction", "target_message_id": target})):
        with pytest.raises(InvalidRequest):
            base.parse(model, {**body, "emoji": "x" * 33})

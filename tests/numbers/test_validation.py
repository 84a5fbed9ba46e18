"""lib.numbers' checks that run before anything is written, without a database."""

from __future__ import annotations

import pytest

from lib import config, errors
from lib.numbers import check_green_api_url, idempotency_key, request_hash
from lib.schemas.numbers import CreateNumberRequest


@pytest.fixture(autouse=True)
def settings(monkeypatch):
    monkeypatch.setenv("GREEN_API_URL", "http://127.0.0.1:8082")
    monkeypatch.setenv("GREEN_API_MEDIA_URL", "http://127.0.0.1:8082")
    config.reset()
    yield
    config.reset()


@pytest.mark.parametrize("url", ["https://7103.api.greenapi.com", "https://api.green-api.com/",
                                 "https://7103.media.green-api.com:443", "http://127.0.0.1:8082"])
def test_allowed_green_api_origins(url):
    check_green_api_url(url)


@pytest.mark.parametrize("url", ["http://7103.api.greenapi.com", "https://7103.api.greenapi.com:8443",
                                 "http://127.0.0.1:8083", "http://127.0.0.1", "https://127.0.0.1:8082",
                                 "https://greenapi.com.evil.example", "https://x.greenapi.com/partner",
                                 "https://x.greenapi.com?a=1", "https://u:p@x.greenapi.com"])
def test_refused_green_api_origins(url):
    with pytest.raises(errors.InvalidRequest) as info:
        check_green_api_url(url)
    assert info.value.code == "invalid_green_api_host"


@pytest.mark.parametrize(("key", "code"), [("k" * 256, "invalid_idempotency_key"), ("a b", "invalid_idempotency_key"),
                                           ("ключ", "invalid_idempotency_key")])
def test_bad_idempotency_keys(key, code):
    with pytest.raises(errors.InvalidRequest) as info:
        idempotency_key(key)
    assert info.value.code == code


def test_idempotency_keys():
    assert idempotency_key("add-support-1:x/y=") == "add-support-1:x/y="
    assert idempotency_key(None) is None
    with pytest.raises(errors.InvalidRequest):
        idempotency_key("", required=True)


def test_the_request_fingerprint_ignores_key_order_but_not_values():
    a = CreateNumberRequest.model_validate({"label": "x", "provider": "evolution"})
    b = CreateNumberRequest.model_validate({"provider": "evolution", "label": "x"})
    c = CreateNumberRequest.model_validate({"provider": "evolution", "label": "y"})
    assert request_hash(a) == request_hash(b) != request_hash(c)

"""The Upstash markers and counters: exact wire requests, and every failure means 'not seen'."""

from __future__ import annotations

import json
import socket
import threading

import httpx
import pytest
import respx

from lib import config, redis

URL = "https://eu1-fast-lizard.upstash.io"


@pytest.fixture
def upstash(monkeypatch):
    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", URL)
    monkeypatch.setenv("UPSTASH_REDIS_REST_TOKEN", "upstash-token-0123456789")
    config.reset()
    redis.reset()
    yield
    redis.reset()
    config.reset()


@respx.mock
def test_mark_then_seen_speak_the_rest_protocol(upstash):
    store = {}
    sets = []

    def handle(request):  # asserts go after the calls: redis.mark() swallows any exception raised in here
        if request.headers.get("authorization") != "Bearer upstash-token-0123456789":
            return httpx.Response(401, json={"error": "WRONGPASS"})
        cmd = json.loads(request.content)
        if cmd[0] == "SET":
            store[cmd[1]] = cmd[2]
            sets.append((cmd, dict(request.headers)))
            return httpx.Response(200, json={"result": "OK"})
        return httpx.Response(200, json={"result": store.get(cmd[1])})

    respx.post(URL, path="/").mock(side_effect=handle)
    assert redis.seen("wh:x") is False
    redis.mark("wh:x")
    assert redis.seen("wh:x") is True
    [(cmd, headers)] = sets
    assert cmd[3].upper() == "EX" and int(cmd[4]) > 0  # markers expire: Redis does not fill up
    assert "upstash-telemetry-sdk" not in headers


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"),
                                     httpx.Response(500, text="oops"), httpx.Response(200, json={"error": "WRONGTYPE"})])
@respx.mock
def test_any_redis_failure_means_not_seen_and_never_raises(upstash, failure):
    route = respx.post(URL, path="/")
    if isinstance(failure, Exception):
        route.mock(side_effect=failure)
    else:
        route.mock(return_value=failure)
    assert redis.seen("wh:y") is False
    redis.mark("wh:y")  # no exception
    assert route.call_count == 2  # no hidden retries


def test_without_configuration_nothing_is_called(monkeypatch):
    monkeypatch.delenv("UPSTASH_REDIS_REST_URL", raising=False)
    config.reset()
    redis.reset()
    with respx.mock(assert_all_called=False) as mock:
        assert redis.seen("k") is False
        redis.mark("k")
        assert not mock.calls


def test_a_redis_that_never_answers_costs_a_bounded_wait(monkeypatch):
    """The SDK's own client has no timeout: against a server that accepts and never answers, a
    webhook would hang. Ours gives up (and answers "not seen")."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever reads or answers
        monkeypatch.setenv("UPSTASH_REDIS_REST_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.setenv("UPSTASH_REDIS_REST_TOKEN", "upstash-token-0123456789")
        config.reset()
        redis.reset()
        result = []
        worker = threading.Thread(target=lambda: result.append(redis.seen("wh:hang")), daemon=True)
        worker.start()
        worker.join(timeout=redis.TIMEOUT_SECONDS * 5)
        assert result == [False], "redis.seen() is still waiting on a silent server"
    redis.reset()
    config.reset()

"""Retries and the circuit breaker, with a clock we control."""

from __future__ import annotations

import threading

import httpx
import pytest
import respx

from lib import errors, resilience

URL = "https://provider.example.com/op"


def call(**kw):
    return resilience.Call(provider="p", operation="op", method="POST", url=URL, **kw)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@respx.mock
def test_the_breaker_opens_after_consecutive_failures_and_fails_fast():
    clock = Clock()
    breaker = resilience.Breaker("k", threshold=3, cooldown=30, clock=clock)
    route = respx.post(URL).mock(side_effect=httpx.ConnectError("refused"))
    client = httpx.Client()
    for _ in range(3):
        with pytest.raises(errors.ProviderUnavailable):
            resilience.send(client, call(max_attempts=1), breaker)
    assert breaker.state == "open" and route.call_count == 3
    with pytest.raises(errors.ProviderUnavailable):
        resilience.send(client, call(max_attempts=1), breaker)
    assert route.call_count == 3  # no network call while open


@respx.mock
def test_half_open_lets_one_trial_through_and_closes_on_success():
    clock = Clock()
    breaker = resilience.Breaker("k", threshold=1, cooldown=30, clock=clock)
    route = respx.post(URL).mock(side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json={})])
    client = httpx.Client()
    with pytest.raises(errors.ProviderUnavailable):
        resilience.send(client, call(max_attempts=1), breaker)
    clock.now += 31
    assert breaker.state == "half_open"
    assert breaker.allow() is True and breaker.allow() is False  # one trial at a time
    breaker.failure()
    assert breaker.state == "open"
    clock.now += 31
    assert resilience.send(client, call(max_attempts=1), breaker).status_code == 200
    assert breaker.state == "closed" and route.call_count == 2


def test_the_breaker_is_safe_under_threads():
    breaker = resilience.Breaker("k", threshold=1000, cooldown=30)
    threads = [threading.Thread(target=lambda: [breaker.failure() for _ in range(100)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert breaker._failures == 800 and breaker.state == "closed"


@respx.mock
def test_4xx_is_not_a_breaker_failure_and_5xx_is(monkeypatch):
    monkeypatch.setattr(resilience.time, "sleep", lambda s: None)
    breaker = resilience.Breaker("k", threshold=2, cooldown=30)
    respx.post(URL).respond(400)
    for _ in range(3):
        assert resilience.send(httpx.Client(), call(), breaker).status_code == 400
    assert breaker.state == "closed"
    respx.post(URL).respond(500)
    for _ in range(2):
        resilience.send(httpx.Client(), call(), breaker)
    assert breaker.state == "open"


@respx.mock
def test_retry_after_beyond_the_budget_is_not_waited(monkeypatch):
    waits = []
    monkeypatch.setattr(resilience.time, "sleep", waits.append)
    route = respx.post(URL).respond(429, headers={"Retry-After": "120"})
    assert resilience.send(httpx.Client(), call(budget=5), resilience.Breaker("k")).status_code == 429
    assert route.call_count == 1 and waits == []


@pytest.mark.parametrize(("value", "expected"), [("3", 3.0), ("0", 0.0), (None, None), ("soon", None),
                                                 ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)])
def test_retry_after_parsing(value, expected):
    assert resilience.retry_after_seconds(value) == expected


def test_breakers_are_per_base_url():
    resilience.reset_breakers()
    a = resilience.breaker_for("https://a.example.com/x/1")
    assert a is resilience.breaker_for("https://a.example.com/y/2")
    assert a is not resilience.breaker_for("https://b.example.com/x/1")

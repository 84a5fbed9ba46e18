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
    assert breaker.allow() == "trial" and breaker.allow() is None  # one trial at a time
    breaker.failure()
    assert breaker.state == "open"
    clock.now += 31
    assert resilience.send(client, call(max_attempts=1), breaker).status_code == 200
    assert breaker.state == "closed" and route.call_count == 2


@pytest.mark.parametrize(("threshold", "state"), [(800, "open"), (801, "closed")])
def test_the_breaker_counts_every_failure_under_racing_threads(threshold, state):
    breaker = resilience.Breaker("k", threshold=threshold, cooldown=30)
    start = threading.Barrier(8)

    def fail_100():
        start.wait()
        for _ in range(100):
            breaker.failure()

    threads = [threading.Thread(target=fail_100) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert breaker.state == state  # a lost update would leave 800 failures short of 800


@respx.mock
def test_only_a_sick_server_counts_against_the_breaker(monkeypatch):
    monkeypatch.setattr(resilience.time, "sleep", lambda s: None)
    breaker = resilience.Breaker("k", threshold=2, cooldown=30)
    respx.post(URL).respond(400)
    for _ in range(3):
        assert resilience.send(httpx.Client(), call(), breaker).status_code == 400
    respx.post(URL).respond(500, json={"response": {"message": "Connection Closed"}})
    for _ in range(3):  # one instance's error, as its client classifies it: not the server's
        resilience.send(httpx.Client(), call(server_failure=lambda r: False), breaker)
    assert breaker.state == "closed"
    respx.post(URL).respond(502)
    resilience.send(httpx.Client(), call(max_attempts=2), breaker)
    assert breaker.state == "open"


@respx.mock
def test_a_trial_that_ends_in_an_unexpected_exception_frees_its_place():
    clock = Clock()
    breaker = resilience.Breaker("k", threshold=1, cooldown=30, clock=clock)
    respx.post(URL).mock(side_effect=[httpx.ConnectError("refused"), RuntimeError("a bug"),
                                      httpx.Response(200, json={})])
    with pytest.raises(errors.ProviderUnavailable):
        resilience.send(httpx.Client(), call(max_attempts=1), breaker)
    clock.now += 31
    with pytest.raises(RuntimeError):
        resilience.send(httpx.Client(), call(max_attempts=1), breaker)
    # before the fix the trial stayed "in flight" forever and every later call failed fast
    assert resilience.send(httpx.Client(), call(max_attempts=1), breaker).status_code == 200


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

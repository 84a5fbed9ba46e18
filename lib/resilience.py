"""Every provider HTTP call goes through `send()`: timeouts, retries, a circuit breaker, a log line.

Retry rules (tenacity, exponential backoff with jitter, bounded by attempts and a time budget):
- connect errors and connect/pool timeouts: the request never left us — retried for every call;
- HTTP 429: the provider refused it — retried, honouring `Retry-After` when it fits the budget;
- HTTP 503: nothing was accepted — retried for every call;
- HTTP 502/504, read/write timeouts, dropped connections: the request may have reached the
  provider. Retried only for `idempotent` calls; a send fails with `OutcomeUnknown` instead of
  messaging a customer twice. HTTP 500 is never retried and is returned to the provider's client,
  which alone can tell from the body whether a send happened (Evolution's "Connection Closed"
  means it did not); when it cannot tell, it raises `OutcomeUnknown`.

The circuit breaker is per provider server (scheme://host:port), shared by every number on it, so
it counts only what means the *server* is sick: transport errors, timeouts, 502/503/504 and the
answers the provider's client classifies as a server failure (`Call.server_failure`). An error
about one instance or one request (Evolution's 500 "Connection Closed" for a disconnected number)
never opens it for the others. After `threshold` consecutive failures it opens and calls fail fast
with `ProviderUnavailable` without touching the network; after `cooldown` seconds one trial call
is let through (half-open): success closes it, failure opens it again, and a trial that ends any
other way (an unexpected exception) releases its place. Thread-safe.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_before_delay
from tenacity.wait import wait_exponential_jitter

from lib import errors, log, recorder

_log = log.get("provider")

RETRY_STATUSES_ALWAYS = {429, 503}
RETRY_STATUSES_IDEMPOTENT = {502, 504}


class Breaker:
    def __init__(self, key: str, threshold: int = 5, cooldown: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        self.key = key
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half_open" if self._clock() - self._opened_at >= self.cooldown else "open"

    def allow(self) -> str | None:
        """May a call go out now? "call", "trial" (half-open: one at a time), or None."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return "call"
            if state == "half_open" and not self._trial_in_flight:
                self._trial_in_flight = True
                return "trial"
            return None

    def release(self) -> None:
        """A trial call ended without a verdict (an unexpected exception): let another one try."""
        with self._lock:
            self._trial_in_flight = False

    def success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            self._trial_in_flight = False
            if self._opened_at is not None or self._failures >= self.threshold:
                self._opened_at = self._clock()


_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(url: str) -> Breaker:
    parts = urlsplit(url)
    key = f"{parts.scheme}://{parts.netloc}"
    with _breakers_lock:
        b = _breakers.get(key)
        if b is None:
            b = _breakers[key] = Breaker(key)
        return b


def reset_breakers() -> None:
    with _breakers_lock:
        _breakers.clear()


@dataclass
class Call:
    """One logical provider call. `url` may contain a secret (GREEN-API token): it is never logged."""

    provider: str
    operation: str
    method: str
    url: str
    instance: str | None = None
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] | None = None
    idempotent: bool = True
    # Does this answer mean the provider's server is sick? (None: 502, 503, 504.)
    server_failure: Callable[[httpx.Response], bool] | None = None
    max_attempts: int = 3
    budget: float = 25.0  # seconds for all attempts and waits, well inside the 60 s function limit


class _Retry(Exception):
    def __init__(self, error: errors.ProviderError, response: httpx.Response | None = None,
                 retry_after: float | None = None):
        self.error = error
        self.response = response
        self.retry_after = retry_after


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    backoff = wait_exponential_jitter(multiplier=0.2, max=2.0, jitter=0.2)(state)
    if isinstance(exc, _Retry) and exc.retry_after is not None:
        return max(exc.retry_after, 0.0)
    return backoff


def send(client: httpx.Client, call: Call, breaker: Breaker | None = None) -> httpx.Response:
    """Perform `call`; the final response is returned whatever its status (callers map it)."""
    breaker = breaker or breaker_for(call.url)
    started = time.monotonic()
    attempt_no = 0

    def attempt() -> httpx.Response:
        nonlocal attempt_no
        attempt_no += 1
        admitted = breaker.allow()
        if admitted is None:
            _emit(call, attempt_no, None, 0.0, "circuit_open")
            raise errors.ProviderUnavailable(f"{call.provider} is failing; calls are paused for a moment",
                                             provider=call.provider)
        try:
            return _attempt(client, call, breaker, attempt_no, started)
        finally:
            if admitted == "trial":
                breaker.release()  # no-op after success()/failure(); frees the place otherwise

    retrying = Retrying(stop=stop_after_attempt(call.max_attempts) | stop_before_delay(call.budget),
                        wait=_wait, retry=retry_if_exception_type(_Retry), reraise=True, sleep=time.sleep)
    try:
        return retrying(attempt)
    except _Retry as final:
        if final.response is not None:
            return final.response
        raise final.error from None


def _sick(call: Call, resp: httpx.Response) -> bool:
    if resp.status_code in (502, 503, 504):
        return True
    return bool(call.server_failure and resp.status_code >= 500 and call.server_failure(resp))


def _attempt(client: httpx.Client, call: Call, breaker: Breaker, attempt_no: int, started: float) -> httpx.Response:
    t0 = time.monotonic()
    try:
        resp = client.request(call.method, call.url, json=call.json, headers=call.headers, params=call.params)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        breaker.failure()
        _emit(call, attempt_no, None, t0, type(exc).__name__)
        raise _Retry(errors.ProviderUnavailable(f"{call.provider} could not be reached",
                                                provider=call.provider)) from None
    except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
        breaker.failure()
        _emit(call, attempt_no, None, t0, type(exc).__name__)
        if call.idempotent:
            raise _Retry(errors.ProviderUnavailable(f"{call.provider} did not answer in time",
                                                    provider=call.provider)) from None
        raise errors.OutcomeUnknown(
            f"{call.provider} did not confirm the request; it may or may not have been carried out — "
            "check the chat before trying again", provider=call.provider) from None
    _emit(call, attempt_no, resp.status_code, t0, None)
    status = resp.status_code
    if _sick(call, resp):
        breaker.failure()
    else:
        breaker.success()
    if status in RETRY_STATUSES_ALWAYS or (call.idempotent and status in RETRY_STATUSES_IDEMPOTENT):
        ra = retry_after_seconds(resp.headers.get("Retry-After")) if status == 429 else None
        remaining = call.budget - (time.monotonic() - started)
        if ra is not None and ra > remaining:
            return resp  # waiting would overrun the budget: let the caller report rate_limited
        raise _Retry(errors.ProviderUnavailable(f"{call.provider} answered {status}", provider=call.provider,
                                                http_status=status), resp, ra)
    if not call.idempotent and status in RETRY_STATUSES_IDEMPOTENT:
        # A gateway error: the provider behind it may have carried the request out.
        raise errors.OutcomeUnknown(
            f"{call.provider} failed after receiving the request ({status}); it may or may not have been "
            "carried out — check the chat before trying again", provider=call.provider, http_status=status)
    return resp  # including 500: only the provider's client can tell from the body whether it was sent


def _emit(call: Call, attempt: int, status: int | None, t0: float, error: str | None) -> None:
    latency = round((time.monotonic() - t0) * 1000, 2) if t0 else 0.0
    recorder.record_call(call.provider, status, latency, error)  # in memory; no I/O
    _log.info("provider call", extra={
        "provider": call.provider, "operation": call.operation, "instance": call.instance,
        "http_status": status, "attempt": attempt, "latency_ms": latency, "error": error})

"""The data layer: call one SQL function with named arguments, get its JSON back.

    result = db.call("ingest_events", p_number_id=..., p_events=[...])

Two transports behind that one call, chosen by configuration:
- `PostgrestTransport`: `POST {SUPABASE_URL}/rest/v1/rpc/<fn>` with the service-role key, over httpx
  with short explicit timeouts. (supabase-py would add ~0.6 s of imports, a 120 s default
  timeout, and drops the HTTP status; its request shape is pinned in tests/db/test_transports.py.)
- `PostgresTransport`: direct PostgreSQL over psycopg with a small pool and no prepared
  statements, so Supabase's transaction pooler (port 6543) works.

Every SQL function the backend calls is idempotent by its unique keys and does its work in one
statement, so each call is exactly one round trip and one transaction. Errors are mapped by
SQLSTATE identically for both transports (`map_sqlstate`). Domain errors raised by our SQL carry
their stable product code in the HINT (`raise exception ... using errcode = 'WA404', hint = 'number_not_found'`).
"""

from __future__ import annotations

import functools
import heapq
import itertools
import json
import re
import threading
import time
from typing import Any, Protocol

from lib import config, errors, log, recorder

_log = log.get("db")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# SQLSTATE → (error class, code, our words). Custom WAxxx codes are raised by our own SQL
# functions with their product code in the HINT and a message written for people; everything else
# is PostgreSQL's, whose text (constraint names, SQL) never reaches a client: it is logged only.
_WA: dict[str, type[errors.AppError]] = {
    "WA400": errors.InvalidRequest, "WA401": errors.Unauthorized, "WA403": errors.Forbidden,
    "WA404": errors.NotFound, "WA409": errors.Conflict, "WA429": errors.TooManyRequests, "P0002": errors.NotFound,
}
_UNAVAILABLE = (errors.DatabaseUnavailable, "database_unavailable", "the database is unavailable; try again shortly")
_MISSING = (errors.ConfigError, "config_error",
            "the database is missing a function or a permission; apply the migrations")
_EXACT: dict[str, tuple[type[errors.AppError], str, str]] = {
    "23505": (errors.Conflict, "conflict", "this already exists"),
    "23503": (errors.NotFound, "not_found", "something this refers to does not exist"),
    "23502": (errors.InvalidRequest, "invalid_value", "a required value is missing"),
    "23514": (errors.InvalidRequest, "invalid_value", "a value is not allowed here"),
    "40001": _UNAVAILABLE, "40P01": _UNAVAILABLE,
    "57014": _UNAVAILABLE,  # statement cancelled by our timeout
    "42883": _MISSING, "42P01": _MISSING, "PGRST202": _MISSING, "42501": _MISSING,
}
# By SQLSTATE class (the first two characters), for everything without an exact row.
_CLASS: dict[str, tuple[type[errors.AppError], str, str]] = {
    "08": _UNAVAILABLE, "53": _UNAVAILABLE, "57": _UNAVAILABLE, "58": _UNAVAILABLE, "40": _UNAVAILABLE,
    "55": _UNAVAILABLE,  # object in use / lock not available: transient
    "22": (errors.InvalidRequest, "invalid_value", "a value in the request is not valid"),
    "23": (errors.InvalidRequest, "invalid_value", "the request breaks a rule of the data"),
    "54": (errors.InvalidRequest, "value_too_large", "a value in the request is too large"),
    "42": _MISSING, "PGRST0": _UNAVAILABLE,  # PGRST0xx: PostgREST cannot reach the database
}
_GENERIC = {errors.ConfigError: _MISSING[2], errors.DatabaseUnavailable: _UNAVAILABLE[2]}


def map_sqlstate(code: str | None, message: str, hint: str | None = None) -> errors.AppError:
    """One mapping from a SQLSTATE (or PostgREST code) to our error hierarchy and our own words."""
    code = code or ""
    if code in _WA:
        return errors.of_code(hint, _WA[code])(message, code=hint or None)
    cls, ours, words = _EXACT.get(code) or _CLASS.get(code[:6] if code.startswith("PGRST") else code[:2]) or (
        errors.AppError, "database_error", "the database could not carry out the operation; it was logged")
    _log.warning("database error", extra={"sqlstate": code, "error": message[:500]})
    return cls(words, code=ours, details={"sqlstate": code})


class _Watchdog:
    """Cancels statements that outlive their deadline. One thread for the whole process, woken only
    when the earliest deadline changes — not a timer thread started and stopped for every call (the
    server-side `statement_timeout` is no option: Supabase's transaction pooler shares sessions)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._live: dict[int, Any] = {}
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, conn: Any, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        with self._cond:
            ticket = next(self._seq)
            heapq.heappush(self._heap, (deadline, ticket))
            self._live[ticket] = conn
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
                self._thread.start()
            if self._heap[0][1] == ticket:
                self._cond.notify()
        return ticket

    def done(self, ticket: int) -> None:
        with self._cond:
            self._live.pop(ticket, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][1] not in self._live:
                    heapq.heappop(self._heap)  # finished in time
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, ticket = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                conn = self._live.pop(ticket)
            _log.warning("database statement over its time limit; cancelling it")
            conn.cancel_safe()


_watchdog = _Watchdog()


class Transport(Protocol):
    round_trips: int

    def call(self, fn: str, args: dict[str, Any]) -> Any: ...

    def close(self) -> None: ...


class PostgrestTransport:
    def __init__(self, url: str, key: str, timeout: float):
        import httpx  # noqa: PLC0415 - only this transport needs it at call time

        log.register_secret(key)
        self._url = url.rstrip("/") + "/rest/v1/rpc/"
        self._headers = {"apikey": key, "Authorization": f"Bearer {key}",
                         "Content-Type": "application/json", "Accept": "application/json"}
        self._client = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(2.0, timeout)))
        self._httpx = httpx
        self.round_trips = 0

    def call(self, fn: str, args: dict[str, Any]) -> Any:
        self.round_trips += 1
        try:
            resp = self._client.post(self._url + fn, content=json.dumps(args, default=str),
                                     headers=self._headers)
        except self._httpx.TransportError as exc:
            raise errors.DatabaseUnavailable(_GENERIC[errors.DatabaseUnavailable],
                                             details={"transport": type(exc).__name__}) from None
        if resp.status_code < 300:
            return resp.json() if resp.content else None
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict) or "code" not in body:
            if resp.status_code >= 500:
                raise errors.DatabaseUnavailable(_GENERIC[errors.DatabaseUnavailable],
                                                 details={"http_status": resp.status_code})
            raise errors.AppError("the data API rejected the call", code="database_error",
                                  details={"http_status": resp.status_code})
        raise map_sqlstate(str(body.get("code")), str(body.get("message") or ""), body.get("hint"))

    def close(self) -> None:
        self._client.close()


@functools.lru_cache(maxsize=512)
def _query(fn: str, names: tuple[str, ...]) -> Any:
    """`select public.fn(name => %s, ...)`, composed once per function and argument names."""
    from psycopg import sql  # noqa: PLC0415

    return sql.SQL(sql.SQL("select public.{}({})").format(
        sql.Identifier(fn), sql.SQL(", ").join(sql.SQL("{} => %s").format(sql.Identifier(k)) for k in names)
    ).as_string(None))


class PostgresTransport:
    def __init__(self, url: str, timeout: float, pool_max: int):
        import psycopg  # noqa: PLC0415
        from psycopg_pool import ConnectionPool  # noqa: PLC0415

        self._psycopg = psycopg
        self._timeout = timeout
        # prepare_threshold=None: no server-side prepared statements (transaction poolers).
        self._pool = ConnectionPool(
            # Waiting for a pooled connection is bounded tighter than a statement: when the database
            # is down, callers learn it in 2 s instead of queueing behind reconnect attempts.
            url, min_size=0, max_size=pool_max, open=True, timeout=min(timeout, 2.0), max_idle=120,
            kwargs={"autocommit": True, "prepare_threshold": None, "connect_timeout": max(2, int(timeout))},
            name="wa-db")
        self.round_trips = 0

    def call(self, fn: str, args: dict[str, Any]) -> Any:
        from psycopg.types.json import Jsonb  # noqa: PLC0415

        query = _query(fn, tuple(args))
        params = [Jsonb(v) if isinstance(v, (dict, list)) else v for v in args.values()]
        for attempt in (1, 2):
            try:
                return self._execute(query, params)
            except self._psycopg.OperationalError as exc:
                # A pooled connection may have died while idle (database restarted). Every function
                # we call is idempotent by its unique keys, so one retry on a new connection is safe.
                if attempt == 2 or getattr(exc, "sqlstate", None) not in (None, "57P01", "08006", "08003"):
                    raise self._map(exc) from None
                _log.warning("database connection lost; retrying once", extra={"fn": fn})
            except self._psycopg.Error as exc:
                raise self._map(exc) from None
            except Exception as exc:  # pool timeout and the like
                if type(exc).__name__ == "PoolTimeout":
                    raise errors.DatabaseUnavailable(_GENERIC[errors.DatabaseUnavailable]) from None
                raise
        raise AssertionError("unreachable")

    def _execute(self, query: Any, params: list[Any]) -> Any:
        # Buffered provider-call metrics ride along in the same statement (lib/recorder.py).
        query, params, samples = recorder.piggyback(query, params)
        try:
            with self._pool.connection() as conn:
                ticket = _watchdog.watch(conn, self._timeout)
                try:
                    self.round_trips += 1
                    row = conn.execute(query, params).fetchone()
                finally:
                    _watchdog.done(ticket)
        except BaseException:
            recorder.restore(samples)
            raise
        return row[0] if row else None

    def _map(self, exc: Exception) -> errors.AppError:
        diag = getattr(exc, "diag", None)
        sqlstate = getattr(exc, "sqlstate", None)
        if sqlstate is None and isinstance(exc, self._psycopg.DataError):
            # Refused by psycopg before sending (a NUL character in text): the request's fault.
            return errors.InvalidRequest("the request contains characters that cannot be stored (NUL)",
                                         code="invalid_characters")
        if sqlstate is None:  # connection-level failure: no SQLSTATE from a server
            return errors.DatabaseUnavailable(_GENERIC[errors.DatabaseUnavailable],
                                              details={"transport": type(exc).__name__})
        return map_sqlstate(sqlstate, getattr(diag, "message_primary", None) or str(exc),
                            getattr(diag, "message_hint", None))

    def close(self) -> None:
        self._pool.close()


_lock = threading.Lock()
_transport: Transport | None = None


def transport() -> Transport:
    global _transport
    if _transport is None:
        with _lock:
            if _transport is None:
                _transport = _build()
    return _transport


def _build() -> Transport:
    s = config.settings()
    if s.transport == "postgres":
        return PostgresTransport(config.require(s.database_url, "DATABASE_URL"), s.db_timeout_seconds, s.db_pool_max)
    return PostgrestTransport(config.require(s.supabase_url, "SUPABASE_URL"),
                              config.require(s.supabase_service_role_key, "SUPABASE_SERVICE_ROLE_KEY"),
                              s.db_timeout_seconds)


def use(t: Transport | None) -> None:
    """Install a transport (tests, dev server); None forgets the current one."""
    global _transport
    with _lock:
        old, _transport = _transport, t
    if old is not None and old is not t:
        old.close()


def call(fn: str, **args: Any) -> Any:
    if not _NAME.match(fn) or not all(_NAME.match(k) for k in args):
        raise ValueError(f"invalid SQL function or argument name: {fn}")
    started = time.perf_counter()
    try:
        return transport().call(fn, args)
    finally:
        _log.debug("db call", extra={"fn": fn, "latency_ms": round((time.perf_counter() - started) * 1000, 2)})

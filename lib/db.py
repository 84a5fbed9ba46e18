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

import json
import re
import threading
import time
from typing import Any, Protocol

from lib import config, errors, log

_log = log.get("db")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# SQLSTATE → error class. Custom WAxxx codes are raised by our own SQL functions.
_EXACT: dict[str, type[errors.AppError]] = {
    "WA400": errors.InvalidRequest, "WA403": errors.Forbidden, "WA404": errors.NotFound,
    "WA409": errors.Conflict, "P0002": errors.NotFound, "23505": errors.Conflict,
    "23503": errors.NotFound, "23502": errors.InvalidRequest, "23514": errors.InvalidRequest,
    "22P02": errors.InvalidRequest, "22023": errors.InvalidRequest, "22004": errors.InvalidRequest,
    "40001": errors.DatabaseUnavailable, "40P01": errors.DatabaseUnavailable,
    "57014": errors.DatabaseUnavailable,  # statement cancelled by our timeout
    "42883": errors.ConfigError, "42P01": errors.ConfigError, "PGRST202": errors.ConfigError,
    "42501": errors.ConfigError,
}
_PREFIX: dict[str, type[errors.AppError]] = {
    "08": errors.DatabaseUnavailable, "53": errors.DatabaseUnavailable, "57": errors.DatabaseUnavailable,
    "58": errors.DatabaseUnavailable, "22": errors.InvalidRequest, "PGRST0": errors.DatabaseUnavailable,
}
_GENERIC = {
    errors.ConfigError: "the database is missing a function or a permission; apply the migrations",
    errors.DatabaseUnavailable: "the database is unavailable; try again shortly",
}


def map_sqlstate(code: str | None, message: str, hint: str | None = None) -> errors.AppError:
    """One mapping from a SQLSTATE (or PostgREST code) to our error hierarchy."""
    code = code or ""
    cls = _EXACT.get(code) or next((c for p, c in _PREFIX.items() if code.startswith(p)), None)
    if cls is None:
        return errors.AppError("the database rejected the operation", code="database_error",
                               details={"sqlstate": code})
    if code.startswith("WA") or code == "P0002":
        return cls(message, code=hint or None)
    if cls in _GENERIC:
        return cls(_GENERIC[cls], details={"sqlstate": code})
    return cls(message, details={"sqlstate": code})


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
        from psycopg import sql  # noqa: PLC0415
        from psycopg.types.json import Jsonb  # noqa: PLC0415

        query = sql.SQL("select public.{}({})").format(
            sql.Identifier(fn),
            sql.SQL(", ").join(sql.SQL("{} => %s").format(sql.Identifier(k)) for k in args))
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
        with self._pool.connection() as conn:
            timer = threading.Timer(self._timeout, conn.cancel_safe)
            timer.daemon = True
            timer.start()
            try:
                self.round_trips += 1
                row = conn.execute(query, params).fetchone()
            finally:
                timer.cancel()
        return row[0] if row else None

    def _map(self, exc: Exception) -> errors.AppError:
        diag = getattr(exc, "diag", None)
        sqlstate = getattr(exc, "sqlstate", None)
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

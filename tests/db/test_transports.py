"""Both data-layer transports: same call, same results, same error mapping."""

from __future__ import annotations

import json

import httpx
import psycopg
import pytest
import respx

from lib import db, errors

SUPABASE = "https://proj.supabase.co"
KEY = "service-role-key-for-tests-0123456789"

RAISING_FN = """
create or replace function public.test_raise(p_code text, p_hint text default null)
returns jsonb language plpgsql set search_path = '' as $$
begin
  if p_code = 'ok' then return jsonb_build_object('echo', p_hint); end if;
  raise exception 'domain message for %', p_code using errcode = p_code, hint = coalesce(p_hint, '');
end $$;
"""


@pytest.fixture
def raising_fn(sql, database):
    sql.execute(RAISING_FN)
    yield
    sql.execute("drop function public.test_raise(text, text)")


CASES = [
    ("WA404", "number_not_found", errors.NotFound, "number_not_found"),
    ("WA409", "already_connected", errors.Conflict, "already_connected"),
    ("WA400", "invalid_request", errors.InvalidRequest, "invalid_request"),
    ("WA403", "provider_not_enabled", errors.Forbidden, "provider_not_enabled"),
    ("P0002", None, errors.NotFound, "not_found"),
    ("23505", None, errors.Conflict, "conflict"),
    ("22P02", None, errors.InvalidRequest, "invalid_value"),
    ("57014", None, errors.DatabaseUnavailable, "database_unavailable"),
    ("40001", None, errors.DatabaseUnavailable, "database_unavailable"),
    ("53300", None, errors.DatabaseUnavailable, "database_unavailable"),
    ("42501", None, errors.ConfigError, "config_error"),
    ("XX000", None, errors.AppError, "database_error"),
]


def test_postgres_transport_returns_the_functions_json(database):
    result = db.call("app_health")
    assert result["ok"] is True and "now" in result
    assert database.round_trips == 1


@pytest.mark.parametrize(("sqlstate", "hint", "cls", "code"), CASES)
def test_postgres_errors_map_by_sqlstate(raising_fn, sqlstate, hint, cls, code):
    with pytest.raises(cls) as info:
        db.call("test_raise", p_code=sqlstate, p_hint=hint)
    assert type(info.value) is cls and info.value.code == code


@pytest.mark.parametrize(("sqlstate", "hint", "cls", "code"), CASES)
@respx.mock
def test_postgrest_errors_map_like_postgres(sqlstate, hint, cls, code):
    # PostgREST's error body: {code, message, details, hint} (docs/references/errors.rst).
    respx.post(f"{SUPABASE}/rest/v1/rpc/test_raise").respond(
        400, json={"code": sqlstate, "message": f"domain message for {sqlstate}", "details": None, "hint": hint})
    t = db.PostgrestTransport(SUPABASE, KEY, timeout=2)
    with pytest.raises(cls) as info:
        t.call("test_raise", {"p_code": sqlstate, "p_hint": hint})
    assert type(info.value) is cls and info.value.code == code


@respx.mock
def test_postgrest_request_shape_matches_supabase_py():
    """Our hand-rolled RPC call sends what the official client sends (plus explicit timeouts)."""
    route = respx.post(f"{SUPABASE}/rest/v1/rpc/ingest").respond(200, json={"ok": True})
    from supabase import create_client

    create_client(SUPABASE, KEY).rpc("ingest", {"p_a": 1, "p_b": {"x": [1, 2]}}).execute()
    official = route.calls.last.request

    t = db.PostgrestTransport(SUPABASE, KEY, timeout=2)
    assert t.call("ingest", {"p_a": 1, "p_b": {"x": [1, 2]}}) == {"ok": True}
    ours = route.calls.last.request

    assert ours.method == official.method == "POST"
    assert ours.url == official.url
    assert json.loads(ours.content) == json.loads(official.content)
    for header in ("apikey", "authorization", "content-type"):
        assert ours.headers[header] == official.headers[header], header
    assert t.round_trips == 1


@respx.mock
def test_postgrest_transport_failures_are_retryable_errors():
    respx.post(f"{SUPABASE}/rest/v1/rpc/f1").mock(side_effect=httpx.ConnectError("refused"))
    respx.post(f"{SUPABASE}/rest/v1/rpc/f2").respond(502, text="<html>bad gateway</html>")
    respx.post(f"{SUPABASE}/rest/v1/rpc/f3").respond(404, json={"code": "PGRST202", "message": "not found"})
    t = db.PostgrestTransport(SUPABASE, KEY, timeout=2)
    with pytest.raises(errors.DatabaseUnavailable):
        t.call("f1", {})
    with pytest.raises(errors.DatabaseUnavailable):
        t.call("f2", {})
    with pytest.raises(errors.ConfigError):
        t.call("f3", {})


def test_a_stopped_database_is_unavailable_then_recovers(pg_cluster, db_url, sql, database):
    assert db.call("app_health")["ok"]
    sql.close()
    pg_cluster.stop("fast")
    try:
        with pytest.raises(errors.DatabaseUnavailable):
            db.call("app_health")
    finally:
        pg_cluster.start()
    assert db.call("app_health")["ok"]  # the pool replaces the dead connection


def test_a_slow_statement_is_cancelled_at_the_timeout(db_url, base_env):
    t = db.PostgresTransport(db_url, timeout=0.3, pool_max=2)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("create or replace function public.test_sleep() returns jsonb language sql "
                     "as $$ select pg_sleep(5); select '{}'::jsonb $$")
    try:
        with pytest.raises(errors.DatabaseUnavailable):
            t.call("test_sleep", {})
    finally:
        t.close()
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("drop function public.test_sleep()")


def test_function_and_argument_names_are_validated(database):
    with pytest.raises(ValueError):
        db.call("app_health; drop table x")
    with pytest.raises(ValueError):
        db.call("app_health", **{"a b": 1})

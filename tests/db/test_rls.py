"""Row level security as Supabase enforces it: tenants apart, API roles kept off backend objects."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.conftest import make_user


def _as(conn: psycopg.Connection, role: str, user: str | None = None) -> None:
    conn.execute(f"set role {role}")
    claims = {"sub": user, "role": role} if user else {"role": role}
    conn.execute("select set_config('request.jwt.claims', %s, false)", (json.dumps(claims),))


@pytest.fixture
def tenants(sql, database):
    ids = {}
    for name in ("a", "b"):
        owner = make_user(sql)
        number = sql.execute(
            "insert into public.numbers (owner_id, label, provider, provider_instance_id, status) "
            "values (%s, %s, 'evolution', %s, 'active') returning id", (owner, f"num-{name}", f"inst-{name}")).fetchone()[0]
        sql.execute("insert into private.number_secrets (number_id, api_token, webhook_token) values (%s, %s, %s)",
                    (number, f"token-{name}", f"hook-{name}"))
        chat = sql.execute("insert into public.chats (number_id, owner_id, wa_chat_id) values (%s, %s, %s) returning id",
                           (number, owner, f"7900000000{name == 'a' and 1 or 2}@c.us")).fetchone()[0]
        sql.execute("insert into public.messages (chat_id, owner_id, number_id, provider_message_id, direction, body) "
                    "values (%s, %s, %s, %s, 'inbound', 'hi')", (chat, owner, number, f"MSG-{name}"))
        sql.execute("insert into public.number_status_events (number_id, owner_id, to_status, changed, source, "
                    "occurred_at) values (%s, %s, 'active', true, 'webhook', now())", (number, owner))
        ids[name] = {"owner": owner, "number": number, "chat": chat}
    return ids


TABLES = ("numbers", "chats", "messages", "number_status_events")


def test_an_owner_sees_only_their_own_rows(db_url, tenants):
    with psycopg.connect(db_url, autocommit=True) as conn:
        _as(conn, "authenticated", tenants["a"]["owner"])
        for table in TABLES:
            owners = {r[0] for r in conn.execute(f"select owner_id::text from public.{table}")}
            assert owners == {tenants["a"]["owner"]}, table
        assert conn.execute("select count(*) from public.numbers where id = %s",
                            (tenants["b"]["number"],)).fetchone()[0] == 0


@pytest.mark.parametrize("statement", [
    "update public.numbers set label = 'stolen' where id = %(number)s",
    "update public.chats set name = 'stolen' where id = %(chat)s",
    "delete from public.messages where chat_id = %(chat)s",
    "delete from public.numbers where id = %(number)s",
])
def test_nobody_writes_another_tenants_rows(db_url, sql, tenants, statement):
    with psycopg.connect(db_url, autocommit=True) as conn:
        _as(conn, "authenticated", tenants["a"]["owner"])
        try:
            cur = conn.execute(statement, tenants["b"])
            assert cur.rowcount == 0
        except psycopg.errors.InsufficientPrivilege:
            pass
    assert sql.execute("select label from public.numbers where id = %s", (tenants["b"]["number"],)).fetchone()[0] == "num-b"
    assert sql.execute("select count(*) from public.messages where chat_id = %s", (tenants["b"]["chat"],)).fetchone()[0] == 1


@pytest.mark.parametrize("statement", [
    "insert into public.numbers (owner_id, label, provider_instance_id) values (%(owner)s, 'x', 'y')",
    "insert into public.messages (chat_id, owner_id, number_id, direction) values (%(chat)s, %(owner)s, %(number)s, 'outbound')",
    "update public.numbers set status = 'active'",
])
def test_owners_write_only_through_the_backend(db_url, tenants, statement):
    with psycopg.connect(db_url, autocommit=True) as conn:
        _as(conn, "authenticated", tenants["a"]["owner"])
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement, tenants["a"])


def test_anon_sees_nothing(db_url, tenants):
    with psycopg.connect(db_url, autocommit=True) as conn:
        _as(conn, "anon")
        for table in TABLES:
            try:
                assert conn.execute(f"select count(*) from public.{table}").fetchone()[0] == 0
            except psycopg.errors.InsufficientPrivilege:
                pass


@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_provider_secrets_and_backend_tables_are_unreadable(db_url, tenants, role):
    with psycopg.connect(db_url, autocommit=True) as conn:
        _as(conn, role, tenants["a"]["owner"] if role == "authenticated" else None)
        for table in ("number_secrets", "dead_letters", "provider_rollout", "legacy_duplicate_messages"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select * from private.{table}")
        cols = {r[0] for r in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'public'")}
        assert not cols & {"api_token", "api_token_instance", "webhook_token", "token"}


def _backend_functions(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
        "where n.nspname = 'public' and p.prokind = 'f'")]


def test_backend_functions_are_service_role_only(sql, database):
    functions = _backend_functions(sql)
    assert "app_health()" in functions
    for fn in functions:
        for role in ("anon", "authenticated", "public"):
            if role == "public":
                granted = sql.execute(
                    "select exists (select 1 from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a "
                    "where p.oid = %s::regprocedure and a.grantee = 0 and a.privilege_type = 'EXECUTE')", (fn,)).fetchone()[0]
            else:
                granted = sql.execute("select has_function_privilege(%s, %s, 'execute')", (role, fn)).fetchone()[0]
            assert not granted, f"{role} can execute {fn}"
        assert sql.execute("select has_function_privilege('service_role', %s, 'execute')", (fn,)).fetchone()[0], fn


def test_service_role_runs_backend_functions_and_anon_cannot(db_url, database):
    with psycopg.connect(db_url, autocommit=True) as conn:
        _as(conn, "service_role")
        assert conn.execute("select public.app_health()").fetchone()[0]["ok"] is True
        _as(conn, "anon")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select public.app_health()")

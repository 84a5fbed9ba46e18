"""Legacy GREEN-API data survives every later migration, unchanged where it matters."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from lib import migrate

BASELINE = migrate.migration_files()[0][0]


@pytest.fixture
def legacy_db(pg_cluster):
    name = f"legacy_{uuid.uuid4().hex[:8]}"
    url = pg_cluster.create_database(name)
    migrate.apply(url, upto=BASELINE)
    return url


def _arrange_legacy(conn: psycopg.Connection) -> dict:
    owner = str(uuid.uuid4())
    conn.execute("insert into auth.users (id, email) values (%s, 'legacy@example.test')", (owner,))
    n1 = conn.execute(
        "insert into public.numbers (owner_id, label, phone, id_instance, api_token_instance, api_url, status) "
        "values (%s, 'Support', '79001234567', '7103123456', 'legacy-secret-token-1', "
        "'https://7103.api.greenapi.com', 'authorized') returning id", (owner,)).fetchone()[0]
    n2 = conn.execute(
        "insert into public.numbers (owner_id, label, id_instance, api_token_instance, status) "
        "values (%s, 'Sales', '7103000002', 'legacy-secret-token-2', 'notAuthorized') returning id",
        (owner,)).fetchone()[0]
    chat = conn.execute(
        "insert into public.chats (number_id, owner_id, wa_chat_id, name, last_message_preview, last_message_at) "
        "values (%s, %s, '79001234568@c.us', 'Maria', 'hello', '2025-05-01T10:00:00Z') returning id",
        (n1, owner)).fetchone()[0]
    group = conn.execute(
        "insert into public.chats (number_id, owner_id, wa_chat_id, name) "
        "values (%s, %s, '120363043968066561@g.us', 'Team') returning id", (n1, owner)).fetchone()[0]
    rows = [
        ("BAE5F4886F6F0001", "inbound", "hello", None, "2025-05-01T10:00:00Z"),
        ("BAE5F4886F6F0001", "inbound", "hello", None, "2025-05-01T10:00:01Z"),  # duplicate webhook
        ("3EB0C767D097B7C7C030", "outbound", "hi Maria", "read", "2025-05-01T10:01:00Z"),
        ("3EB0C767D097B7C7C031", "outbound", "are you there?", "noAccount", "2025-05-01T10:02:00Z"),
        (None, "outbound", "draft without id", None, "2025-05-01T10:03:00Z"),
    ]
    for mid, direction, body, status, at in rows:
        conn.execute("insert into public.messages (chat_id, owner_id, id_message, direction, body, status, created_at) "
                     "values (%s, %s, %s, %s, %s, %s, %s)", (chat, owner, mid, direction, body, status, at))
    return {"owner": owner, "n1": n1, "n2": n2, "chat": chat, "group": group}


def test_legacy_rows_survive_every_later_migration(legacy_db):
    with psycopg.connect(legacy_db, autocommit=True) as conn:
        ids = _arrange_legacy(conn)
        applied = migrate.apply(legacy_db)
        assert applied == [v for v, _, _ in migrate.migration_files()[1:]]

        numbers = conn.execute(
            "select id, owner_id, label, phone, id_instance, provider, instance_data, status, provider_instance_id, "
            "status_reason from public.numbers order by label desc").fetchall()
        n1, n2 = numbers
        assert (str(n1[0]), str(n1[1]), n1[2], n1[3], n1[4]) == (str(ids["n1"]), ids["owner"], "Support",
                                                               "79001234567", "7103123456")
        assert n1[5] == "green-api" and n2[5] == "green-api"
        assert n1[6] == {"idInstance": "7103123456", "apiUrl": "https://7103.api.greenapi.com"}
        assert (n1[7], n2[7]) == ("active", "disconnected")  # GREEN-API words mapped to the plan's words
        assert n1[8] == "7103123456"

        # The tokens moved out of the owner-readable table, intact.
        cols = {r[0] for r in conn.execute(
            "select column_name from information_schema.columns where table_schema='public' and table_name='numbers'")}
        assert "api_token_instance" not in cols
        secrets = dict(conn.execute("select number_id, api_token from private.number_secrets").fetchall())
        assert secrets == {ids["n1"]: "legacy-secret-token-1", ids["n2"]: "legacy-secret-token-2"}

        chats = conn.execute("select wa_chat_id, name, last_message_preview, is_group from public.chats "
                             "order by wa_chat_id").fetchall()
        assert chats == [("120363043968066561@g.us", "Team", None, True), ("79001234568@c.us", "Maria", "hello", False)]

        msgs = conn.execute("select provider_message_id, direction, body, status, status_reason, number_id "
                            "from public.messages order by created_at").fetchall()
        assert [(m[0], m[2], m[3], m[4]) for m in msgs] == [
            ("BAE5F4886F6F0001", "hello", None, None),
            ("3EB0C767D097B7C7C030", "hi Maria", "read", None),
            ("3EB0C767D097B7C7C031", "are you there?", "failed", "noAccount"),
            (None, "draft without id", None, None),
        ]
        assert all(m[5] == ids["n1"] for m in msgs)
        # The duplicate the legacy product stored twice is archived whole, not lost.
        archived = conn.execute("select provider_message_id, body, created_at from private.legacy_duplicate_messages"
                                ).fetchall()
        assert [(a[0], a[1]) for a in archived] == [("BAE5F4886F6F0001", "hello")]

        # The legacy queries the product runs still work: an owner's inbox, newest first.
        conn.execute("set role authenticated")
        conn.execute("select set_config('request.jwt.claims', %s, false)", (f'{{"sub":"{ids["owner"]}"}}',))
        inbox = conn.execute(
            "select c.wa_chat_id, count(m.id) from public.chats c left join public.messages m on m.chat_id = c.id "
            "where c.number_id = %s group by c.wa_chat_id order by c.wa_chat_id", (ids["n1"],)).fetchall()
        assert inbox == [("120363043968066561@g.us", 0), ("79001234568@c.us", 4)]
        conn.execute("reset role")

        # New writes keep the legacy rows' guarantees: a second copy of a message id is refused.
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("insert into public.messages (chat_id, owner_id, number_id, provider_message_id, direction) "
                         "values (%s, %s, %s, 'BAE5F4886F6F0001', 'inbound')", (ids["chat"], ids["owner"], ids["n1"]))


def test_migrations_are_recorded_and_idempotent(legacy_db):
    first = migrate.apply(legacy_db)
    assert first  # everything after the baseline
    assert migrate.apply(legacy_db) == []
    with psycopg.connect(legacy_db) as conn:
        versions = [r[0] for r in conn.execute("select version from supabase_migrations.schema_migrations order by 1")]
    assert versions == [v for v, _, _ in migrate.migration_files()]


def test_a_failing_migration_leaves_nothing_behind(pg_cluster, tmp_path):
    url = pg_cluster.create_database(f"broken_{uuid.uuid4().hex[:8]}")
    (tmp_path / "20990101000000_good.sql").write_text("create table public.good (id int);")
    (tmp_path / "20990101000001_bad.sql").write_text(
        "create table public.half (id int);\ninsert into public.half values (1);\nselect no_such_function();")
    with pytest.raises(psycopg.errors.UndefinedFunction):
        migrate.apply(url, directory=tmp_path)
    with psycopg.connect(url) as conn:
        assert conn.execute("select to_regclass('public.good') is not null, to_regclass('public.half') is null"
                            ).fetchone() == (True, True)
        assert [r[0] for r in conn.execute("select version from supabase_migrations.schema_migrations")] == [
            "20990101000000"]

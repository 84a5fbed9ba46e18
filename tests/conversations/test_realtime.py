"""The Realtime publication carries chats, messages and numbers, and nothing of the private schema."""

from __future__ import annotations


def test_the_realtime_publication_holds_the_inbox_tables(sql, database):
    tables = sql.execute("select schemaname, tablename from pg_publication_tables "
                         "where pubname = 'supabase_realtime' order by 2").fetchall()
    assert tables == [("public", "chats"), ("public", "history_imports"), ("public", "messages"),
                      ("public", "numbers")]


def test_what_realtime_sends_is_what_rls_lets_the_owner_read(sql, database):
    # Realtime checks each change against the subscriber's SELECT policy: every published table has RLS on.
    rls = sql.execute("select relname, relrowsecurity from pg_class where relnamespace = 'public'::regnamespace "
                      "and relname in ('chats', 'history_imports', 'messages', 'numbers') order by 1").fetchall()
    assert rls == [("chats", True), ("history_imports", True), ("messages", True), ("numbers", True)]

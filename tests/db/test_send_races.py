"""A send's own completion racing the provider's echo of the same message (Evolution delivers
`send.message` before its HTTP answer): both transactions take the chat, then the message id."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import psycopg
import pytest

from lib import db
from tests.conftest import make_user
from tests.db.test_lifecycle import _wait_for_lock_wait, make_number

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def _echo(chat_id: str) -> list[dict]:
    return [{"kind": "message", "provider_message_id": "ECHO1", "direction": "outbound", "chat_id": chat_id,
             "type": "text", "text": "hi", "from_me_source": "api", "timestamp": T0.isoformat()}]


# A phone chat (resolve_chat's fast path) and a chat known by its LID alone (the LID path).
@pytest.mark.parametrize("chat_id", ["1@c.us", "187432569012345@lid"])
def test_the_echo_of_a_send_and_the_send_completing_never_deadlock(sql, database, db_url, chat_id):
    owner = make_user(sql)
    number = make_number(sql, owner)
    chat = db.call("resolve_chat", p_number_id=number, p_owner_id=owner, p_chat_id=chat_id, p_lid=None,
                   p_name=None, p_is_group=False)
    ours = sql.execute("insert into public.messages (chat_id, owner_id, number_id, direction, type, body, status, "
                       "from_me_source) values (%s, %s, %s, 'outbound', 'text', 'hi', 'pending', 'api') "
                       "returning id::text", (chat, owner, number)).fetchone()[0]
    # Hold the echo's insert at the unique key, after it took the message id: another transaction has
    # an uncommitted row with the same provider id.
    holder = psycopg.connect(db_url)
    holder.execute("insert into public.messages (chat_id, owner_id, number_id, provider_message_id, direction) "
                   "values (%s, %s, %s, 'ECHO1', 'outbound')", (chat, owner, number))
    failures: list[str] = []

    def run(statement: str, args: tuple) -> None:
        try:
            with psycopg.connect(db_url, autocommit=True) as conn:
                conn.execute(statement, args)
        except psycopg.Error as exc:
            failures.append(f"{exc.sqlstate}: {exc}")

    echo = threading.Thread(target=run, args=(
        "select public.ingest_webhook('evolution', 'inbox-a', null, null, %s::jsonb, 'send.message', null)",
        (json.dumps(_echo(chat_id)),)))
    echo.start()
    assert _wait_for_lock_wait(sql, 1)  # the echo waits at the unique key, holding what it has locked
    complete = threading.Thread(target=run, args=(
        "select public.complete_send(%s::uuid, 'ECHO1', 'sent', %s)", (ours, T0)))
    complete.start()
    assert _wait_for_lock_wait(sql, 2)  # the completion waits too
    holder.rollback()
    holder.close()
    echo.join(15)
    complete.join(15)
    assert failures == []
    rows = sql.execute("select id::text, status from public.messages where provider_message_id = 'ECHO1'").fetchall()
    assert rows == [(ours, "sent")]

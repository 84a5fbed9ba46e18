"""Chats kept by the ingest call: a chat first seen by its LID folds into the phone chat with its state."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import make_user
from tests.db.test_lifecycle import T0, ingest, make_number


def inbound(mid, chat_id, text, at, lid=None):
    event = {"kind": "message", "provider_message_id": mid, "direction": "inbound", "chat_id": chat_id,
             "type": "text", "text": text, "timestamp": at.isoformat()}
    return [{**event, "chat_lid": lid}] if lid else [event]


def test_a_lid_chat_folds_into_the_phone_chat_with_its_unread_messages_and_preview(sql, database):
    number = make_number(sql, make_user(sql))
    ingest(inbound("P1", "5511@c.us", "on the phone chat", T0))
    ingest(inbound("L1", "99@lid", "first by lid", T0 + timedelta(seconds=1)))
    ingest(inbound("L2", "99@lid", "second by lid", T0 + timedelta(seconds=2)))
    ingest(inbound("P2", "5511@c.us", "older, delivered late", T0 - timedelta(seconds=5), lid="99@lid"))
    chats = sql.execute("select wa_chat_id, unread_count, last_message_preview, last_message_at from public.chats "
                        "where number_id = %s", (number,)).fetchall()
    assert chats == [("5511@c.us", 4, "second by lid", T0 + timedelta(seconds=2))]


def test_a_contact_name_is_stored_trimmed_on_every_path(sql, database):
    number = make_number(sql, make_user(sql))
    names = [{**inbound(mid, chat, "hi", T0)[0], "chat_name": name} for mid, chat, name in (
        ("N1", "5511@c.us", " Maria "),      # a new chat
        ("N2", "5511@c.us", "  Maria S.  "),  # a known chat, renamed (the fast path)
        ("N3", "77@lid", " Ana "), ("N4", "77@lid", " Ana B. "))]  # a chat known by its LID alone
    for event in names:
        ingest([event])
    rows = sql.execute("select wa_chat_id, name from public.chats where number_id = %s order by wa_chat_id",
                       (number,)).fetchall()
    assert rows == [("5511@c.us", "Maria S."), ("77@lid", "Ana B.")]

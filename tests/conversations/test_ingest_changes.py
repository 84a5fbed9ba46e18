"""Reactions, edits, deletes and unread counts through ingest_webhook on the real database."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import psycopg

from lib import db
from tests.db.test_ingest import T0, ingest, msg, status
from tests.db.test_lifecycle import _wait_for_lock_wait

CHAT = "5511999990002@c.us"


def reaction(target, emoji, at=T0, mid=None, direction="inbound", author=None):
    return msg(mid or f"R-{target}-{emoji}-{at.timestamp()}", direction=direction, type="reaction", text=emoji or None,
               at=at, author=author, extra={"target_id": target, "emoji": emoji, "removed": emoji == ""})


def edit(target, text, at=T0):
    return {"kind": "edit", "provider_message_id": target, "text": text, "timestamp": at.isoformat()}


def delete(target, at=T0):
    return {"kind": "delete", "provider_message_id": target, "timestamp": at.isoformat()}


def message(sql, mid):
    return sql.execute("select body, reactions, edit_history, edited_at, deleted_at from public.messages "
                       "where provider_message_id = %s", (mid,)).fetchone()


def chat(sql):
    return sql.execute("select unread_count, last_message_preview from public.chats where wa_chat_id = %s",
                       (CHAT,)).fetchone()


def test_changes_that_arrive_before_their_message_are_applied_when_it_lands(sql, number):
    t1, t2 = T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)
    result = ingest([reaction("M1", "👍", at=t1), edit("M1", "fixed", at=t2)])
    assert result["changes"] == 2 and result["inserted"] == 0
    assert sql.execute("select count(*) from public.messages").fetchone()[0] == 0
    ingest([msg("M1", text="fixd")])
    body, reactions, history, edited_at, _ = message(sql, "M1")
    assert body == "fixed" and history[0]["body"] == "fixd" and edited_at == t2
    assert list(reactions) == [CHAT] and reactions[CHAT]["emoji"] == "👍"
    assert sql.execute("select count(*) from private.pending_message_changes").fetchone()[0] == 0


def test_an_older_reaction_delivered_late_does_not_replace_a_newer_one(sql, number):
    ingest([msg("M1")])
    t1, t2 = T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)
    ingest([reaction("M1", "", at=t2)])
    ingest([reaction("M1", "👍", at=t1)])  # the add, redelivered after its removal
    assert message(sql, "M1")[1][CHAT]["emoji"] is None


def test_edits_apply_in_order_and_a_repeat_changes_nothing(sql, number):
    ingest([msg("M1", text="one")])
    t1, t2 = T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)
    ingest([edit("M1", "three", at=t2)])
    ingest([edit("M1", "two", at=t1)])  # older, late
    ingest([edit("M1", "three", at=t2)])  # repeat
    body, _, history, _, _ = message(sql, "M1")
    assert body == "three" and [h["body"] for h in history] == ["one"]


def test_a_delete_hides_the_content_and_a_later_edit_or_reaction_cannot_bring_it_back(sql, number):
    ingest([msg("M1", text="secret", extra={"title": "preview of a link"})])
    ingest([delete("M1", at=T0 + timedelta(seconds=1)), delete("M1", at=T0 + timedelta(seconds=1))])
    ingest([edit("M1", "secret again", at=T0 + timedelta(seconds=2)), reaction("M1", "👍")])
    body, reactions, _, _, deleted_at = message(sql, "M1")
    assert body is None and deleted_at is not None and reactions == {}
    assert sql.execute("select extra from public.messages").fetchone()[0] == {}
    assert sql.execute("select body, extra from private.deleted_message_content").fetchone() == (
        "secret", {"title": "preview of a link"})
    assert chat(sql)[1] == "This message was deleted"


def test_unread_counts_inbound_only_and_a_reply_clears_them(sql, number):
    ingest([msg("M1", at=T0), msg("M2", at=T0 + timedelta(seconds=1))])
    ingest([msg("M2", at=T0 + timedelta(seconds=1))])  # redelivered
    ingest([reaction("M1", "👍", at=T0 + timedelta(seconds=2))])  # a reaction is not a message
    assert chat(sql)[0] == 2
    ingest([msg("O1", direction="outbound", from_me_source="phone", at=T0 + timedelta(seconds=3))])
    assert chat(sql)[0] == 0
    ingest([msg("M0", at=T0 - timedelta(seconds=5))])  # older than the reply: answered already
    assert chat(sql)[0] == 0
    ingest([msg("M3", at=T0 + timedelta(seconds=4))])
    assert chat(sql)[0] == 1


def test_a_read_on_the_phone_that_arrives_before_its_message_reads_the_chat_when_it_lands(sql, number):
    ingest([msg("M1", at=T0)])
    ingest([status("M2", "read", at=T0 + timedelta(seconds=2))])  # the READ outran its message
    ingest([msg("M2", at=T0 + timedelta(seconds=1))])
    assert chat(sql)[0] == 0
    assert sql.execute("select count(*) from private.pending_statuses").fetchone()[0] == 0
    ingest([msg("M3", at=T0 + timedelta(seconds=3))])
    assert chat(sql)[0] == 1


def test_a_read_on_the_phone_counts_a_message_committed_while_it_waited(sql, number, db_url):
    """The read recounts the unread messages after the chat is locked, so a message committed while
    the read waited for the chat is counted, not overwritten."""
    ingest([msg("M1", at=T0)])
    holder = psycopg.connect(db_url)  # ingests a later message and holds its transaction open
    holder.execute("select public.ingest_webhook('evolution', 'inbox-a', null, null, %s::jsonb, 'test', null)",
                   (json.dumps([msg("M2", at=T0 + timedelta(seconds=10))]),))
    failures: list[Exception] = []

    def read() -> None:
        try:
            ingest([status("M1", "read", at=T0 + timedelta(seconds=11))])
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    assert _wait_for_lock_wait(sql)  # the read waits for the chat the message holds
    holder.commit()
    holder.close()
    reader.join(15)
    assert not reader.is_alive() and failures == []
    assert chat(sql)[0] == 1  # M2 came after the message that was read


def test_deleting_a_message_ends_its_pending_media_job(sql, number):
    ingest([msg("P1", type="image", text=None, media={"url": "https://mmg.whatsapp.net/p1.enc",
                                                      "mime_type": "image/jpeg"})])
    assert sql.execute("select media_state from public.messages where provider_message_id = 'P1'").fetchone() == (
        "pending",)
    ingest([delete("P1", at=T0 + timedelta(seconds=1))])
    assert sql.execute("select media_state from public.messages where provider_message_id = 'P1'").fetchone() == (
        None,)
    # nothing left for the sweep or for the next webhook's claim to fetch
    assert db.call("media_due", p_limit=20, p_now=T0 + timedelta(days=1)) == []
    assert db.call("media_claim", p_number_id=number["id"], p_provider_message_ids=["P1"]) == []


def test_a_reaction_and_an_edit_racing_the_message_both_land(sql, number):
    barrier = threading.Barrier(3)
    errors = []

    def deliver(events):
        barrier.wait()
        try:
            ingest(events)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(e,)) for e in (
        [msg("M1", text="draft")], [reaction("M1", "🔥", at=T0 + timedelta(seconds=1))],
        [edit("M1", "final", at=T0 + timedelta(seconds=2))])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    body, reactions, _, _, _ = message(sql, "M1")
    assert body == "final" and reactions[CHAT]["emoji"] == "🔥"
    assert sql.execute("select count(*) from private.pending_message_changes").fetchone()[0] == 0

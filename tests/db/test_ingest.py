"""ingest_webhook on the real database: exactly-once, forward-only statuses, chat identity, states."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from lib import db
from tests.conftest import make_user

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture
def number(sql, database):
    owner = make_user(sql)
    nid = sql.execute("insert into public.numbers (owner_id, label, provider, provider_instance_id, status) "
                      "values (%s, 'support', 'evolution', 'inbox-a', 'active') returning id::text", (owner,)).fetchone()[0]
    sql.execute("insert into private.number_secrets (number_id, api_token) values (%s, 'instance-token-a')", (nid,))
    return {"id": nid, "owner": owner}


def msg(mid="M1", chat="5511999990002@c.us", direction="inbound", at=T0, **kw):
    return {"kind": "message", "provider_message_id": mid, "direction": direction, "chat_id": chat, "type": "text",
            "timestamp": at.isoformat(), "text": kw.pop("text", "hello"), **kw}


def status(mid, st, at=T0, reason=None):
    return {"kind": "status", "provider_message_id": mid, "status": st, "timestamp": at.isoformat(), "reason": reason}


def ingest(evts, instance="inbox-a", apikey=None, number_id=None):
    return db.call("ingest_webhook", p_provider="evolution", p_instance=instance, p_number_id=number_id,
                   p_apikey=apikey, p_events=evts, p_event_type="test", p_payload={"x": 1})


def test_a_message_is_stored_once_with_its_chat(sql, number):
    assert ingest([msg()])["inserted"] == 1
    again = ingest([msg()])
    assert (again["inserted"], again["duplicates"]) == (0, 1)
    rows = sql.execute("select m.provider_message_id, m.body, m.status, m.sent_at, c.wa_chat_id, c.last_message_preview "
                       "from public.messages m join public.chats c on c.id = m.chat_id").fetchall()
    assert rows == [("M1", "hello", "received", T0, "5511999990002@c.us", "hello")]


def test_the_same_event_three_times_concurrently_is_one_message(sql, number):
    barrier = threading.Barrier(3)
    results, errors = [], []

    def deliver():
        barrier.wait()
        try:
            results.append(ingest([msg("DUP", text="race")]))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r["inserted"] for r in results) == [0, 0, 1]
    assert sql.execute("select count(*) from public.messages where provider_message_id = 'DUP'").fetchone()[0] == 1
    assert sql.execute("select count(*) from public.chats").fetchone()[0] == 1


def test_status_only_moves_forward_and_read_before_delivered_stays_read(sql, number):
    ingest([msg("OUT1", direction="outbound", from_me_source="api")])
    ingest([status("OUT1", "read", T0 + timedelta(seconds=5))])
    ingest([status("OUT1", "delivered", T0 + timedelta(seconds=3))])
    ingest([status("OUT1", "sent", T0 + timedelta(seconds=1))])
    assert sql.execute("select status from public.messages where provider_message_id = 'OUT1'").fetchone()[0] == "read"


def test_failed_keeps_the_providers_reason(sql, number):
    ingest([msg("OUT2", direction="outbound", from_me_source="api")])
    ingest([status("OUT2", "sent"), status("OUT2", "failed", reason="noAccount: not on WhatsApp")])
    assert sql.execute("select status, status_reason from public.messages where provider_message_id = 'OUT2'"
                       ).fetchone() == ("failed", "noAccount: not on WhatsApp")


def test_a_status_before_its_message_is_applied_when_the_message_arrives(sql, number):
    ingest([status("EARLY", "delivered")])
    ingest([msg("EARLY", direction="outbound", from_me_source="api")])
    assert sql.execute("select status from public.messages where provider_message_id = 'EARLY'").fetchone()[0] == "delivered"
    assert sql.execute("select count(*) from private.pending_statuses").fetchone()[0] == 0


def test_preview_and_last_time_only_move_forward(sql, number):
    ingest([msg("NEW", text="newer", at=T0 + timedelta(minutes=5))])
    ingest([msg("OLD", text="older", at=T0)])
    assert sql.execute("select last_message_preview, last_message_at from public.chats").fetchone() == (
        "newer", T0 + timedelta(minutes=5))


def test_a_lid_only_chat_is_folded_into_the_phone_chat(sql, number):
    ingest([msg("L1", chat="187432569012345@lid", text="via lid")])
    ingest([msg("L2", chat="5511999990002@c.us", chat_lid="187432569012345@lid", text="with phone")])
    ingest([msg("L3", chat="187432569012345@lid", text="lid again")])
    chats = sql.execute("select wa_chat_id, lid from public.chats").fetchall()
    assert chats == [("5511999990002@c.us", "187432569012345@lid")]
    assert sql.execute("select count(*) from public.messages").fetchone()[0] == 3


def test_connection_transitions_are_recorded_with_reason(sql, number):
    r = ingest([{"kind": "connection", "status": "logged_out", "raw_state": "close", "reason_code": 401,
                 "reason": "logged out from the phone", "timestamp": T0.isoformat()}])
    assert r["transitions"] == [{"from": "active", "to": "logged_out", "event": "logged_out", "changed": True,
                                 "applied": True, "stale": False, "reason": "logged out from the phone"}]
    row = sql.execute("select status, status_reason, provider_state, provider_reason_code, disconnected_at "
                      "from public.numbers").fetchone()
    assert row == ("logged_out", "logged out from the phone", "close", 401, T0)
    # an older report arriving late changes nothing, and says so
    late = ingest([{"kind": "connection", "status": "active", "raw_state": "open", "timestamp":
                    (T0 - timedelta(minutes=1)).isoformat()}])
    assert late["transitions"][0]["changed"] is False and late["transitions"][0]["stale"] is True
    assert sql.execute("select status from public.numbers").fetchone()[0] == "logged_out"
    # history holds changes only
    assert sql.execute("select count(*), count(*) filter (where changed) from public.number_status_events"
                       ).fetchone() == (1, 1)


def test_the_latest_qr_is_stored_with_its_expiry(sql, number):
    sql.execute("update public.numbers set status = 'pending'")
    ingest([{"kind": "qr", "data_url": "data:image/png;base64,AAAA", "timestamp": T0.isoformat(),
             "expires_at": (T0 + timedelta(seconds=40)).isoformat()}])
    assert sql.execute("select status, qr_code, qr_expires_at from public.numbers").fetchone() == (
        "qr", "data:image/png;base64,AAAA", T0 + timedelta(seconds=40))
    ingest([{"kind": "connection", "status": "active", "raw_state": "open", "timestamp": (T0 + timedelta(seconds=50)).isoformat()}])
    assert sql.execute("select status, qr_code from public.numbers").fetchone() == ("active", None)


def test_an_unknown_instance_becomes_a_dead_letter(sql, number):
    r = ingest([msg()], instance="inbox-unknown")
    assert r == {"result": "dead_lettered", "reason": "unknown_number"}
    assert sql.execute("select provider, reason, provider_instance_id from private.dead_letters").fetchall() == [
        ("evolution", "unknown_number", "inbox-unknown")]
    assert sql.execute("select count(*) from public.messages").fetchone()[0] == 0


def test_another_instances_apikey_is_refused_and_nothing_written(sql, number):
    assert ingest([msg()], apikey="someone-elses-token") == {"result": "unauthorized", "reason": "apikey_mismatch"}
    assert ingest([msg()], apikey="instance-token-a")["inserted"] == 1


def test_a_token_for_one_number_cannot_write_as_another_instance(sql, number):
    r = ingest([msg()], instance="inbox-b", number_id=number["id"])
    assert r == {"result": "unauthorized", "reason": "instance_mismatch"}
    assert sql.execute("select count(*) from public.messages").fetchone()[0] == 0


def test_a_send_webhook_that_beats_the_http_answer_is_folded_into_the_sent_row(sql, number):
    owner, nid = number["owner"], number["id"]
    chat = sql.execute("insert into public.chats (number_id, owner_id, wa_chat_id) values (%s, %s, '5511999990002@c.us') "
                       "returning id::text", (nid, owner)).fetchone()[0]
    prep = db.call("prepare_send", p_owner=owner, p_chat_id=chat, p_idempotency_key="k", p_request_hash="h",
                   p_type="text", p_body="hello")
    # Evolution emits send.message before its HTTP answer reaches us; a delivery ack follows.
    ingest([msg("3EB0RACE", direction="outbound", from_me_source="api", text="hello")])
    ingest([status("3EB0RACE", "delivered")])
    done = db.call("complete_send", p_message_id=prep["message"]["id"], p_provider_message_id="3EB0RACE",
                   p_status="pending", p_sent_at=T0.isoformat())
    assert done["id"] == prep["message"]["id"] and done["status"] == "delivered"
    assert sql.execute("select count(*) from public.messages").fetchone()[0] == 1

"""The number lifecycle in SQL: the state machine as a table for both providers, provider-event
ordering, history without repeats, teardown events, dead-letter back-off, and the two ingest races."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from lib import db
from lib.providers.evolution.states import to_state as evo_state
from lib.providers.greenapi.states import to_state as green_state
from tests.conftest import make_user

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture
def owner(sql, database):
    return make_user(sql)


def make_number(sql, owner, provider="evolution", status="active", instance="inbox-a"):
    nid = sql.execute("insert into public.numbers (owner_id, label, provider, provider_instance_id, status) "
                      "values (%s, 'support', %s, %s, %s) returning id::text",
                      (owner, provider, instance, status)).fetchone()[0]
    sql.execute("insert into private.number_secrets (number_id, api_token) values (%s, 'tok')", (nid,))
    return nid


def report(nid, status, at=T0, clock="receipt", explicit=False, source="webhook"):
    return db.call("record_connection", p_number_id=nid, p_status=status, p_raw_state="x", p_reason_code=None,
                   p_reason=None, p_at=at, p_source=source, p_phone=None, p_explicit=explicit, p_clock=clock)[0]


# (provider, our status, the provider's raw state [, reason code], the status after it)
TABLE = [
    ("evolution", "pending", ("connecting",), "connecting"),
    ("evolution", "qr", ("connecting",), "qr"),                   # a QR on screen: connecting is not news
    ("evolution", "qr", ("open",), "active"),                     # the scan
    ("evolution", "active", ("connecting",), "connecting"),
    ("evolution", "active", ("close", 401), "logged_out"),
    ("evolution", "active", ("close", 403), "blocked"),
    ("evolution", "active", ("refused", 428), "disconnected"),
    ("evolution", "logged_out", ("connecting",), "logged_out"),   # Evolution's loop after a logout
    ("evolution", "logged_out", ("close",), "logged_out"),
    ("evolution", "logged_out", ("open",), "active"),             # a new scan
    ("evolution", "blocked", ("connecting",), "blocked"),
    ("evolution", "blocked", ("close", 401), "blocked"),
    ("evolution", "disconnected", ("connecting",), "connecting"),
    ("green-api", "qr", ("authorized",), "active"),
    ("green-api", "active", ("notAuthorized",), "logged_out"),
    ("green-api", "active", ("yellowCard",), "blocked"),
    ("green-api", "active", ("sleepMode",), "disconnected"),
    ("green-api", "logged_out", ("starting",), "logged_out"),
    ("green-api", "logged_out", ("sleepMode",), "logged_out"),
    ("green-api", "blocked", ("authorized",), "active"),
    ("green-api", "pending", (None,), "pending"),                 # getStateInstance null while creating
    ("green-api", "active", (None,), "active"),
    ("green-api", "pending", ("notAuthorized",), "logged_out"),
]


@pytest.mark.parametrize(("provider", "ours", "raw", "expected"), TABLE,
                         ids=[f"{p}:{o}+{'/'.join(map(str, r))}" for p, o, r, _ in TABLE])
def test_the_state_machine_for_provider_events(sql, owner, provider, ours, raw, expected):
    nid = make_number(sql, owner, provider, ours)
    state = evo_state(*raw) if provider == "evolution" else green_state(*raw)
    db.call("record_connection", p_number_id=nid, p_status=state.status, p_raw_state=state.raw_state,
            p_reason_code=state.reason_code, p_reason=state.reason, p_at=T0, p_source="webhook")
    assert sql.execute("select status from public.numbers where id = %s", (nid,)).fetchone()[0] == expected


@pytest.mark.parametrize("ours", ["logged_out", "blocked"])
def test_an_explicit_action_of_the_user_leaves_logged_out_and_blocked(sql, owner, ours):
    nid = make_number(sql, owner, status=ours)
    db.call("save_qr", p_number_id=nid, p_qr_code="data:image/png;base64,AA", p_pairing_code=None,
            p_expires_at=datetime.now(UTC) + timedelta(seconds=40))
    assert sql.execute("select status, qr_code from public.numbers where id = %s", (nid,)).fetchone() == (
        "qr", "data:image/png;base64,AA")


def test_repeats_of_a_state_are_counted_on_one_history_row(sql, owner):
    nid = make_number(sql, owner, status="active")
    for i in range(190):  # Evolution's reconnect loop: `connecting` twice a second, forever
        report(nid, "connecting", T0 + timedelta(seconds=i))
    rows = sql.execute("select to_status, repeat_count, last_seen_at from public.number_status_events "
                       "where number_id = %s", (nid,)).fetchall()
    assert rows == [("connecting", 189, T0 + timedelta(seconds=189))]


def test_a_provider_event_is_not_ordered_against_our_own_writes(sql, owner):
    """GREEN-API stamps in whole seconds by its clock: `authorized` in the same second as our `qr`
    write was dropped, and the number stayed `qr` forever."""
    nid = make_number(sql, owner, provider="green-api", status="pending", instance="7103000001")
    db.call("save_qr", p_number_id=nid, p_qr_code="q", p_pairing_code=None, p_expires_at=datetime.now(UTC))
    second = datetime.now(UTC).replace(microsecond=0)  # earlier than our write, by its fraction
    assert report(nid, "active", second, clock="provider")["changed"] is True
    assert sql.execute("select status from public.numbers where id = %s", (nid,)).fetchone()[0] == "active"


def test_provider_events_are_ordered_among_themselves_with_skew_tolerated_across_clocks(sql, owner):
    nid = make_number(sql, owner, status="active")
    assert report(nid, "connecting", T0, clock="provider")["applied"]
    assert report(nid, "active", T0 - timedelta(seconds=1), clock="provider")["stale"] is True  # same clock: strict
    # our clock vs the provider's: up to 2 minutes apart either way is not "older"
    assert report(nid, "active", T0 - timedelta(seconds=90), clock="receipt")["applied"] is True
    assert report(nid, "connecting", T0 - timedelta(seconds=90 + 150), clock="provider")["stale"] is True
    assert report(nid, "connecting", T0 + timedelta(seconds=30), clock="provider")["applied"] is True


def ingest(evts, instance="inbox-a", number_id=None, provider="evolution"):
    return db.call("ingest_webhook", p_provider=provider, p_instance=instance, p_number_id=number_id,
                   p_apikey=None, p_events=evts, p_event_type="test", p_payload={"x": 1})


def test_teardown_events_of_a_deleted_number_are_dropped_not_dead_lettered(sql, owner):
    nid = make_number(sql, owner)
    db.call("delete_number", p_owner=owner, p_number_id=nid)
    for state in ("logged_out", "disconnected"):
        result = ingest([{"kind": "connection", "status": state, "raw_state": "close", "timestamp": T0.isoformat()}])
        assert result == {"result": "dropped", "reason": "number_deleted", "number_id": nid}
    assert sql.execute("select count(*) from private.dead_letters").fetchone()[0] == 0


def test_dead_letters_back_off_end_failed_and_never_starve_newer_ones(sql, database):
    from lib import ops
    for i in range(60):  # permanent failures: numbers that will never exist
        ingest([{"kind": "message", "provider_message_id": f"M{i}", "direction": "inbound", "chat_id": "1@c.us",
                 "type": "text", "timestamp": T0.isoformat()}], instance=f"gone-{i}")
    assert ops.replay_dead_letters(limit=50, reason="unknown_number")["still_failing"] == 50
    ingest([{"kind": "message", "provider_message_id": "NEW", "direction": "inbound", "chat_id": "1@c.us",
             "type": "text", "timestamp": T0.isoformat()}], instance="gone-new")
    # the 50 just tried wait; the other 10 and the newest are due now
    assert ops.replay_dead_letters(limit=50, reason="unknown_number")["still_failing"] == 11
    for _ in range(8):  # time passes: every letter is due again, until its attempts run out
        sql.execute("update private.dead_letters set next_attempt_at = now() where state = 'pending'")
        ops.replay_dead_letters(limit=100, reason="unknown_number")
    assert sql.execute("select state, count(*), max(attempts) from private.dead_letters group by state"
                       ).fetchall() == [("failed", 61, 8)]
    plan = "\n".join(r[0] for r in sql.execute(
        "explain select id from private.dead_letters where state = 'pending' and next_attempt_at <= now() "
        "and reason = 'unknown_number' order by next_attempt_at limit 50").fetchall())
    assert "dead_letters_due" in plan


# -- races (two transactions, ordered with a barrier and lock waits, no sleeps) ------------------
def _wait_for_lock_wait(sql, count=1, deadline=10.0):
    """True once `count` sessions wait for a lock."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if sql.execute("select count(*) from pg_stat_activity where wait_event_type = 'Lock'").fetchone()[0] >= count:
            return True
        time.sleep(0.01)  # polling with a deadline
    return False


def _in_transaction(db_url, fn_sql, args):
    conn = psycopg.connect(db_url)
    conn.execute(fn_sql, args)
    return conn


def test_a_status_arriving_while_its_message_is_inserted_is_applied_not_stranded(sql, owner, db_url):
    make_number(sql, owner)
    message = [{"kind": "message", "provider_message_id": "RACE1", "direction": "outbound", "chat_id": "1@c.us",
                "type": "text", "from_me_source": "phone", "timestamp": T0.isoformat()}]
    status = [{"kind": "status", "provider_message_id": "RACE1", "status": "delivered", "timestamp": T0.isoformat()}]
    call = "select public.ingest_webhook('evolution', 'inbox-a', null, null, %s::jsonb, 'test', null)"
    inserter = _in_transaction(db_url, call, (json.dumps(message),))  # uncommitted: the message is invisible
    done = threading.Event()

    def apply_status():
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(call, (json.dumps(status),))
        done.set()

    t = threading.Thread(target=apply_status)
    t.start()
    waited = _wait_for_lock_wait(sql)
    inserter.commit()
    inserter.close()
    t.join(10)
    assert done.is_set() and waited  # the status waited for the message's transaction
    assert sql.execute("select status from public.messages where provider_message_id = 'RACE1'").fetchone()[0] \
        == "delivered"
    assert sql.execute("select count(*) from private.pending_statuses").fetchone()[0] == 0


def test_folding_a_lid_chat_never_removes_a_message_committed_into_it(sql, owner, db_url):
    make_number(sql, owner)
    lid_only = [{"kind": "message", "provider_message_id": "L1", "direction": "inbound", "chat_id": "99@lid",
                 "type": "text", "timestamp": T0.isoformat()}]
    ingest(lid_only)
    call = "select public.ingest_webhook('evolution', 'inbox-a', null, null, %s::jsonb, 'test', null)"
    late = [{**lid_only[0], "provider_message_id": "L2"}]
    inserter = _in_transaction(db_url, call, (json.dumps(late),))  # L2 into the LID chat, uncommitted
    with_phone = [{"kind": "message", "provider_message_id": "P1", "direction": "inbound", "chat_id": "5511@c.us",
                   "chat_lid": "99@lid", "type": "text", "timestamp": T0.isoformat()}]
    done = threading.Event()

    def fold():
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(call, (json.dumps(with_phone),))
        done.set()

    t = threading.Thread(target=fold)
    t.start()
    waited = _wait_for_lock_wait(sql)
    inserter.commit()
    inserter.close()
    t.join(10)
    assert done.is_set() and waited
    rows = sql.execute("select m.provider_message_id, c.wa_chat_id from public.messages m "
                       "join public.chats c on c.id = m.chat_id order by 1").fetchall()
    assert rows == [("L1", "5511@c.us"), ("L2", "5511@c.us"), ("P1", "5511@c.us")]

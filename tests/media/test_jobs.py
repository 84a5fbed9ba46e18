"""Persisting on the real database, the S3 server and the simulators: back-off, the bounded number of
attempts with a final `failed` state, storage outages, and the trigger that marks media pending."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from lib import config, db, providers, resilience
from lib.media import jobs
from tests.conftest import make_user
from tests.media.fixtures import media_row, sha256


@pytest.fixture
def message(sql, database):
    """An inbound Evolution image message as ingest_webhook stores it (its number's instance is absent)."""
    owner = make_user(sql)
    number = sql.execute("insert into public.numbers (owner_id, label, provider, provider_instance_id, status) "
                         "values (%s, 'n', 'evolution', 'inbox-x', 'active') returning id::text", (owner,)).fetchone()[0]
    sql.execute("insert into private.number_secrets (number_id, api_token) values (%s, 'tok')", (number,))
    chat = sql.execute("insert into public.chats (number_id, owner_id, wa_chat_id) values (%s, %s, '1@c.us') "
                       "returning id::text", (number, owner)).fetchone()[0]
    pid = "3A" + uuid.uuid4().hex[:18].upper()
    mid = sql.execute("insert into public.messages (chat_id, owner_id, number_id, provider_message_id, direction, "
                      "type, media_mime_type) values (%s, %s, %s, %s, 'inbound', 'image', 'image/png') "
                      "returning id::text", (chat, owner, number, pid)).fetchone()[0]
    return {"id": mid, "owner": owner, "number": number, "chat": chat, "pid": pid}


def test_the_trigger_marks_provider_media_pending_and_nothing_else(sql, message):
    assert media_row(sql, message["id"])["media_state"] == "pending"
    text = sql.execute("insert into public.messages (chat_id, owner_id, number_id, provider_message_id, direction, "
                       "type, body) values (%s, %s, %s, 'T1', 'inbound', 'text', 'hi') returning id::text",
                       (message["chat"], message["owner"], message["number"])).fetchone()[0]
    sent = sql.execute("insert into public.messages (chat_id, owner_id, number_id, direction, type, "  # as prepare_send
                       "idempotency_key, from_me_source) values (%s, %s, %s, 'outbound', 'image', 'k1', 'api') "
                       "returning id::text",
                       (message["chat"], message["owner"], message["number"])).fetchone()[0]
    echo = sql.execute("insert into public.messages (chat_id, owner_id, number_id, provider_message_id, direction, "
                       "type, from_me_source) values (%s, %s, %s, 'E1', 'outbound', 'image', 'api') returning id::text",
                       (message["chat"], message["owner"], message["number"])).fetchone()[0]
    phone = sql.execute("insert into public.messages (chat_id, owner_id, number_id, provider_message_id, direction, "
                        "type, from_me_source) values (%s, %s, %s, 'P1', 'outbound', 'voice', 'phone') "
                        "returning id::text", (message["chat"], message["owner"], message["number"])).fetchone()[0]
    assert media_row(sql, text)["media_state"] is None  # no media
    assert media_row(sql, sent)["media_state"] is None  # our own send: the file is already ours
    assert media_row(sql, echo)["media_state"] is None  # the provider's echo of our own send
    assert media_row(sql, phone)["media_state"] == "pending"  # sent from the phone: only the provider has it


def test_back_off_doubles_up_to_an_hour_and_the_last_attempt_is_final(sql, message):
    delays = []
    for _ in range(6):
        before = datetime.now(UTC)
        out = db.call("media_attempt_failed", p_message_id=message["id"], p_error="provider_unreachable: down",
                      p_final=False, p_max_attempts=6, p_base_seconds=1000)
        if out["state"] == "pending":
            delays.append(round((datetime.fromisoformat(out["next_attempt_at"]) - before).total_seconds()))
    assert delays == [1000, 2000, 3600, 3600, 3600]  # 4000 and more: capped at an hour
    row = media_row(sql, message["id"])
    assert (row["media_state"], row["media_attempts"]) == ("failed", 6)
    assert row["media_error"] == "provider_unreachable: down" and row["media_next_attempt_at"] is None


def test_a_provider_that_never_recovers_ends_failed_with_the_reason(sql, message, storage, monkeypatch, base_env):
    monkeypatch.setenv("EVOLUTION_API_URL", "http://127.0.0.1:9")  # nothing listens there
    config.reset()
    providers.reset()  # a provider built by an earlier test holds that test's settings
    resilience.reset_breakers()
    sql.execute("update public.messages set media_attempts = %s where id = %s", (jobs.MAX_ATTEMPTS - 1, message["id"]))
    counts = jobs.sweep(now=datetime.now(UTC) + timedelta(hours=1))
    assert counts["failed"] == 1
    row = media_row(sql, message["id"])
    assert row["media_state"] == "failed" and row["media_error"].startswith("provider_unreachable")


@pytest.fixture
def evolution(monkeypatch, base_env):
    """The Evolution simulator with one connected instance (no webhook: the test drives the job)."""
    import httpx  # noqa: PLC0415

    from lib import providers  # noqa: PLC0415
    from lib.sim.evolution import EvolutionSimulator  # noqa: PLC0415

    sim = EvolutionSimulator("g-key").start()
    httpx.post(f"{sim.url}/instance/create", headers={"apikey": "g-key"},
               json={"instanceName": "inbox-media", "token": "inst-token", "integration": "WHATSAPP-BAILEYS"})
    sim.instances["inbox-media"].state = "open"
    monkeypatch.setenv("EVOLUTION_API_URL", sim.url)
    config.reset()
    providers.reset()
    resilience.reset_breakers()
    yield sim
    sim.stop()
    providers.reset()


def test_a_storage_outage_is_retried_not_lost(sql, message, storage, monkeypatch, evolution):
    from lib.sim.media_samples import sample  # noqa: PLC0415

    evolution.inject_media("inbox-media", "1@s.whatsapp.net", "image", message_id=message["pid"])
    sql.execute("update private.number_secrets set api_token = 'inst-token' where number_id = %s", (message["number"],))
    sql.execute("update public.numbers set provider_instance_id = 'inbox-media' where id = %s", (message["number"],))
    monkeypatch.setenv("STORAGE_S3_ENDPOINT", "http://127.0.0.1:9")  # the S3 endpoint is down
    config.reset()
    out = jobs.persist_claimed(message["number"], [message["pid"]])
    assert out[0]["state"] == "pending"
    row = media_row(sql, message["id"])
    assert row["media_error"].startswith("storage_unavailable") and row["media_attempts"] == 1
    monkeypatch.setenv("STORAGE_S3_ENDPOINT", storage.url)  # it is back
    config.reset()
    assert jobs.sweep(now=datetime.now(UTC) + timedelta(hours=1))["stored"] == 1
    assert media_row(sql, message["id"])["media_sha256"] == sha256(sample("image").data)


def test_two_workers_never_fetch_the_same_item(sql, message):
    first = db.call("media_claim", p_number_id=message["number"], p_provider_message_ids=[message["pid"]])
    second = db.call("media_claim", p_number_id=message["number"], p_provider_message_ids=[message["pid"]])
    due = db.call("media_due", p_limit=10, p_now=datetime.now(UTC) + timedelta(hours=1))
    assert len(first) == 1 and second == [] and due == []
    job = first[0]
    assert job["number"]["api_token"] == "tok" and job["chat_id"] == "1@c.us" and job["provider_message_id"] == \
        message["pid"]


def test_a_message_deleted_for_everyone_hides_its_media_and_is_not_fetched(sql, message):
    assert db.call("media_get", p_owner=message["owner"], p_message_id=message["id"], p_claim=False) is not None
    later = datetime.now(UTC) + timedelta(days=1)
    assert message["id"] in [job["message_id"] for job in db.call("media_due", p_limit=10, p_now=later)]
    sql.execute("update public.messages set media_lease_until = null where id = %s", (message["id"],))  # unclaim
    db.call("ingest_webhook", p_provider="evolution", p_instance="inbox-x", p_number_id=message["number"],
            p_apikey=None, p_event_type="messages.delete", p_payload=None,
            p_events=[{"kind": "delete", "provider_message_id": message["pid"], "timestamp": later.isoformat()}])
    assert db.call("media_get", p_owner=message["owner"], p_message_id=message["id"], p_claim=False) is None
    due = db.call("media_due", p_limit=10, p_now=later)
    assert message["id"] not in [job["message_id"] for job in due]

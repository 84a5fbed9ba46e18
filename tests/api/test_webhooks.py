"""Webhooks over real HTTP into the real database: authentication first, exactly-once, dead letters,
transient failures answered so the provider retries."""

from __future__ import annotations

import copy
import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from lib import config, redis
from lib.webhook_auth import greenapi_token, sign_evolution
from tests.api.conftest import add_number

SECRET = "evolution-webhook-secret-0123456789abcdef"
UPSERT = json.loads((Path(__file__).parents[1] / "fixtures" / "evolution" / "messages-upsert-text.json").read_text())
INSTANCE_TOKEN = "4C8E2A1F-7B3D-4E5A-9F6C-0D1E2B3A4C5D"


@pytest.fixture
def hooks(api, monkeypatch):
    monkeypatch.setenv("EVOLUTION_WEBHOOK_SECRET", SECRET)
    config.reset()
    return api


@pytest.fixture
def evo_number(sql, alice):
    return add_number(sql, alice.id, provider="evolution", instance="acme-support", token=INSTANCE_TOKEN)


def post_evo(api, payload, token=None, raw=None):
    headers = {"Content-Type": "application/json"}
    if token is not False:
        headers["Authorization"] = f"Bearer {token or sign_evolution(SECRET)}"
    return api.post("/api/v1/webhooks/evolution", content=raw if raw is not None else json.dumps(payload),
                    headers=headers)


def count(sql, table="public.messages"):
    return sql.execute(f"select count(*) from {table}").fetchone()[0]


def test_a_signed_message_is_stored_with_one_database_round_trip(hooks, evo_number, sql, database):
    before = database.round_trips
    r = post_evo(hooks, UPSERT)
    assert r.status_code == 200 and r.json()["inserted"] == 1, r.text
    assert database.round_trips - before == 1
    row = sql.execute("select m.body, m.direction, c.wa_chat_id, c.lid, c.name from public.messages m "
                      "join public.chats c on c.id = m.chat_id").fetchone()
    assert row == ("Oi! Vocês abrem no sábado?", "inbound", "5511999990002@c.us", "187432569012345@lid", "Maria Souza")


def test_three_concurrent_deliveries_store_one_message(hooks, evo_number, sql):
    barrier = threading.Barrier(3)
    results = []

    def deliver():
        barrier.wait()
        results.append(post_evo(hooks, UPSERT).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert results == [200, 200, 200]
    assert count(sql) == 1


def test_read_before_delivered_stays_read(hooks, evo_number, sql):
    sent = copy.deepcopy(UPSERT)
    sent["event"] = "send.message"
    sent["data"]["key"] = {"remoteJid": "5511999990002@s.whatsapp.net", "fromMe": True, "id": "3EB0OUT1"}
    sent["data"]["status"] = "PENDING"
    assert post_evo(hooks, sent).status_code == 200
    for status in ("READ", "DELIVERY_ACK"):
        update = {"event": "messages.update", "instance": "acme-support", "apikey": INSTANCE_TOKEN,
                  "data": {"keyId": "3EB0OUT1", "remoteJid": "5511999990002@s.whatsapp.net", "fromMe": True,
                           "status": status, "instanceId": "x"}}
        assert post_evo(hooks, update).status_code == 200
    assert sql.execute("select status from public.messages where provider_message_id = '3EB0OUT1'").fetchone()[0] == "read"


@pytest.mark.parametrize("case", ["missing", "forged", "wrong_secret", "expired", "too_old", "wrong_claims",
                                  "other_instance_apikey"])
def test_unauthenticated_webhooks_are_401_and_write_nothing(hooks, evo_number, sql, case):
    payload, token = UPSERT, None
    now = int(time.time())
    if case == "missing":
        token = False
    elif case == "forged":
        token = sign_evolution(SECRET)[:-4] + "AAAA"
    elif case == "wrong_secret":
        token = sign_evolution("not-our-secret-0123456789abcdef0123")
    elif case == "expired":
        token = sign_evolution(SECRET, iat=now - 700)
    elif case == "too_old":
        token = sign_evolution(SECRET, iat=now - 320)
    elif case == "wrong_claims":
        token = sign_evolution(SECRET, app="someone-else")
    elif case == "other_instance_apikey":
        payload = {**UPSERT, "apikey": "TOKEN-OF-ANOTHER-INSTANCE"}
    failures = count(sql, "private.webhook_auth_failures")
    r = post_evo(hooks, payload, token)
    assert r.status_code == 401 and r.json()["error"]["code"] == "webhook_unauthorized"
    assert count(sql) == 0 and count(sql, "private.dead_letters") == 0
    assert count(sql, "private.webhook_auth_failures") == failures + 1  # what the alert rule counts


def test_the_previous_secret_is_accepted_during_rotation(hooks, evo_number, monkeypatch):
    monkeypatch.setenv("EVOLUTION_WEBHOOK_SECRET", "the-new-secret-0123456789abcdef0123")
    monkeypatch.setenv("EVOLUTION_WEBHOOK_SECRET_PREVIOUS", SECRET)
    config.reset()
    assert post_evo(hooks, UPSERT).status_code == 200


def test_a_webhook_within_the_window_and_skew_is_accepted(hooks, evo_number):
    assert post_evo(hooks, UPSERT, sign_evolution(SECRET, iat=int(time.time()) - 290)).status_code == 200


@pytest.mark.parametrize(("payload", "raw", "reason"), [
    ({**UPSERT, "instance": "nobody-we-know"}, None, "unknown_number"),
    (None, b"{not json", "malformed_json"),
    ({"event": "something.new", "instance": "acme-support", "data": {}, "apikey": INSTANCE_TOKEN}, None,
     "unsupported_event"),
    ({"event": "messages.upsert", "instance": "acme-support", "data": "nonsense", "apikey": INSTANCE_TOKEN}, None,
     "malformed_event"),
])
def test_unprocessable_payloads_are_200_and_dead_lettered(hooks, evo_number, sql, payload, raw, reason):
    r = post_evo(hooks, payload, raw=raw)
    assert r.status_code == 200 and r.json() == {"status": "dead_lettered", "reason": reason}
    letter = sql.execute("select reason, payload from private.dead_letters").fetchone()
    assert letter[0] == reason
    assert INSTANCE_TOKEN not in json.dumps(letter[1])  # secrets stripped
    assert count(sql) == 0


def test_known_but_unconsumed_events_are_200_without_a_dead_letter(hooks, evo_number, sql):
    r = post_evo(hooks, {"event": "presence.update", "instance": "acme-support", "data": {"id": "x"},
                         "apikey": INSTANCE_TOKEN})
    assert r.status_code == 200 and r.json()["status"] == "ignored"
    assert count(sql, "private.dead_letters") == 0


def test_database_down_is_503_and_redelivery_is_stored_once(hooks, evo_number, sql, pg_cluster):
    sql.close()
    pg_cluster.stop("fast")
    try:
        r = post_evo(hooks, UPSERT)
        assert r.status_code == 503 and r.json()["error"]["code"] == "database_unavailable"
    finally:
        pg_cluster.start()
    assert post_evo(hooks, UPSERT).status_code == 200
    assert post_evo(hooks, UPSERT).json()["duplicates"] == 1
    from psycopg import connect
    with connect(pg_cluster.url("app")) as conn:
        assert conn.execute("select count(*) from public.messages").fetchone()[0] == 1


def test_an_oversized_body_is_413(hooks, evo_number):
    r = post_evo(hooks, None, raw=b'{"x":"' + b"a" * 4_600_000 + b'"}')
    assert r.status_code == 413


def test_connection_events_move_the_number_status(hooks, evo_number, sql):
    close = {"event": "connection.update", "instance": "acme-support", "apikey": INSTANCE_TOKEN,
             "data": {"instance": "acme-support", "state": "close", "statusReason": 401}}
    assert post_evo(hooks, close).status_code == 200
    assert sql.execute("select status, provider_reason_code from public.numbers").fetchone() == ("logged_out", 401)


def test_dead_letters_replay_once_the_number_exists(hooks, sql, alice):
    post_evo(hooks, UPSERT)  # no such instance yet
    assert count(sql, "private.dead_letters") == 1
    add_number(sql, alice.id, provider="evolution", instance="acme-support", token=INSTANCE_TOKEN)
    from lib import ops
    assert ops.replay_dead_letters() == {"replayed": 1, "still_failing": 0, "not_replayable": 0}
    assert count(sql) == 1
    assert ops.replay_dead_letters() == {"replayed": 0, "still_failing": 0, "not_replayable": 0}


# -- GREEN-API -------------------------------------------------------------------------------------
GREEN_MSG = {"typeWebhook": "incomingMessageReceived",
             "instanceData": {"idInstance": 7103123456, "wid": "79001234567@c.us", "typeInstance": "whatsapp"},
             "timestamp": 1735732800, "idMessage": "F7AEC1B7086ECDC7E6E45923F5EDB825",
             "senderData": {"chatId": "79001234568@c.us", "chatName": "Ivan", "sender": "79001234568@c.us",
                            "senderName": "Ivan"},
             "messageData": {"typeMessage": "textMessage", "textMessageData": {"textMessage": "Привет"}}}


def post_green(api, payload, token):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return api.post("/api/v1/webhooks/greenapi", content=json.dumps(payload), headers=headers)


def test_greenapi_notifications_are_authenticated_per_number(hooks, sql, alice, bob):
    mine = add_number(sql, alice.id, instance="7103123456")
    theirs = add_number(sql, bob.id, instance="7103999999")
    assert post_green(hooks, GREEN_MSG, None).status_code == 401
    assert post_green(hooks, GREEN_MSG, "not-a-token").status_code == 401
    assert post_green(hooks, GREEN_MSG, greenapi_token(theirs)).status_code == 401  # wrong idInstance for it
    assert count(sql) == 0
    r = post_green(hooks, GREEN_MSG, greenapi_token(mine))
    assert r.status_code == 200 and r.json()["inserted"] == 1
    status = {"typeWebhook": "outgoingMessageStatus", "instanceData": GREEN_MSG["instanceData"], "timestamp": 1735733461,
              "idMessage": "BAE5F4886F6F2D05", "status": "noAccount", "chatId": "79001234568@c.us", "sendByApi": True}
    assert post_green(hooks, status, greenapi_token(mine)).status_code == 200
    state = {"typeWebhook": "stateInstanceChanged", "instanceData": GREEN_MSG["instanceData"], "timestamp": 1735732000,
             "stateInstance": "authorized"}
    assert post_green(hooks, state, greenapi_token(mine)).status_code == 200
    assert sql.execute("select status from public.numbers where id = %s", (mine,)).fetchone()[0] == "active"


def _fake_upstash(monkeypatch, order, sql_count):
    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", "https://upstash.example.com")
    monkeypatch.setenv("UPSTASH_REDIS_REST_TOKEN", "upstash-token-0123456789")
    config.reset()
    redis.reset()
    store = {}

    def upstash(request):
        cmd = json.loads(request.content)
        order.append((cmd[0], sql_count()))
        if cmd[0] == "SET":
            store[cmd[1]] = cmd[2]
            return httpx.Response(200, json={"result": "OK"})
        return httpx.Response(200, json={"result": store.get(cmd[1])})

    return upstash


def test_redis_marker_is_written_only_after_commit_with_one_call_per_webhook(hooks, evo_number, sql, monkeypatch,
                                                                             database):
    import respx
    order = []
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="127.0.0.1").pass_through()
        mock.post("https://upstash.example.com/").mock(side_effect=_fake_upstash(monkeypatch, order,
                                                                                lambda: count(sql)))
        before = database.round_trips
        assert post_evo(hooks, UPSERT).json()["inserted"] == 1
        assert post_evo(hooks, UPSERT).json()["duplicates"] == 1
        assert database.round_trips - before == 2
    assert order == [("SET", 1), ("SET", 1)]  # one call each, after the row exists
    redis.reset()


def test_with_the_database_down_a_stored_event_is_still_acknowledged(hooks, evo_number, sql, monkeypatch, pg_cluster):
    import respx
    order = []
    other = {**UPSERT, "data": {**UPSERT["data"], "key": {**UPSERT["data"]["key"], "id": "NEVER-STORED"}}}
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="127.0.0.1").pass_through()
        mock.post("https://upstash.example.com/").mock(side_effect=_fake_upstash(monkeypatch, order, lambda: 0))
        assert post_evo(hooks, UPSERT).status_code == 200
        sql.close()
        pg_cluster.stop("fast")
        try:
            assert post_evo(hooks, UPSERT).json() == {"status": "duplicate"}  # answered from the marker
            assert post_evo(hooks, other).status_code == 503  # not stored yet: the provider must retry
        finally:
            pg_cluster.start()
    assert [c for c, _ in order] == ["SET", "GET", "GET"]
    redis.reset()

"""Hostile input gets a clear answer and loses nothing: storable webhooks, 400s with stable codes on
user routes, no database text to clients, outbound targets checked, tenants' limits, privileges."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from lib import config
from lib.dev.tokens import user_token
from lib.webhook_auth import greenapi_token
from tests.api.conftest import add_chat, add_number
from tests.conftest import TEST_JWT_SECRET

TEXT = {"typeWebhook": "incomingMessageReceived", "instanceData": {"idInstance": 7103000001, "wid": "",
                                                                   "typeInstance": "whatsapp"},
        "timestamp": 1764150000, "idMessage": "H1",
        "senderData": {"chatId": "79001234568@c.us", "chatName": "Ivan", "sender": "79001234568@c.us"},
        "messageData": {"typeMessage": "textMessage", "textMessageData": {"textMessage": "hi"}}}


@pytest.fixture
def green(api, alice, sql):
    nid = add_number(sql, alice.id, provider="green-api", instance="7103000001")
    return {"id": nid, "headers": {"Authorization": f"Bearer {greenapi_token(nid)}",
                                   "Content-Type": "application/json"}}


def deep(n):
    return "[" * n + "]" * n


@pytest.mark.parametrize(("raw", "stored"), [
    (json.dumps({**TEXT, "messageData": {"typeMessage": "textMessage",
                                         "textMessageData": {"textMessage": "half an emoji: \ud83d!"}}}), "stored"),
    (json.dumps(TEXT).replace('"timestamp": 1764150000', '"timestamp": NaN'), "stored"),
    (json.dumps(TEXT).replace('"timestamp": 1764150000', '"timestamp": 1e400'), "stored"),
    (json.dumps(TEXT).replace('"hi"', '"h\x00i"'), "stored"),  # a raw NUL byte inside a string
    (json.dumps({**TEXT, "extra": json.loads(deep(500))}), "stored"),
    ('{"typeWebhook": ' + deep(100_000) + "}", "dead_lettered"),
    (json.dumps({**TEXT, "idMessage": "X" * 1_000_000}), "dead_lettered"),
    (json.dumps({**TEXT, "senderData": {**TEXT["senderData"], "chatId": "1" * 1_000_000 + "@c.us"}}),
     "dead_lettered"),
], ids=["lone-surrogate", "nan", "1e400", "raw-nul", "deep-500", "deep-100000", "1mb-id", "1mb-jid"])
def test_authenticated_webhooks_are_stored_or_dead_lettered_never_refused(api, green, sql, raw, stored):
    r = api.post("/api/v1/webhooks/greenapi", content=raw.encode("utf-8", "surrogatepass"), headers=green["headers"])
    assert r.status_code == 200, r.text
    if stored == "stored":
        assert r.json()["status"] == "ok" and r.json()["inserted"] == 1
    else:
        assert r.json()["status"] == "dead_lettered"
        assert sql.execute("select count(*) from private.dead_letters").fetchone()[0] == 1


def test_a_malformed_body_is_dead_lettered_without_its_secrets(api, green, sql):
    raw = b'{"apikey": "instance-token-abcdef123456", "token": "s3cr3t-value-0987", oops'
    r = api.post("/api/v1/webhooks/greenapi", content=raw, headers=green["headers"])
    assert r.status_code == 200 and r.json()["reason"] == "malformed_json"
    stored = json.dumps(sql.execute("select payload from private.dead_letters").fetchone()[0])
    assert "instance-token-abcdef123456" not in stored and "s3cr3t-value-0987" not in stored


@pytest.mark.parametrize(("route", "body", "headers", "code"), [
    ("/api/v1/numbers", deep(100_000).encode(), {}, "invalid_json"),
    ("/api/v1/numbers", json.dumps({"label": "a\x00b"}).encode(), {}, "invalid_characters"),
    ("/api/v1/numbers", json.dumps({"label": "x"}).encode(), {"Idempotency-Key": "k" * 10_000},
     "invalid_idempotency_key"),
])
def test_user_routes_answer_400_with_a_stable_code(api, sims, alice, sql, route, body, headers, code):
    r = api.post(route, content=body, headers={**alice.headers, "Content-Type": "application/json", **headers})
    assert r.status_code == 400 and r.json()["error"]["code"] == code, r.text
    assert sql.execute("select count(*) from public.numbers").fetchone()[0] == 0


@pytest.mark.parametrize("cursor", ["eyJ0Ijoibm90IGEgdGltZSIsImkiOiIwMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEifQ",
                                    "W" * 5000, "eyJ0IjoiXHUwMDAwIiwiaSI6IngifQ"])
def test_bad_cursors_are_400_without_database_text(api, alice, cursor):
    r = api.get("/api/v1/numbers", params={"cursor": cursor}, headers=alice.headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_cursor"
    assert "syntax" not in r.text and "timestamp" not in r.text


def test_a_valid_token_for_a_user_that_does_not_exist_is_401(api, sims):
    token = user_token(TEST_JWT_SECRET, str(uuid.uuid4()))
    r = api.post("/api/v1/numbers", json={"label": "x"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unknown_user"
    assert "constraint" not in r.text and "numbers_owner_id_fkey" not in r.text


@pytest.mark.parametrize("url", ["http://7103.api.greenapi.com", "https://7103.api.greenapi.com:8443",
                                 "https://7103.api.greenapi.com/partner/x", "http://127.0.0.1:22",
                                 "https://user@7103.api.greenapi.com"])
def test_green_api_hosts_are_exactly_the_allowed_origins(api, sims, alice, url):
    r = api.post("/api/v1/numbers", json={"green_api": {"id_instance": "7103123456", "api_token_instance": "ab" * 25,
                                                        "api_url": url}}, headers=alice.headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_green_api_host"


def test_the_configured_green_api_origin_itself_is_allowed(api, sims, alice, monkeypatch):
    monkeypatch.delenv("GREEN_API_PARTNER_TOKEN")
    config.reset()
    iid, token = sims["green-api"].add_instance()
    r = api.post("/api/v1/numbers", json={"green_api": {"id_instance": iid, "api_token_instance": token,
                                                        "api_url": sims["green-api"].url}}, headers=alice.headers)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("token", ["../../partner/getInstances/x?", "abc/def", "zz" * 20])
def test_instance_tokens_must_be_hex(api, sims, alice, token):
    r = api.post("/api/v1/numbers", json={"green_api": {"id_instance": "7103123456", "api_token_instance": token}},
                 headers=alice.headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed"
    assert not [q for q in sims["green-api"].requests if "partner" in q.path and "getInstances" in q.path]


@pytest.mark.parametrize("url", ["http://127.0.0.1/x.png", "http://localhost:8080/a.jpg", "http://[::1]/a.jpg",
                                 "http://169.254.169.254/latest/meta-data", "http://10.1.2.3/a.jpg",
                                 "http://192.168.0.4/a.jpg", "https://internal.example.com/a.jpg",
                                 "https://loopback.example.com/a.jpg", "http://evolution-postgres/a.jpg",
                                 "https://nowhere.invalid/a.jpg"])
def test_media_urls_to_non_public_targets_are_refused(api, alice, sql, url):
    nid = add_number(sql, alice.id, provider="green-api")
    chat = add_chat(sql, alice.id, nid)
    r = api.post(f"/api/v1/chats/{chat}/send", json={"type": "image", "media": {"url": url}},
                 headers={**alice.headers, "Idempotency-Key": "m"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "media_url_not_allowed"
    assert sql.execute("select count(*) from public.messages").fetchone()[0] == 0


def test_numbers_per_user_and_creations_per_hour_are_limited(api, sims, alice, sql, monkeypatch):
    monkeypatch.setenv("MAX_NUMBERS_PER_USER", "3")
    monkeypatch.setenv("MAX_NUMBER_CREATES_PER_HOUR", "5")
    config.reset()
    made = [api.post("/api/v1/numbers", json={}, headers=alice.headers) for _ in range(3)]
    assert [m.status_code for m in made] == [201, 201, 201]
    r = api.post("/api/v1/numbers", json={}, headers=alice.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "number_quota_exceeded"
    for m in made:  # deleted numbers free the quota, not the hourly rate
        api.delete(f"/api/v1/numbers/{m.json()['id']}", headers=alice.headers)
    answers = [api.post("/api/v1/numbers", json={}, headers=alice.headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[2].json()["error"]["code"] == "rate_limited"


def test_the_api_roles_cannot_touch_sequences_or_functions(db_url, sql, database):
    with psycopg.connect(db_url, autocommit=True) as conn:
        for role in ("anon", "authenticated"):
            seqs = conn.execute("select sequence_schema || '.' || sequence_name from information_schema.sequences "
                                "where sequence_schema in ('public', 'private')").fetchall()
            for (seq,) in seqs:
                assert not conn.execute("select has_sequence_privilege(%s, %s, 'USAGE') or "
                                        "has_sequence_privilege(%s, %s, 'UPDATE')", (role, seq, role, seq)).fetchone()[0]
            funcs = conn.execute("select p.oid::regprocedure::text from pg_proc p join pg_namespace n on "
                                 "n.oid = p.pronamespace where n.nspname = 'public'").fetchall()
            allowed = [f for (f,) in funcs
                       if conn.execute("select has_function_privilege(%s, %s, 'EXECUTE')", (role, f)).fetchone()[0]]
            assert allowed == [], (role, allowed)

"""Sending over real HTTP: idempotency, provider errors, concurrency — against the simulators."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.api.conftest import add_chat


@pytest.fixture(params=["evolution", "green-api"])
def chat(request, api, sims, alice, sql):
    provider = request.param
    number = api.post("/api/v1/numbers", json={"provider": provider}, headers=alice.headers).json()
    instance = sql.execute("select provider_instance_id from public.numbers where id = %s", (number["id"],)).fetchone()[0]
    sims[provider].scan(instance)
    sims[provider].wait_idle()  # the scan's webhook has been applied before we arrange the status
    sql.execute("update public.numbers set status = 'active' where id = %s", (number["id"],))
    return {"id": add_chat(sql, alice.id, number["id"], "5511999990002@c.us"), "provider": provider,
            "sim": sims[provider], "number": number["id"], "instance": instance}


def send(api, user, chat_id, body, key=None):
    headers = {**user.headers, "Idempotency-Key": key or str(uuid.uuid4())}
    return api.post(f"/api/v1/chats/{chat_id}/send", json=body, headers=headers)


def test_a_text_is_sent_once_and_stored_as_outbound(api, alice, chat, sql):
    r = send(api, alice, chat["id"], {"text": "hello"}, key="k-1")
    assert r.status_code == 201, r.text
    msg = r.json()
    assert msg["direction"] == "outbound" and msg["body"] == "hello"
    chat["sim"].wait_idle()  # GREEN-API acks `sent` by webhook; Evolution's send.message leaves it pending
    assert sql.execute("select status from public.messages where id = %s", (msg["id"],)).fetchone()[0] == \
        {"green-api": "sent", "evolution": "pending"}[chat["provider"]]
    assert msg["provider_message_id"] == chat["sim"].sent[-1].get("idMessage", chat["sim"].sent[-1].get("key", {}).get("id"))
    again = send(api, alice, chat["id"], {"text": "hello"}, key="k-1")
    assert again.status_code == 200 and again.json()["id"] == msg["id"]
    assert len(chat["sim"].sent) == 1
    assert sql.execute("select count(*) from public.messages where direction = 'outbound'").fetchone()[0] == 1


def test_media_by_url(api, alice, chat):
    r = send(api, alice, chat["id"], {"type": "document", "media": {"url": "https://cdn.example.com/inv.pdf",
                                                                    "caption": "invoice", "file_name": "inv.pdf"}})
    assert r.status_code == 201, r.text
    assert r.json()["type"] == "document" and r.json()["media_url"] == "https://cdn.example.com/inv.pdf"


def test_the_same_key_with_another_message_is_a_conflict(api, alice, chat):
    assert send(api, alice, chat["id"], {"text": "one"}, key="k-2").status_code == 201
    r = send(api, alice, chat["id"], {"text": "two"}, key="k-2")
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_key_reused"


def test_a_missing_idempotency_key_is_refused(api, alice, chat):
    r = api.post(f"/api/v1/chats/{chat['id']}/send", json={"text": "x"}, headers=alice.headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "idempotency_key_required"


@pytest.mark.parametrize(("body", "code"), [({}, "validation_failed"), ({"text": ""}, "validation_failed"),
                                            ({"text": 5}, "validation_failed"),
                                            ({"type": "image"}, "validation_failed"),
                                            ({"type": "image", "media": {"url": "ftp://x"}}, "validation_failed"),
                                            ({"type": "sticker", "text": "x"}, "validation_failed")])
def test_bad_send_bodies(api, alice, chat, body, code):
    r = send(api, alice, chat["id"], body)
    assert r.status_code == 400 and r.json()["error"]["code"] == code


def test_a_disconnected_number_is_refused_before_the_provider(api, alice, chat, sql):
    sql.execute("update public.numbers set status = 'logged_out' where id = %s", (chat["number"],))
    r = send(api, alice, chat["id"], {"text": "hi"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "number_disconnected"
    assert chat["sim"].sent == []


def test_provider_errors_are_actionable_and_replayed_not_resent(api, alice, chat, sql):
    refusals = {"evolution": (500, {"status": 500, "response": {"message": "Connection Closed"}}),
                "green-api": (400, "instance account not authorized")}
    status, body = refusals[chat["provider"]]
    chat["sim"].fail("status", times=1, status=status, body=body)
    r = send(api, alice, chat["id"], {"text": "hi"}, key="k-err")
    assert r.status_code == 409 and r.json()["error"]["code"] == "number_disconnected"
    again = send(api, alice, chat["id"], {"text": "hi"}, key="k-err")
    assert again.status_code == 409 and again.json()["error"]["code"] == "number_disconnected"
    assert sql.execute("select status, status_reason is not null from public.messages").fetchone() == ("failed", True)


def test_a_replayed_rate_limit_is_not_retryable_under_the_same_key(api, alice, chat):
    """429: nothing went out, so the send may be tried again, with a new Idempotency-Key; the same key
    replays the stored outcome, and says so."""
    chat["sim"].fail("status", status=429, body={"message": "slow down"})  # every attempt of the send
    first = send(api, alice, chat["id"], {"text": "hi"}, key="k-429")
    chat["sim"].clear_failures()
    assert first.status_code == 429 and first.json()["error"]["code"] == "rate_limited"
    assert first.json()["error"]["retryable"] is True
    again = send(api, alice, chat["id"], {"text": "hi"}, key="k-429")
    assert again.status_code == 429 and again.json()["error"] == {**first.json()["error"], "retryable": False}
    assert send(api, alice, chat["id"], {"text": "hi"}, key="k-429-new").status_code == 201


def test_a_hanging_provider_is_outcome_unknown_and_never_resent(api, alice, chat, monkeypatch):
    from lib import config, providers
    monkeypatch.setenv("PROVIDER_READ_TIMEOUT", "0.5")
    config.reset()
    providers.reset()
    chat["sim"].fail("hang")
    r = send(api, alice, chat["id"], {"text": "maybe"}, key="k-hang")
    chat["sim"].release()
    chat["sim"].clear_failures()
    assert r.status_code == 504 and r.json()["error"]["code"] == "outcome_unknown"
    again = send(api, alice, chat["id"], {"text": "maybe"}, key="k-hang")
    assert again.status_code == 504
    sends = [q for q in chat["sim"].requests if "send" in q.path.lower()]
    assert len(sends) == 1


def test_100_concurrent_sends_to_one_chat(api, alice, chat, sql):
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda i: send(api, alice, chat["id"], {"text": f"m{i}"}).status_code, range(100)))
    assert statuses == [201] * 100
    assert sql.execute("select count(*) from public.messages where direction = 'outbound'").fetchone()[0] == 100
    assert len(chat["sim"].sent) == 100


def test_100_concurrent_retries_of_one_key_send_once(api, alice, chat, sql):
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda i: send(api, alice, chat["id"], {"text": "once"}, key="same").status_code,
                                 range(100)))
    assert set(statuses) <= {200, 201, 409} and statuses.count(201) == 1
    assert sql.execute("select count(*) from public.messages where direction = 'outbound'").fetchone()[0] == 1
    assert len(chat["sim"].sent) == 1


def test_100_concurrent_requests_over_25_repeated_keys_send_each_key_once(api, alice, chat, sql):
    keys = [f"key-{i % 25}" for i in range(100)]
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda k: send(api, alice, chat["id"], {"text": k}, key=k).status_code, keys))
    assert statuses.count(201) == 25 and set(statuses) <= {200, 201, 409}
    rows = sql.execute("select idempotency_key, count(*) from public.messages where direction = 'outbound' "
                       "group by 1").fetchall()
    assert len(rows) == 25 and all(n == 1 for _, n in rows)
    assert len(chat["sim"].sent) == 25

"""The number lifecycle over real HTTP, the real database and both simulators: events during
creation, reconnect loops, idempotent creation under races, teardown, orphans, the breaker."""

from __future__ import annotations

import json
import threading
import time

import pytest

from lib import config, providers
from lib.webhook_auth import evolution_number_key, sign_evolution
from tests.api.conftest import add_chat


def create(api, user, key=None, **body):
    headers = {**user.headers, **({"Idempotency-Key": key} if key else {})}
    return api.post("/api/v1/numbers", json=body, headers=headers)


def history(sql, number_id):
    return sql.execute("select from_status, to_status, repeat_count from public.number_status_events "
                       "where number_id = %s order by id", (number_id,)).fetchall()


def test_events_evolution_sends_during_create_are_accepted(api, sims, alice, sql):
    """Real Evolution starts the session inside POST /instance/create and delivers `connecting`
    webhooks (body apikey = the instance token) before it answers: none may be refused."""
    evo = sims["evolution"]
    failures = sql.execute("select count(*) from private.webhook_auth_failures").fetchone()[0]
    r = create(api, alice, provider="evolution")
    assert r.status_code == 201, r.text
    evo.wait_idle()
    during = [d for d in evo.deliveries if d.event == "connection.update"]
    assert len(during) == 3 and {d.status for d in during} == {200}
    assert sql.execute("select count(*) from private.webhook_auth_failures").fetchone()[0] == failures
    assert sql.execute("select count(*) from private.dead_letters").fetchone()[0] == 0
    assert r.json()["status"] == "qr"


def test_a_reconnect_loop_writes_one_history_row_and_reconnect_does_not_flap(api, sims, alice, sql):
    evo = sims["evolution"]
    number = create(api, alice, provider="evolution").json()
    name = f"inbox-{number['id']}"
    evo.scan(name)
    evo.wait_idle()
    evo.reconnect_loop(name, events=120)  # about a minute of a real server's loop
    evo.wait_idle()
    # live state `close` between attempts; reconnect records nothing from it and asks for a QR
    assert api.post(f"/api/v1/numbers/{number['id']}/reconnect", headers=alice.headers).status_code == 200
    evo.reconnect_loop(name, events=5)
    evo.wait_idle()
    rows = history(sql, number["id"])
    statuses = [to for _, to, _ in rows]
    assert statuses[-2:] == ["connecting", "qr"], rows
    assert "disconnected" not in statuses
    assert sum(1 for _, to, _ in rows if to == "connecting") <= 2  # 120 webhooks, one row (+ the create's)


def test_a_logged_out_number_stays_logged_out_until_the_user_reconnects(api, sims, alice, sql):
    evo = sims["evolution"]
    number = create(api, alice, provider="evolution").json()
    name = f"inbox-{number['id']}"
    evo.scan(name)
    evo.disconnect(name, 401)  # the phone unlinked it: close 401 + logout.instance
    evo.reconnect_loop(name, events=10)  # ... then Evolution's loop starts again
    evo.wait_idle()
    assert api.get(f"/api/v1/numbers/{number['id']}", headers=alice.headers).json()["status"] == "logged_out"
    r = api.post(f"/api/v1/numbers/{number['id']}/reconnect", headers=alice.headers)
    assert r.status_code == 200 and r.json()["status"] == "qr"


def test_ten_concurrent_creates_with_one_key_make_one_paid_instance(api, sims, alice, sql):
    green = sims["green-api"]
    barrier = threading.Barrier(10)
    answers = []

    def go():
        barrier.wait()
        answers.append(create(api, alice, key="one-key", provider="green-api"))

    threads = [threading.Thread(target=go) for _ in range(10)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 1 and set(codes) <= {200, 201, 409}, [a.text for a in answers]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} <= {"idempotency_key_in_progress"}
    assert len([i for i in green.instances.values() if (i.name or "").startswith("inbox-")]) == 1
    assert sql.execute("select count(*) from public.numbers").fetchone()[0] == 1
    replay = create(api, alice, key="one-key", provider="green-api")
    assert replay.status_code == 200 and replay.json()["id"] == [a for a in answers if a.status_code == 201][0].json()["id"]


def test_the_same_key_with_another_body_is_409(api, sims, alice):
    assert create(api, alice, key="k-body", provider="green-api", label="a").status_code == 201
    r = create(api, alice, key="k-body", provider="green-api", label="b")
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_key_reused"


def test_a_partner_create_whose_answer_is_lost_is_never_repeated_and_its_orphan_is_cleaned(api, sims, alice,
                                                                                           monkeypatch, sql):
    green = sims["green-api"]
    monkeypatch.setenv("PROVIDER_READ_TIMEOUT", "0.5")
    config.reset()
    providers.reset()
    before = len(green.instances)
    original = green.route

    def slow_create(method, path, query, headers, body):
        if "/partner/createInstance/" in path:
            out = original(method, path, query, headers, body)  # GREEN-API creates the instance...
            time.sleep(1.5)  # ...and its answer is lost (the simulated network, not test synchronisation)
            return out
        return original(method, path, query, headers, body)

    monkeypatch.setattr(green, "route", slow_create)
    r = create(api, alice, provider="green-api")
    assert r.status_code == 504 and r.json()["error"]["code"] == "outcome_unknown"
    monkeypatch.setattr(green, "route", original)
    assert len(green.instances) == before + 1  # one create reached GREEN-API, none repeated
    assert api.get("/api/v1/numbers", headers=alice.headers).json()["items"] == []
    monkeypatch.setenv("PROVIDER_READ_TIMEOUT", "20")
    config.reset()
    providers.reset()
    report = api.get("/api/cron/sync", headers={"Authorization": "Bearer test-cron-secret-0123456789"}).json()
    assert report["green-api"]["orphans_deleted"] == 1
    assert all(i.deleted for i in green.instances.values() if (i.name or "").startswith("inbox-"))


def test_a_rejected_create_leaves_nothing_in_the_list(api, sims, alice, sql):
    r = create(api, alice, green_api={"id_instance": "7103123456", "api_token_instance": "ab" * 25,
                                      "api_url": "http://127.0.0.1:1"})
    assert r.status_code == 400
    assert sql.execute("select count(*) from public.numbers").fetchone()[0] == 0
    sims["green-api"].fail("status", status=401, body="Unauthorized")
    iid, token = sims["green-api"].add_instance()
    r = create(api, alice, green_api={"id_instance": iid, "api_token_instance": token, "api_url": sims["green-api"].url})
    assert r.status_code == 502
    assert api.get("/api/v1/numbers", headers=alice.headers).json()["items"] == []


def test_deleting_a_linked_green_api_number_clears_its_webhook_and_it_can_be_linked_again(api, sims, alice,
                                                                                          monkeypatch):
    monkeypatch.delenv("GREEN_API_PARTNER_TOKEN")
    config.reset()
    providers.reset()
    green = sims["green-api"]
    iid, token = green.add_instance()
    creds = {"id_instance": iid, "api_token_instance": token, "api_url": green.url}
    first = create(api, alice, green_api=creds)
    assert first.status_code == 201, first.text
    assert api.delete(f"/api/v1/numbers/{first.json()['id']}", headers=alice.headers).status_code == 200
    assert green.instances[iid].settings["webhookUrl"] == "" and green.instances[iid].settings["webhookUrlToken"] == ""
    assert not green.instances[iid].deleted  # the user's own instance: never deleted by us
    again = create(api, alice, green_api=creds)
    assert again.status_code == 201, again.text


def test_one_disconnected_number_does_not_open_the_breaker_for_the_others(api, sims, alice, sql):
    evo = sims["evolution"]
    a = create(api, alice, provider="evolution").json()
    b = create(api, alice, provider="evolution").json()
    evo.scan(f"inbox-{b['id']}")
    evo.wait_idle()
    sql.execute("update public.numbers set status = 'active' where id = %s", (a["id"],))  # we think it is up
    chat_a, chat_b = add_chat(sql, alice.id, a["id"]), add_chat(sql, alice.id, b["id"])
    for i in range(6):
        r = api.post(f"/api/v1/chats/{chat_a}/send", json={"text": "hi"},
                     headers={**alice.headers, "Idempotency-Key": f"a-{i}"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "number_disconnected"
    r = api.post(f"/api/v1/chats/{chat_b}/send", json={"text": "hi"}, headers={**alice.headers, "Idempotency-Key": "b"})
    assert r.status_code == 201, r.text


def test_media_evolution_cannot_download_fails_the_message_with_a_reason(api, sims, alice, sql):
    evo = sims["evolution"]
    number = create(api, alice, provider="evolution").json()
    evo.scan(f"inbox-{number['id']}")
    evo.wait_idle()
    chat = add_chat(sql, alice.id, number["id"])
    evo.fail("status", times=1, status=500, body={"status": 500, "error": "Internal Server Error",
                                                  "response": {"message": ["Error: getaddrinfo ENOTFOUND cdn.example.com"]}})
    r = api.post(f"/api/v1/chats/{chat}/send", json={"type": "image", "media": {"url": "https://cdn.example.com/a.jpg"}},
                 headers={**alice.headers, "Idempotency-Key": "m1"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "media_unreachable"
    assert sql.execute("select status from public.messages where chat_id = %s", (chat,)).fetchone()[0] == "failed"


def test_an_unconfirmed_send_becomes_unknown_then_its_webhook_completes_it(api, sims, alice, sql):
    evo = sims["evolution"]
    number = create(api, alice, provider="evolution").json()
    evo.scan(f"inbox-{number['id']}")
    evo.wait_idle()
    chat = add_chat(sql, alice.id, number["id"], "5511999990002@c.us")
    evo.fail("status", times=1, status=502, body="Bad Gateway")  # a gateway error: it may have gone out
    r = api.post(f"/api/v1/chats/{chat}/send", json={"text": "are you there?"},
                 headers={**alice.headers, "Idempotency-Key": "u1"})
    assert r.status_code == 504
    sql.execute("update public.messages set created_at = now() - interval '1 hour' where chat_id = %s", (chat,))
    report = api.get("/api/cron/sync", headers={"Authorization": "Bearer test-cron-secret-0123456789"}).json()
    assert report["sends_marked_unknown"] == 1
    assert sql.execute("select status from public.messages where chat_id = %s", (chat,)).fetchone()[0] == "unknown"


def test_a_webhook_signed_for_one_number_cannot_post_for_another(api, sims, alice):
    number_a = create(api, alice, provider="evolution").json()
    number_b = create(api, alice, provider="evolution").json()
    secret = config.settings().evolution_webhook_secret
    body = {"event": "connection.update", "instance": f"inbox-{number_b['id']}",
            "data": {"state": "open", "statusReason": 200}}
    token = sign_evolution(evolution_number_key(secret, number_a["id"]))
    r = api.post(f"/api/v1/webhooks/evolution/{number_b['id']}", content=json.dumps(body),
                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert r.status_code == 401
    # the shared (legacy) route needs the body's apikey as well
    r = api.post("/api/v1/webhooks/evolution", content=json.dumps(body),
                 headers={"Authorization": f"Bearer {sign_evolution(secret)}", "Content-Type": "application/json"})
    assert r.status_code == 401
    ok = sign_evolution(evolution_number_key(secret, number_b["id"]))
    r = api.post(f"/api/v1/webhooks/evolution/{number_b['id']}", content=json.dumps(body),
                 headers={"Authorization": f"Bearer {ok}", "Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["status"] == "ok"


@pytest.mark.parametrize("provider", ["evolution", "green-api"])
def test_teardown_events_after_delete_are_not_dead_letters(api, sims, alice, sql, provider):
    number = create(api, alice, provider=provider).json()
    sim = sims[provider]
    if provider == "evolution":
        sim.scan(f"inbox-{number['id']}")
    sim.wait_idle()
    instance = sql.execute("select provider_instance_id from public.numbers where id = %s",
                           (number["id"],)).fetchone()[0]
    settings = dict(sim.instances[instance].settings) if provider == "green-api" else None
    before = len(sim.deliveries)
    assert api.delete(f"/api/v1/numbers/{number['id']}", headers=alice.headers).status_code == 200
    if provider == "green-api":
        # Deleting clears the webhook first, so GREEN-API sends nothing more; a notification already
        # in flight still arrives, signed for the number.
        sim.emit(settings["webhookUrl"], "stateInstanceChanged", {
            "typeWebhook": "stateInstanceChanged", "stateInstance": "notAuthorized", "timestamp": 1764150000,
            "instanceData": {"idInstance": int(instance), "wid": "", "typeInstance": "whatsapp"}},
            {"Authorization": f"Bearer {settings['webhookUrlToken']}"})
    sim.wait_idle()
    after = sim.deliveries[before:]
    assert after and all(d.status == 200 for d in after), after  # Evolution's close/remove; the late notification
    assert sql.execute("select count(*) from private.dead_letters").fetchone()[0] == 0

"""What the frontend's flows need, over real HTTP: the provider selector, restarting a stuck session,
sending a failed message again — against both simulators and the real database."""

from __future__ import annotations

import uuid

import pytest

from lib import config, providers
from tests.api.conftest import add_number


def by_name(body):
    return {p["name"]: p for p in body["items"]}


@pytest.mark.parametrize(("rollout", "allow_listed", "evolution_available"),
                         [("all", False, True), ("beta", True, True), ("beta", False, False), ("off", True, False)])
def test_the_provider_selector_follows_the_rollout(api, sims, alice, sql, monkeypatch, rollout, allow_listed,
                                                    evolution_available):
    monkeypatch.setenv("EVOLUTION_ROLLOUT", rollout)
    config.reset()
    providers.reset()
    if allow_listed:
        sql.execute("insert into private.provider_rollout (user_id, provider) values (%s, 'evolution')", (alice.id,))
    r = api.get("/api/v1/providers", headers=alice.headers)
    assert r.status_code == 200, r.text
    items = by_name(r.json())
    assert items["evolution"]["available"] is evolution_available and items["green-api"]["available"] is True
    assert items["green-api"]["default"] is True and items["evolution"]["default"] is False
    for caps in (items["evolution"]["capabilities"], items["green-api"]["capabilities"]):
        assert caps["reactions"] and caps["edits"] and caps["deletes"] and caps["read_receipts"] and caps["start_chat"]
        assert caps["pairing_code"] is True and "voice" in caps["media"]
    assert items["green-api"]["capabilities"]["instances"] == "created"  # a partner token is configured


def test_without_a_partner_token_green_api_links_instances_and_unconfigured_evolution_is_unavailable(
        api, alice, monkeypatch):
    monkeypatch.setenv("EVOLUTION_ROLLOUT", "all")
    config.reset()
    providers.reset()
    items = by_name(api.get("/api/v1/providers", headers=alice.headers).json())
    assert items["green-api"]["capabilities"]["instances"] == "linked"
    assert items["evolution"]["available"] is False  # EVOLUTION_API_URL and keys unset


def test_restart_repairs_a_stuck_session(api, alice, line):
    r = api.post(f"/api/v1/numbers/{line.number}/restart", headers=alice.headers)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == line.number and "api_token" not in r.text
    calls = [q.path for q in line.sim.requests if "restart" in q.path or "reboot" in q.path]
    assert calls == ([f"/instance/restart/{line.instance}"] if line.provider == "evolution"
                     else [f"/waInstance{line.instance}/reboot/***"])


def test_restart_of_a_logged_out_number_asks_for_a_qr_instead(api, alice, sql, sims):
    nid = add_number(sql, alice.id, "green-api", status="logged_out")
    r = api.post(f"/api/v1/numbers/{nid}/restart", headers=alice.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "reconnect_required"
    assert sims["green-api"].requests == []


def test_a_failed_message_is_sent_again_once(api, alice, line, sql):
    line.says("hi")
    chat_id = line.chat_id()
    line.sim.fail("status", times=1, status=400, body={"status": 400, "error": "Bad Request", "response": {
        "message": [{"jid": "5511999990002@s.whatsapp.net", "exists": False, "number": "5511999990002"}]}}
        if line.provider == "evolution" else "Bad Request Validation failed")
    failed = api.post(f"/api/v1/chats/{chat_id}/send", json={"text": "try me"},
                      headers={**alice.headers, "Idempotency-Key": str(uuid.uuid4())})
    expected = "not_on_whatsapp" if line.provider == "evolution" else "invalid_request"
    assert (failed.status_code, failed.json()["error"]["code"]) == (422, expected), failed.text
    failed_id = sql.execute("select id::text from public.messages where status = 'failed'").fetchone()[0]
    r = api.post(f"/api/v1/messages/{failed_id}/resend", headers=alice.headers)
    assert r.status_code == 201, r.text
    assert r.json()["body"] == "try me" and r.json()["id"] != failed_id and r.json()["provider_message_id"]
    again = api.post(f"/api/v1/messages/{failed_id}/resend", headers=alice.headers)
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
    assert len(line.sim.sent) == 1
    not_failed = api.post(f"/api/v1/messages/{r.json()['id']}/resend", headers=alice.headers)
    assert not_failed.status_code == 409 and not_failed.json()["error"]["code"] == "not_failed"

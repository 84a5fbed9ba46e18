"""History import and recovery against both simulators and the real database: a number connected with
history imports it once (a webhook for an imported message adds nothing); after an outage the missed
messages are imported; progress is stored and resumable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lib import conversations
from tests.api.conftest import add_number
from tests.conversations.phone import connect


def count(sql, number) -> int:
    return sql.execute("select count(*) from public.messages where number_id = %s", (number,)).fetchone()[0]


def offline(line, messages: list[str]) -> list[str]:
    """The provider holds these messages, but their webhooks never reach us."""
    line.sim.offline.add(line.instance)
    mids = [line.sim.inject_message(line.instance, line.contact_jid, text) for text in messages]
    line.sim.wait_idle()
    line.sim.offline.discard(line.instance)
    return mids


def test_a_connected_number_imports_its_history_once_and_a_webhook_adds_nothing(api, alice, line, sql):
    mids = offline(line, ["first", "second", "third"])
    assert count(sql, line.number) == 0
    assert conversations.run_due_imports() == {"done": 1, "open": 0, "failed": 0}
    assert sql.execute("select body from public.messages where number_id = %s order by sent_at, body",
                       (line.number,)).fetchall() == [("first",), ("second",), ("third",)]
    chat = line.chat(line.chat_id())
    assert chat["unread_count"] == 0 and chat["last_message_preview"] in ("first", "second", "third")
    assert conversations.run_due_imports() == {"done": 0, "open": 0, "failed": 0}  # once

    again = api.post(f"/api/v1/numbers/{line.number}/history", headers=alice.headers)
    assert again.status_code == 200, again.text
    assert (again.json()["state"], again.json()["imported"], again.json()["duplicates"]) == ("done", 0, 3)

    line.sim.inject_message(line.instance, line.contact_jid, "second", message_id=mids[1])  # the webhook, late
    line.sim.wait_idle()
    assert count(sql, line.number) == 3
    listed = api.get(f"/api/v1/numbers/{line.number}/history", headers=alice.headers).json()["items"]
    assert [(i["reason"], i["state"], i["imported"]) for i in listed] == [("manual", "done", 0),
                                                                           ("first_connect", "done", 3)]


def test_after_an_outage_the_missed_messages_are_imported_and_stay_unread(api, alice, line, sql):
    line.says("before the outage")
    outage = datetime.now(UTC) - timedelta(seconds=1)
    offline(line, ["missed one", "missed two"])
    assert count(sql, line.number) == 1
    job = conversations.recover(line.number, outage)
    assert job["state"] == "done" and job["reason"] == "recovery" and job["imported"] == 2
    assert count(sql, line.number) == 3
    assert line.chat(line.chat_id())["unread_count"] == 3
    over_http = api.post(f"/api/v1/numbers/{line.number}/history", json={"since": outage.isoformat()},
                         headers=alice.headers)
    assert over_http.status_code == 200 and over_http.json()["imported"] == 0 and count(sql, line.number) == 3


def test_an_import_that_runs_out_of_time_resumes_where_it_stopped(line, sql, monkeypatch):
    from lib.providers.evolution import chats as evo_chats

    monkeypatch.setattr(evo_chats, "HISTORY_PAGE", 2)
    offline(line, [f"m{i}" for i in range(3)])
    first = conversations.import_history(None, line.number, reason="first_connect", budget=0)
    assert first["state"] == "running" and first["pages"] == 1
    assert sql.execute("select cursor from public.history_imports").fetchone()[0] is not None
    second = conversations.import_history(None, line.number, reason="first_connect", budget=60)
    assert second["id"] == first["id"] and second["state"] == "done"
    assert second["imported"] == 3 and count(sql, line.number) == 3


def test_history_needs_a_connected_number(api, alice, sql, sims):
    nid = add_number(sql, alice.id, "green-api", status="logged_out")
    r = api.post(f"/api/v1/numbers/{nid}/history", headers=alice.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "number_disconnected"


def test_a_provider_failure_is_recorded_on_the_import(api, alice, line):
    line.sim.fail("status", status=401, body="Unauthorized")
    r = api.post(f"/api/v1/numbers/{line.number}/history", headers=alice.headers)
    line.sim.clear_failures()
    assert r.status_code == 200 and r.json()["state"] == "failed" and r.json()["error"].startswith("provider_auth")
    retry = api.post(f"/api/v1/numbers/{line.number}/history", headers=alice.headers)
    assert retry.status_code == 200 and retry.json()["state"] == "done" and retry.json()["id"] != r.json()["id"]


def test_bad_since_is_400(api, alice, line):
    for since in ("2020-01-01T00:00:00Z", "2026-11-20T00:00:00", "yesterday"):
        r = api.post(f"/api/v1/numbers/{line.number}/history", json={"since": since}, headers=alice.headers)
        assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed"


def test_another_users_number_is_404(api, bob, line):
    assert api.post(f"/api/v1/numbers/{line.number}/history", headers=bob.headers).status_code == 404
    r = api.get(f"/api/v1/numbers/{line.number}/history", headers=bob.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "number_not_found"


def test_after_the_health_cron_saw_the_server_down_the_job_recovers_the_window_once(api, alice, sims, sql):
    line = connect("evolution", api, sims, alice, sql)
    assert conversations.run_due_imports()["done"] == 1  # its first-connection import (nothing yet)
    down_since = datetime.now(UTC) - timedelta(seconds=1)
    offline(line, ["while the server was down"])
    sql.execute("insert into private.incidents (rule, subject, title, details, opened_at, resolved_at) "
                "values ('server_down', 'evolution', 'Evolution server unreachable', %s::jsonb, now(), now())",
                (f'{{"since": "{down_since.isoformat()}"}}',))
    assert conversations.run_due_imports() == {"done": 1, "open": 0, "failed": 0}
    assert sql.execute("select body from public.messages where number_id = %s", (line.number,)).fetchall() == [
        ("while the server was down",)]
    assert line.chat(line.chat_id())["unread_count"] == 1
    assert conversations.run_due_imports() == {"done": 0, "open": 0, "failed": 0}  # once per incident

"""The crons over HTTP against the simulators, a real SMTP server and a real HTTP receiver (Slack):
server down and back, a logged-out number, flapping, error rate, a failed delivery retried."""

from __future__ import annotations

import pytest

from lib import config, db, recorder, resilience
from tests.api.conftest import add_number
from tests.conftest import TEST_CRON_SECRET, make_user
from tests.monitor.conftest import _clean_monitor_tables, _empty_recorder, alert_env, slack, smtp  # noqa: F401
from tests.monitor.helpers import evolution_number

CRON = {"Authorization": f"Bearer {TEST_CRON_SECRET}"}


def _health(api) -> dict:
    r = api.get("/api/cron/health", headers=CRON)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("path", ["/api/cron/health", "/api/cron/keepalive"])
def test_crons_need_the_cron_secret(api, path):
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = api.get(path, headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


def test_server_down_email_after_the_threshold_then_recovery_email(api, sims, alert_env, sql):  # noqa: F811
    mailbox = alert_env["mailbox"]
    sims["evolution"].fail("down")
    first = _health(api)
    assert first["evolution"]["ok"] is False and first["alerts"]["server_down"] == "ok"
    assert mailbox.messages == []  # down, but not for ALERT_SERVER_DOWN_AFTER_SECONDS yet
    sql.execute("update private.monitor_probes set checked_at = checked_at - interval '301 seconds'")
    second = _health(api)
    assert second["alerts"]["server_down"] == "opened" and second["delivered"]["sent"] == 1
    [down] = mailbox.wait_for(1)
    assert down["Subject"] == "[wa-inbox] Evolution server unreachable"
    assert "provider_unreachable" in down.get_payload()
    assert _health(api)["alerts"]["server_down"] == "open" and len(mailbox.messages) == 1  # no repeat
    sims["evolution"].clear_failures()
    recovered = _health(api)
    assert recovered["evolution"]["ok"] is True and recovered["alerts"]["server_down"] == "resolved"
    up = mailbox.wait_for(2)[1]
    assert up["Subject"] == "[wa-inbox] Evolution server reachable again"
    assert mailbox.envelopes[1]["to"] == ["oncall@inbox.test", "backup@inbox.test"]


def test_a_logged_out_number_is_one_slack_message_naming_it(api, sims, alert_env, sql, server_url):  # noqa: F811
    owner = make_user(sql, "maria@shop.test")
    nid, name = evolution_number(sql, sims["evolution"], server_url, owner, "Front desk", phone="5511999990001")
    _health(api)
    assert alert_env["slack"].received == []  # connecting → active is not an alert
    sims["evolution"].disconnect(name, 401)  # the phone unlinked the device: a webhook tells us
    sims["evolution"].wait_idle()
    report = _health(api)
    assert report["delivered"]["sent"] == 1
    [msg] = alert_env["slack"].received
    text = msg["body"]["text"]
    assert "Number left active" in text and "Front desk" in text and "5511999990001" in text
    assert "evolution" in text and "logged_out" in text and "maria@shop.test" in text and nid in text


def test_a_number_flapping_five_times_inside_the_cooldown_is_one_message(api, sims, alert_env, sql,  # noqa: F811
                                                                          server_url):
    owner = make_user(sql, "ops@shop.test")
    nid, name = evolution_number(sql, sims["evolution"], server_url, owner, "Flappy")
    for _ in range(5):
        sims["evolution"].disconnect(name, 401)
        sims["evolution"].scan(name)
    sims["evolution"].wait_idle()
    assert sql.execute("select count(*) from public.number_status_events where number_id = %s and changed "
                       "and to_status = 'logged_out'", (nid,)).fetchone()[0] == 5
    _health(api)
    _health(api)
    assert len(alert_env["slack"].received) == 1
    assert "Flappy" in alert_env["slack"].received[0]["body"]["text"]


def test_error_rate_email_then_back_to_normal(api, sims, alert_env, sql, alice, monkeypatch):  # noqa: F811
    for i in range(25):
        add_number(sql, alice.id, "evolution", instance=f"inbox-rate-{i}")
    sims["evolution"].fail("status", status=500)
    report = _health(api)
    assert report["numbers"]["probed"] == 25 and report["numbers"]["provider_errors"] == 25
    assert report["alerts"]["error_rate:evolution"] == "opened"
    [msg] = alert_env["mailbox"].wait_for(1)
    assert msg["Subject"].startswith("[wa-inbox] evolution error rate")
    assert "calls to evolution failed" in msg.get_payload()
    sims["evolution"].clear_failures()
    resilience.reset_breakers()  # the breaker's cooldown has passed (it opened after 5 failures)
    recorder.flush()  # the failing calls made after the first run's rollup (its keepalive step)
    db.call("monitor_rollup")
    sql.execute("update private.metrics set bucket = bucket - interval '10 minutes' where res = 'minute'")
    again = _health(api)  # the window now holds 25 answered calls (404: no such instance — not errors)
    assert again["alerts"]["error_rate:evolution"] == "resolved"
    assert alert_env["mailbox"].wait_for(2)[1]["Subject"] == "[wa-inbox] evolution error rate back to normal"


def test_an_alert_whose_first_delivery_fails_is_delivered_by_the_next_run_once(api, sims, alert_env, sql,  # noqa: F811
                                                                               server_url):
    slack_rx = alert_env["slack"]
    slack_rx.statuses.append(503)  # Slack is down for the first attempt
    owner = make_user(sql)
    nid, name = evolution_number(sql, sims["evolution"], server_url, owner, "Retry me")
    sims["evolution"].disconnect(name, 401)
    sims["evolution"].wait_idle()
    first = _health(api)
    assert first["delivered"] == {"sent": 0, "failed": 1, "unconfigured": 0}
    second = _health(api)
    assert second["delivered"] == {"sent": 1, "failed": 0, "unconfigured": 0}
    third = _health(api)
    assert third["delivered"] == {"sent": 0, "failed": 0, "unconfigured": 0}
    assert len(slack_rx.received) == 2 and slack_rx.received[0]["body"] == slack_rx.received[1]["body"]
    assert sql.execute("select state, attempts from private.alert_outbox").fetchall() == [("sent", 2)]


def test_without_channels_alerts_are_recorded_and_logged(api, sims, sql, monkeypatch, caplog):
    for key in ("SMTP_URL", "SLACK_WEBHOOK_URL"):
        monkeypatch.delenv(key, raising=False)
    config.reset()
    sims["evolution"].fail("down")
    _health(api)
    sql.execute("update private.monitor_probes set checked_at = checked_at - interval '301 seconds'")
    report = _health(api)
    assert report["delivered"] == {"sent": 0, "failed": 0, "unconfigured": 1}
    assert sql.execute("select state, title from private.alert_outbox").fetchall() == [
        ("unconfigured", "Evolution server unreachable")]
    assert any(getattr(r, "alert", False) and r.rule == "server_down" for r in caplog.records)
    sims["evolution"].clear_failures()


def test_the_health_cron_records_provider_state_through_the_state_machine(api, sims, alert_env, sql,  # noqa: F811
                                                                          server_url):
    owner = make_user(sql)
    nid, name = evolution_number(sql, sims["evolution"], server_url, owner, "Silent")
    sims["evolution"].instances[name].state = "close"  # closed without telling us (no webhook)
    report = _health(api)
    assert report["numbers"]["changed"] == 1
    assert sql.execute("select status from public.numbers where id = %s", (nid,)).fetchone()[0] == "disconnected"
    assert sql.execute("select source from public.number_status_events where number_id = %s order by id desc "
                       "limit 1", (nid,)).fetchone()[0] == "health"
    assert len(alert_env["slack"].received) == 1  # leaving active, whoever noticed it


def test_the_health_cron_rotates_through_numbers_in_batches(api, sims, sql, alice, monkeypatch):
    monkeypatch.setenv("HEALTH_BATCH_SIZE", "4")
    config.reset()
    ids = sorted(add_number(sql, alice.id, "evolution", instance=f"inbox-rot-{i}") for i in range(10))
    seen: list[int] = []
    for _ in range(3):
        seen.append(_health(api)["numbers"]["batch"])
    assert seen == [4, 4, 2]
    probed = {r[0] for r in sql.execute("select number_id::text from private.number_monitor "
                                        "where probed_at is not null")}
    assert probed == set(ids)
    assert _health(api)["numbers"]["batch"] == 4  # and round again


def test_the_health_cron_runs_the_history_imports(api, sims, sql, alice):
    """A number that connected gets its first-connection history import from the cron's spare time."""
    number = api.post("/api/v1/numbers", json={"provider": "evolution"}, headers=alice.headers).json()
    sims["evolution"].scan(f"inbox-{number['id']}")
    sims["evolution"].wait_idle()
    assert sql.execute("select count(*) from public.history_imports where number_id = %s",
                       (number["id"],)).fetchone()[0] == 0
    report = _health(api)
    assert "history" in report
    assert sql.execute("select count(*) from public.history_imports where number_id = %s",
                       (number["id"],)).fetchone()[0] == 1

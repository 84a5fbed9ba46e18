"""Alert rules, incidents, the cooldown and the outbox, on the real database."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lib import db
from lib.monitor import outbox
from tests.api.conftest import add_number
from tests.conftest import make_user


def _changed(sql, nid: str, old: str, new: str, reason: str | None = "closed by the phone", source: str = "webhook"):
    sql.execute("select private.on_number_status_changed(%s, %s, %s, %s, %s, now())", (nid, old, new, reason, source))


def _outbox(sql, rule: str | None = None) -> list[tuple]:
    q = "select channel, kind, title, body, subject from private.alert_outbox"
    if rule:
        return sql.execute(q + " where rule = %s order by id", (rule,)).fetchall()
    return sql.execute(q + " order by id").fetchall()


@pytest.fixture
def owner(sql, database):
    return make_user(sql, "owner@shop.test")


def test_a_number_leaving_active_opens_one_incident_and_one_slack_message(sql, owner):
    nid = add_number(sql, owner, "evolution", label="Front desk")
    sql.execute("update public.numbers set phone = '5511999990001' where id = %s", (nid,))
    _changed(sql, nid, "active", "logged_out", "the phone unlinked this device")
    [(channel, kind, title, body, subject)] = _outbox(sql)
    assert (channel, kind, subject) == ("slack", "opened", nid)
    assert "Front desk" in body and "5511999990001" in body and "evolution" in body
    assert "logged_out" in body and "the phone unlinked this device" in body and "owner@shop.test" in body
    assert sql.execute("select count(*) from private.incidents where rule = 'number_left_active' "
                       "and resolved_at is null").fetchone()[0] == 1


def test_five_flaps_inside_the_cooldown_send_one_message_then_one_summary(sql, owner):
    nid = add_number(sql, owner, "green-api", label="Sales")
    for _ in range(5):
        _changed(sql, nid, "active", "disconnected")
        _changed(sql, nid, "disconnected", "active")
    assert [(r[0], r[1]) for r in _outbox(sql)] == [("slack", "opened")]
    # Cooldown over, and the number is active while the one message said "down": one summary.
    sql.execute("update private.alert_cooldowns set last_sent_at = now() - interval '16 minutes'")
    db.call("monitor_evaluate", p_settings={})
    rows = _outbox(sql)
    assert [(r[1]) for r in rows] == ["opened", "summary"]
    assert "active again" in rows[1][2] and "9 more times" in rows[1][3]
    db.call("monitor_evaluate", p_settings={})
    assert len(_outbox(sql)) == 2


def test_a_flap_that_ends_where_the_message_said_needs_no_summary(sql, owner):
    nid = add_number(sql, owner, "green-api")
    _changed(sql, nid, "active", "disconnected")
    _changed(sql, nid, "disconnected", "active")
    _changed(sql, nid, "active", "disconnected")
    sql.execute("update public.numbers set status = 'disconnected' where id = %s", (nid,))
    sql.execute("update private.alert_cooldowns set last_sent_at = now() - interval '16 minutes'")
    db.call("monitor_evaluate", p_settings={})
    assert [r[1] for r in _outbox(sql)] == ["opened"]


def test_back_to_active_after_the_cooldown_is_its_own_message(sql, owner):
    nid = add_number(sql, owner, "evolution")
    _changed(sql, nid, "active", "blocked", "restricted")
    sql.execute("update private.alert_cooldowns set last_sent_at = now() - interval '16 minutes'")
    _changed(sql, nid, "blocked", "active", None)
    assert [r[1] for r in _outbox(sql)] == ["opened", "resolved"]
    assert sql.execute("select count(*) from private.incidents where resolved_at is null").fetchone()[0] == 0


@pytest.mark.parametrize("to", ["qr", "connecting", "pending"])
def test_other_transitions_are_not_alerts(sql, owner, to):
    nid = add_number(sql, owner, "evolution")
    _changed(sql, nid, "active", to)
    assert _outbox(sql) == []


def _probe(sql, ok: bool, ago_seconds: float, error: str | None = "provider_unreachable"):
    sql.execute("insert into private.monitor_probes (target, checked_at, ok, latency_ms, error) "
                "values ('evolution', now() - make_interval(secs => %s), %s, 12.5, %s)",
                (ago_seconds, ok, None if ok else error))


def test_server_down_opens_after_the_threshold_and_resolves_with_one_email_each(sql, database):
    _probe(sql, True, 900)
    _probe(sql, False, 200)
    assert db.call("monitor_evaluate", p_settings={"server_down_after_seconds": 300})["server_down"] == "ok"
    _probe(sql, False, 0)
    assert db.call("monitor_evaluate", p_settings={})["server_down"] == "ok"  # down for 200 s only
    sql.execute("update private.monitor_probes set checked_at = checked_at - interval '150 seconds'")
    _probe(sql, False, 0)
    assert db.call("monitor_evaluate", p_settings={})["server_down"] == "opened"
    assert db.call("monitor_evaluate", p_settings={})["server_down"] == "open"
    _probe(sql, True, 0)
    assert db.call("monitor_evaluate", p_settings={})["server_down"] == "resolved"
    rows = _outbox(sql, "server_down")
    assert [(r[0], r[1]) for r in rows] == [("email", "opened"), ("email", "resolved")]
    assert "unreachable" in rows[0][2] and "provider_unreachable" in rows[0][3]


def _calls(sql, provider: str, calls: int, errors: int, minutes_ago: int = 0):
    for metric, n in (("provider_calls", calls), ("provider_errors", errors)):
        sql.execute("insert into private.metrics (res, bucket, provider, metric, count) values "
                    "('minute', date_trunc('minute', now()) - make_interval(mins => %s), %s, %s, %s)",
                    (minutes_ago, provider, metric, n))


def test_error_rate_needs_enough_calls_and_resolves_when_back_under(sql, database):
    _calls(sql, "green-api", 10, 9)
    out = db.call("monitor_evaluate", p_settings={"min_calls": 20, "error_rate": 0.1})
    assert "error_rate:green-api" not in out  # 10 calls: no evidence either way
    sql.execute("delete from private.metrics")
    _calls(sql, "green-api", 40, 5)
    assert db.call("monitor_evaluate", p_settings={})["error_rate:green-api"] == "opened"
    sql.execute("delete from private.metrics")
    _calls(sql, "green-api", 40, 4)
    assert db.call("monitor_evaluate", p_settings={})["error_rate:green-api"] == "resolved"
    rows = _outbox(sql, "error_rate")
    assert [(r[0], r[1]) for r in rows] == [("email", "opened"), ("email", "resolved")]
    assert "5 of 40 calls to green-api failed" in rows[0][3]


def test_calls_outside_the_window_do_not_count(sql, database):
    _calls(sql, "evolution", 100, 100, minutes_ago=30)
    assert "error_rate:evolution" not in db.call("monitor_evaluate", p_settings={"error_window_seconds": 300})


@pytest.mark.parametrize(("reasons", "sources", "cause"), [
    (["bad_signature"] * 25, 1, "secret rotation"),
    (["missing_authorization", "malformed_token"] * 13, 20, "stranger"),
])
def test_auth_failures_name_the_provider_and_the_likely_cause(sql, database, reasons, sources, cause):
    for i, reason in enumerate(reasons):
        db.call("record_webhook_auth_failure", p_provider="evolution", p_reason=reason, p_source=f"10.0.0.{i % sources}")
    out = db.call("monitor_evaluate", p_settings={"auth_failures": 20})
    assert out["auth_failures:evolution"] == "opened" and out["auth_failures:green-api"] == "ok"
    [(channel, kind, title, body, subject)] = _outbox(sql, "auth_failures")
    assert channel == "email" and subject == "evolution" and "evolution" in title and cause in body


def test_phone_unseen_for_ten_days_warns_once_and_clears_when_seen(sql, owner):
    nid = add_number(sql, owner, "evolution", label="Warehouse")
    sql.execute("update public.numbers set connected_at = now() - interval '11 days' where id = %s", (nid,))
    fresh = add_number(sql, owner, "evolution")
    sql.execute("update public.numbers set connected_at = now() - interval '2 days' where id = %s", (fresh,))
    assert db.call("monitor_evaluate", p_settings={"phone_unseen_days": 10})["phone_unseen_warned"] == 1
    assert db.call("monitor_evaluate", p_settings={})["phone_unseen_warned"] == 0
    [(channel, kind, title, body, subject)] = _outbox(sql, "phone_unseen")
    assert (channel, subject) == ("slack", nid) and "11 days" in title and "faq.whatsapp.com" in body
    sql.execute("update public.numbers set connected_at = now() where id = %s", (nid,))
    db.call("monitor_evaluate", p_settings={})
    assert sql.execute("select count(*) from private.incidents where rule = 'phone_unseen' and resolved_at is null"
                       ).fetchone()[0] == 0


def _enqueue(sql, n: int = 1, channel: str = "email"):
    for i in range(n):
        sql.execute("select private.enqueue_alert(%s, null, 'test', %s, 'opened', %s, 'body')",
                    (channel, str(i), f"alert {i}"))


def test_concurrent_deliveries_send_each_message_once(sql, database, monkeypatch):
    _enqueue(sql, 30)
    sent: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def fake_send(title: str, body: str) -> None:
        with lock:
            sent.append(title)

    monkeypatch.setitem(outbox.CHANNELS, "email", outbox.Channel(lambda: True, fake_send))

    def worker():
        barrier.wait()
        outbox.deliver(limit=10)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outbox.deliver(limit=50)  # whatever the four left
    assert sorted(sent) == sorted(f"alert {i}" for i in range(30))
    assert sql.execute("select count(*) from private.alert_outbox where state = 'sent'").fetchone()[0] == 30


def test_a_failed_delivery_is_retried_at_the_next_run_then_with_back_off(sql, database, monkeypatch):
    _enqueue(sql, 1)
    attempts: list[str] = []

    def flaky(title: str, body: str) -> None:
        attempts.append(title)
        if len(attempts) < 3:
            raise ConnectionRefusedError("smtp down")

    monkeypatch.setitem(outbox.CHANNELS, "email", outbox.Channel(lambda: True, flaky))
    assert outbox.deliver() == {"sent": 0, "failed": 1, "unconfigured": 0}
    row = sql.execute("select state, attempts, next_attempt_at <= now(), last_error from private.alert_outbox").fetchone()
    assert row[:3] == ("pending", 1, True) and "smtp down" in row[3]
    assert outbox.deliver() == {"sent": 0, "failed": 1, "unconfigured": 0}
    wait = sql.execute("select next_attempt_at - now() from private.alert_outbox").fetchone()[0]
    assert timedelta(seconds=50) < wait <= timedelta(seconds=60)  # second failure: a minute
    assert outbox.deliver() == {"sent": 0, "failed": 0, "unconfigured": 0}  # not due yet
    sql.execute("update private.alert_outbox set next_attempt_at = now()")
    assert outbox.deliver() == {"sent": 1, "failed": 0, "unconfigured": 0}
    assert outbox.deliver() == {"sent": 0, "failed": 0, "unconfigured": 0}
    assert len(attempts) == 3


def test_an_unconfigured_channel_records_and_logs_without_sending(sql, database, caplog):
    _enqueue(sql, 1, "slack")
    assert outbox.deliver() == {"sent": 0, "failed": 0, "unconfigured": 1}
    assert sql.execute("select state from private.alert_outbox").fetchone()[0] == "unconfigured"
    assert any(getattr(r, "alert", False) and r.title == "alert 0" for r in caplog.records)
    assert outbox.deliver() == {"sent": 0, "failed": 0, "unconfigured": 0}


def test_only_the_lease_holder_finishes(sql, database):
    _enqueue(sql, 1)
    [row] = db.call("alert_outbox_claim", p_limit=5, p_lease_seconds=60)
    assert db.call("alert_outbox_claim", p_limit=5, p_lease_seconds=60) == []  # leased
    assert db.call("alert_outbox_finish", p_id=row["id"], p_lease="00000000-0000-4000-8000-000000000000",
                   p_outcome="sent") is None
    assert db.call("alert_outbox_finish", p_id=row["id"], p_lease=row["lease"], p_outcome="sent") is True
    sql.execute("update private.alert_outbox set lease_until = now() - interval '1 second'")
    assert db.call("alert_outbox_claim", p_limit=5, p_lease_seconds=60) == []  # sent: never again


def test_retention_keeps_14_days_of_minutes_and_90_of_hours(sql, database):
    now = datetime.now(UTC)
    for res, age in (("minute", 13), ("minute", 15), ("hour", 89), ("hour", 91)):
        sql.execute("insert into private.metrics (res, bucket, provider, metric, count) values (%s, %s, 'evolution', "
                    "'provider_calls', 1)", (res, now - timedelta(days=age)))
    db.call("monitor_rollup")
    kept = sql.execute("select res, round(extract(epoch from now() - bucket) / 86400) from private.metrics "
                       "where bucket < now() - interval '1 day' order by 1, 2").fetchall()
    assert [(r[0], int(r[1])) for r in kept] == [("hour", 89), ("minute", 13)]


def test_a_flapping_server_is_told_down_and_up_once_then_summarised(sql, database):
    def cycle(ok: bool):
        _probe(sql, ok, 0)
        return db.call("monitor_evaluate", p_settings={"server_down_after_seconds": 0})["server_down"]

    assert [cycle(False), cycle(True)] == ["opened", "resolved"]  # a recovery is always told
    assert [cycle(False), cycle(True), cycle(False)] == ["opened", "resolved", "opened"]  # inside the cooldown
    assert [r[1] for r in _outbox(sql, "server_down")] == ["opened", "resolved"]
    sql.execute("update private.alert_cooldowns set last_sent_at = now() - interval '16 minutes'")
    db.call("monitor_evaluate", p_settings={})
    rows = _outbox(sql, "server_down")
    assert [r[1] for r in rows] == ["opened", "resolved", "summary"] and "failing after flapping" in rows[2][2]


def test_every_runbook_section_an_alert_points_to_exists(sql, database):
    """The on-call reads `Runbook: "<section>"` in the alert and looks for that section."""
    _probe(sql, False, 900)
    _probe(sql, False, 0)
    _calls(sql, "green-api", 40, 40)
    for _ in range(25):
        db.call("record_webhook_auth_failure", p_provider="evolution", p_reason="bad_signature", p_source="10.0.0.1")
    out = db.call("monitor_evaluate", p_settings={"server_down_after_seconds": 300, "min_calls": 20,
                                                  "error_rate": 0.1, "auth_failures": 20})
    assert (out["server_down"], out["error_rate:green-api"], out["auth_failures:evolution"]) == ("opened",) * 3
    pointers = [m for row in _outbox(sql) for m in re.findall(r'Runbook: "([^"]+)"', row[2] + "\n" + row[3])]
    assert len(pointers) >= 3, pointers
    runbook = (Path(__file__).resolve().parents[2] / "docs" / "runbook.md").read_text()
    sections = {m.strip() for m in re.findall(r"^#+ (.+)$", runbook, re.M)}
    assert set(pointers) <= sections, set(pointers) - sections

"""The in-process recorder and its ride on the next database call (no extra round trip)."""

from __future__ import annotations

import pytest

from lib import db, recorder, resilience


def test_calls_are_aggregated_per_minute_provider_and_metric():
    t = 1_800_000_000.0
    for status, ms in ((200, 4.0), (200, 30.0), (500, 900.0), (None, 3000.0), (404, 20.0), (429, 1.0)):
        recorder.observe("evolution", "provider_calls", ms, at=t)
        if recorder.is_error(status, None):
            recorder.observe("evolution", "provider_errors", at=t)
    by_metric = {s["metric"]: s for s in recorder.drain()}
    calls = by_metric["provider_calls"]
    assert calls["count"] == 6 and calls["minute"] == int(t // 60 * 60)
    assert calls["hist"][0] == 2 and calls["hist"][3] == 1 and sum(calls["hist"]) == 6  # 4 ms, 1 ms; 30 ms
    assert by_metric["provider_errors"]["count"] == 3  # 500, no answer, 429 — not the 404
    assert recorder.drain() == []


def test_quantiles_from_the_histogram():
    hist = [0] * 15
    hist[4] = 50  # 50 calls in (50, 100] ms
    hist[7] = 50  # 50 calls in (500, 1000] ms
    assert 50 < recorder.quantile(hist, 0.5) <= 100
    assert 500 < recorder.quantile(hist, 0.95) <= 1000
    assert recorder.quantile([0] * 15, 0.5) is None


def test_the_buffer_is_bounded(monkeypatch):
    monkeypatch.setattr(recorder, "MAX_KEYS", 3)
    for minute in range(5):
        recorder.observe("green-api", "provider_calls", 1.0, at=minute * 60.0)
    assert [s["minute"] for s in sorted(recorder.drain(), key=lambda s: s["minute"])] == [120, 180, 240]


def test_resilience_hands_every_provider_call_to_the_recorder():
    call = resilience.Call(provider="green-api", operation="send_text", method="POST", url="https://x.test/")
    resilience._emit(call, 1, 503, 0.0, None)
    resilience._emit(call, 1, 200, 0.0, None)
    by_metric = {s["metric"]: s["count"] for s in recorder.drain()}
    assert by_metric == {"provider_calls": 2, "provider_errors": 1}


def test_samples_ride_on_the_next_call_in_the_same_round_trip(database, sql):
    recorder.observe("evolution", "provider_calls", 12.0)
    recorder.observe("evolution", "provider_errors")
    before = database.round_trips
    assert db.call("app_health")["ok"] is True
    assert database.round_trips == before + 1
    rows = sql.execute("select provider, metric, count from private.metric_samples order by metric").fetchall()
    assert rows == [("evolution", "provider_calls", 1), ("evolution", "provider_errors", 1)]
    assert recorder.pending() == 0


def test_samples_survive_a_failed_call(database, sql):
    recorder.observe("evolution", "provider_calls", 12.0)
    with pytest.raises(Exception):  # noqa: B017 - any failure of the call they rode on
        db.call("get_number", p_owner_id="00000000-0000-4000-8000-000000000000", p_number_id="not-a-uuid")
    assert sql.execute("select count(*) from private.metric_samples").fetchone()[0] == 0
    assert recorder.pending() == 1
    db.call("app_health")
    assert sql.execute("select count(*) from private.metric_samples").fetchone()[0] == 1


def test_rollup_moves_samples_into_minutes_and_hours(database, sql):
    recorder.observe("green-api", "provider_calls", 40.0)
    recorder.observe("green-api", "provider_calls", 60.0)
    assert recorder.flush() == 1
    db.call("monitor_rollup")
    rows = sql.execute("select res, count, total, hist[4] + hist[5] from private.metrics "
                       "where metric = 'provider_calls' order by res").fetchall()
    assert rows == [("hour", 2, 100.0, 2), ("minute", 2, 100.0, 2)]
    assert sql.execute("select count(*) from private.metric_samples").fetchone()[0] == 0

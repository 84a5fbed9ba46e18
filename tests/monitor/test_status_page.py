"""Rendering the status page and the Prometheus text from a report, without a database."""

from __future__ import annotations

from lib.monitor import metrics, status_page
from tests.monitor.prometheus import assert_exposition_format

EMPTY = {"now": "2026-11-26T02:00:00+00:00", "evolution": None, "probes": [], "numbers": {}, "series": [],
         "last_minutes": [], "totals": [], "incidents": [], "alerts": [], "outbox_pending": 0,
         "auth_failures_last_hour": {}}


def test_an_empty_report_renders_without_data():
    html = status_page.render(EMPTY, now=1_795_000_000.0)
    assert html.count("no data in the last 24 h") == 4 and "not probed yet" in html and "no numbers" in html
    assert "<script" not in html


def test_everything_from_the_database_is_escaped():
    report = {**EMPTY,
              "incidents": [{"id": 1, "rule": "r<b>", "subject": "<script>alert(1)</script>", "title": "a&b",
                             "opened_at": "2026-11-26T01:00:00+00:00"}],
              "alerts": [{"id": 1, "channel": "slack", "rule": "x", "kind": "opened", "title": "<img src=x>",
                          "state": "sent", "attempts": 3, "created_at": "2026-11-26T01:00:00+00:00",
                          "sent_at": None, "last_error": None}]}
    html = status_page.render(report, now=1_795_000_000.0)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html and "&lt;img src=x&gt;" in html
    assert "(3 tries)" in html


def test_down_shows_since_when():
    report = {**EMPTY, "evolution": {"ok": False, "checked_at": "2026-11-26T01:55:00+00:00", "latency_ms": None,
                                     "version": "2.3.6", "error": "provider_unreachable",
                                     "down_since": "2026-11-26T01:40:00+00:00"}}
    html = status_page.render(report, now=1_795_000_000.0)
    assert 'class="down"' in html and "Down</b> since 2026-11-26 01:40 UTC" in html
    assert "wa_evolution_up 0" in metrics.as_prometheus(report)


def test_prometheus_text_without_data_is_still_valid():
    text = metrics.as_prometheus(EMPTY)
    assert_exposition_format(text)
    assert "# TYPE wa_alert_outbox_pending gauge" in text
    assert "wa_alert_outbox_pending 0" in text and "wa_evolution_up" not in text.replace("# HELP wa_evolution_up", "")\
        .replace("# TYPE wa_evolution_up", "")

"""GET /api/metrics in JSON and Prometheus text, with data from real traffic: webhooks from the
simulator, a refused webhook, provider calls from the health cron."""

from __future__ import annotations

import re

import pytest

from lib import config
from tests.conftest import TEST_CRON_SECRET, make_user
from tests.monitor.conftest import _clean_monitor_tables, _empty_recorder  # noqa: F401
from tests.monitor.helpers import evolution_number
from tests.monitor.prometheus import assert_exposition_format

CRON = {"Authorization": f"Bearer {TEST_CRON_SECRET}"}
METRICS_TOKEN = "metrics-token-0123456789abcdef"


@pytest.fixture
def traffic(api, sims, sql, server_url, monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", METRICS_TOKEN)
    config.reset()
    owner = make_user(sql)
    nid, name = evolution_number(sql, sims["evolution"], server_url, owner, "Support")
    for i in range(3):
        sims["evolution"].inject_message(name, "5511988887777@s.whatsapp.net", f"hello {i}")
    sims["evolution"].wait_idle()
    refused = api.post("/api/v1/webhooks/evolution", content=b"{}",
                       headers={"Authorization": "Bearer not-a-jwt", "Content-Type": "application/json"})
    assert refused.status_code == 401
    assert api.get("/api/cron/health", headers=CRON).status_code == 200
    return nid


def test_metrics_need_the_metrics_token_or_the_cron_secret(api, monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", METRICS_TOKEN)
    config.reset()
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = api.get("/api/metrics", headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert api.get("/api/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200
    assert api.get("/api/metrics", headers=CRON).status_code == 200
    assert api.get("/api/metrics?format=xml", headers=CRON).json()["error"]["code"] == "invalid_format"


def test_metrics_json(api, traffic, sql):
    r = api.get("/api/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["numbers"] == {"evolution": {"active": 1}}
    evo = body["last_5m"]["evolution"]
    assert evo["messages_received"] == 3 and evo["auth_failures"] == 1
    assert evo["provider_calls"] >= 2 and evo["provider_errors"] == 0 and evo["error_rate"] == 0
    assert evo["provider_latency_ms"]["p50"] > 0 and evo["provider_latency_ms"]["p95"] >= evo["provider_latency_ms"]["p50"]
    assert evo["delivery_lag_ms"]["p50"] is not None
    assert body["evolution"]["ok"] is True and body["evolution"]["version"] == "2.3.6"
    assert "messages_received" in body["hourly_24h"] and body["auth_failures_last_hour"] == {"evolution": 1}
    assert METRICS_TOKEN not in r.text and TEST_CRON_SECRET not in r.text


@pytest.mark.parametrize("how", [{"params": {"format": "prometheus"}}, {"headers": {"Accept": "text/plain"}}])
def test_metrics_prometheus_text(api, traffic, how):
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}", **how.get("headers", {})}
    r = api.get("/api/metrics", headers=headers, params=how.get("params"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = r.text
    assert 'wa_numbers{provider="evolution",status="active"} 1' in text
    assert 'wa_messages_received_5m{provider="evolution"} 3' in text
    assert 'wa_auth_failures_5m{provider="evolution"} 1' in text
    assert "wa_evolution_up 1" in text
    assert re.search(r'wa_provider_latency_ms\{provider="evolution",quantile="0.95"\} [0-9.]+', text)
    assert_exposition_format(text)

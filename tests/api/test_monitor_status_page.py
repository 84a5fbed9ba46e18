"""The status page: auth (header, ?token= once then an HttpOnly cookie), and a real headless
Chromium rendering it with data and without a console error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lib import config
from tests.conftest import TEST_CRON_SECRET, make_user
from tests.monitor.browser import Browser, chromium_path
from tests.monitor.conftest import _clean_monitor_tables, _empty_recorder  # noqa: F401
from tests.monitor.helpers import evolution_number

CRON = {"Authorization": f"Bearer {TEST_CRON_SECRET}"}
TOKEN = "status-token-0123456789abcdef"


@pytest.fixture(scope="session")
def chromium() -> str:
    return chromium_path()


@pytest.fixture
def page_env(api, monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    config.reset()


@pytest.fixture
def seeded(api, sims, sql, server_url, page_env):
    """A day of history: hourly figures, a live number with messages, a refused webhook, an open
    incident with its alert, a health run."""
    owner = make_user(sql, "owner@shop.test")
    nid, name = evolution_number(sql, sims["evolution"], server_url, owner, "Front desk")
    for i in range(4):
        sims["evolution"].inject_message(name, "5511988887777@s.whatsapp.net", f"hi {i}")
    sims["evolution"].wait_idle()
    for hours_ago in range(2, 24):
        for provider, calls, errors in (("evolution", 100 + hours_ago, hours_ago % 5), ("green-api", 60, 1)):
            for metric, n, hist in (("provider_calls", calls, [0, 10, 40, 30, 15, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
                                    ("provider_errors", errors, None), ("messages_received", calls // 2, None),
                                    ("messages_sent", calls // 3, None)):
                sql.execute("insert into private.metrics (res, bucket, provider, metric, count, total, hist) values "
                            "('hour', date_trunc('hour', now()) - make_interval(hours => %s), %s, %s, %s, 0, %s)",
                            (hours_ago, provider, metric, n, hist))
    sql.execute("insert into private.monitor_probes (target, checked_at, ok, latency_ms, version) "
                "select 'evolution', now() - make_interval(mins => m), true, 20 + m % 7, '2.3.6' "
                "from generate_series(10, 1440, 30) m")
    sims["evolution"].disconnect(name, 401)  # the phone unlinked it: webhook → logged_out → incident, alert
    sims["evolution"].wait_idle()
    assert api.get("/api/cron/health", headers=CRON).status_code == 200
    return nid


def test_the_status_page_needs_a_token(api, page_env):
    r = api.get("/api/status")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert api.get("/api/status?token=wrong").status_code == 401
    # The cron secret works as a header, never in an address (history, request logs).
    assert api.get("/api/status", params={"token": TEST_CRON_SECRET}).status_code == 401
    assert api.get("/api/status", headers=CRON).status_code == 200
    assert api.get("/api/status", headers={"Cookie": "wa_status=forged"}).status_code == 401


def test_a_token_in_the_address_becomes_an_httponly_cookie(api, page_env):
    r = api.get("/api/status", params={"token": TOKEN}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/api/status"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
    value = cookie.split(";")[0]
    page = api.get("/api/status", headers={"Cookie": value})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    bearer = api.get("/api/status", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.status_code == 200 and "<svg" in bearer.text


def test_headless_chromium_renders_the_page_with_data_and_no_console_errors(api, seeded, server_url, chromium,
                                                                             tmp_path):
    browser = Browser(chromium)
    try:
        browser.open(f"{server_url}/api/status?token={TOKEN}")
        assert browser.evaluate("location.pathname + location.search") == "/api/status"  # token gone
        assert browser.evaluate("document.title") == "wa-inbox status"
        assert browser.evaluate("document.cookie") == ""  # HttpOnly: scripts cannot read it
        evolution = browser.evaluate("document.querySelector('#evolution').innerText")
        assert "Up" in evolution and "2.3.6" in evolution
        assert browser.evaluate("document.querySelector('#evolution').className") == "ok"
        cells = browser.evaluate("Object.fromEntries([...document.querySelectorAll('#numbers tr')].slice(1).map("
                                 "r => [r.cells[0].innerText, [...r.cells].slice(1).map(c => c.innerText)]))")
        headers = browser.evaluate("[...document.querySelector('#numbers tr').cells].map(h => h.innerText)")
        assert dict(zip(headers[1:], cells["evolution"], strict=True))["logged_out"] == "1"
        assert browser.evaluate("document.querySelectorAll('#charts svg').length") == 4
        # Lines drawn from the data: throughput (2 providers x received/sent), error rate, latency, probes.
        assert browser.evaluate("document.querySelectorAll('#charts svg polyline').length") >= 8
        widths = browser.evaluate("[...document.querySelectorAll('#charts svg')].map(s => s.getBoundingClientRect()"
                                  ".width)")
        assert all(w > 300 for w in widths)
        incidents = browser.evaluate("document.querySelector('#incidents').innerText")
        assert "number_left_active" in incidents
        alerts = browser.evaluate("document.querySelector('#alerts').innerText")
        assert "Number left active" in alerts
        now = browser.evaluate("document.querySelector('#now').innerText")
        assert "evolution" in now
        shot = Path(os.environ.get("STATUS_PAGE_SCREENSHOT", tmp_path / "status.png"))
        browser.screenshot(shot)
        assert shot.stat().st_size > 10_000
        assert browser.problems() == []
    finally:
        browser.close()

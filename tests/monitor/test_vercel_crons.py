"""Every cron in vercel.json is a route that exists and checks the cron secret; the schedules are
the ones the runbook describes."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_cron_is_a_route_that_checks_the_cron_secret():
    crons = {c["path"]: c["schedule"] for c in json.loads((ROOT / "vercel.json").read_text())["crons"]}
    assert crons == {"/api/cron/health": "*/5 * * * *", "/api/cron/sync": "17 3 * * *",
                     "/api/cron/keepalive": "37 4 * * 1", "/api/cron/media": "*/5 * * * *"}
    for path in crons:
        source = (ROOT / (path.lstrip("/") + ".py")).read_text()
        assert "class handler(" in source and "auth.is_cron(req)" in source, path


def test_the_runbook_has_a_section_per_alert_rule():
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    for title in ("Evolution server unreachable", "Provider error rate", "Number left active",
                  "Webhook authentication failures", "Phone not seen", "Alerts are not arriving"):
        assert f"### {title}" in runbook, title

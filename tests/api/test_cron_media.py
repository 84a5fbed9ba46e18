"""The media sweep's cron route: the scheduler's secret only, and the sweep's counts (nothing due
here; tests/media covers what it stores)."""

from __future__ import annotations

from tests.conftest import TEST_CRON_SECRET


def test_the_media_sweep_needs_the_cron_secret(api):
    assert api.get("/api/cron/media").status_code == 401
    assert api.get("/api/cron/media", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_the_media_sweep_answers_its_counts(api):
    r = api.get("/api/cron/media", headers={"Authorization": f"Bearer {TEST_CRON_SECRET}"})
    assert r.status_code == 200 and r.json() == {"stored": 0, "pending": 0, "failed": 0, "gone": 0}

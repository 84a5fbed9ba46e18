"""The crons vercel.json schedules: each one is a route that only the scheduler may call, and each
fires often enough for the rule it serves (the server-down threshold, the keepalive interval)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from lib import config
from lib.dev.tokens import user_token
from tests.conftest import TEST_JWT_SECRET, make_user

ROOT = Path(__file__).resolve().parents[2]
CRONS = {c["path"]: c["schedule"] for c in json.loads((ROOT / "vercel.json").read_text())["crons"]}
FIELDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))  # minute, hour, day of month, month, day of week


def _values(field: str, low: int, high: int) -> set[int]:
    out: set[int] = set()
    for part in field.split(","):
        base, _, step = part.partition("/")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            start, end = (int(x) for x in base.split("-"))
        else:
            start = int(base)
            end = high if step else start  # `a/n`: from a to the end of the range, every n
        values = range(start, end + 1, int(step) if step else 1)
        assert values and low <= start and end <= high, f"{field} is out of range {low}-{high}"
        out |= set(values)
    return out


def firings(schedule: str, days: int = 28) -> list[datetime]:
    """When a standard 5-field cron expression fires (UTC, minute precision) over `days` days."""
    fields = schedule.split()
    assert len(fields) == 5, schedule
    minute, hour, dom, month, dow = (_values(f, lo, hi) for f, (lo, hi) in zip(fields, FIELDS, strict=True))
    dow = {d % 7 for d in dow}
    restricted_day = fields[2] != "*" and fields[4] != "*"  # cron's rule: either day field may match
    start = datetime(2026, 11, 30, tzinfo=UTC)  # a Monday
    out = []
    for m in range(days * 24 * 60):
        t = start + timedelta(minutes=m)
        day_ok = ((t.day in dom or (t.isoweekday() % 7) in dow) if restricted_day
                  else (t.day in dom and (t.isoweekday() % 7) in dow))
        if t.minute in minute and t.hour in hour and t.month in month and day_ok:
            out.append(t)
    return out


def longest_gap(schedule: str) -> timedelta:
    times = firings(schedule)
    assert len(times) >= 2, f"{schedule} fires less than twice in four weeks"
    return max(b - a for a, b in itertools.pairwise(times))


def test_the_schedule_reader_reads_cron():
    assert longest_gap("*/5 * * * *") == timedelta(minutes=5)
    assert longest_gap("17 3 * * *") == timedelta(days=1)
    assert longest_gap("37 4 * * 1") == timedelta(days=7)
    assert [t.isoweekday() for t in firings("0 0 * * 1-5", days=7)] == [1, 2, 3, 4, 5]
    assert longest_gap("0,30 9-17/4 * * *") == timedelta(hours=15, minutes=30)  # 17:30 -> 9:00


@pytest.mark.parametrize("path", sorted(CRONS))
def test_every_schedule_is_a_cron_expression_that_fires(path):
    assert firings(CRONS[path])


def test_the_evolution_server_is_probed_at_least_once_per_server_down_threshold():
    threshold = timedelta(seconds=config.load({}).alert_server_down_after_seconds)
    assert longest_gap(CRONS["/api/cron/health"]) <= threshold


def test_every_session_is_checked_within_the_keepalive_interval():
    interval = timedelta(days=config.load({}).keepalive_interval_days)
    assert longest_gap(CRONS["/api/cron/keepalive"]) <= interval


def test_every_cron_is_a_route_only_the_scheduler_may_call(database, sql, server_url):
    """A path with no route would answer 404 and the job would silently never run; a route that does
    not check the cron secret would let anyone run it."""
    user = user_token(TEST_JWT_SECRET, make_user(sql))
    for path in CRONS:
        for headers in ({}, {"Authorization": "Bearer not-the-cron-secret"}, {"Authorization": f"Bearer {user}"}):
            r = httpx.get(server_url + path, headers=headers, timeout=30)
            assert r.status_code == 401, (path, headers, r.status_code, r.text)

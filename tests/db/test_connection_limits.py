"""Many function instances against a connection limit (Supabase's pooler refuses clients beyond its
limit: "Max client connections reached"). A role with CONNECTION LIMIT stands in for it: within
instances × DB_POOL_MAX ≤ the limit every call succeeds (calls queue for a pooled connection);
beyond it the overflow is a prompt 503 `database_unavailable`, never a hang or a 500."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit, urlunsplit

import pytest

from lib import db, errors

LIMIT = 4


@pytest.fixture
def limited_url(db_url, sql, database):
    sql.execute(f"create role pooler_client login connection limit {LIMIT} in role service_role")
    parts = urlsplit(db_url)
    yield urlunsplit(parts._replace(netloc=f"pooler_client@{parts.hostname}:{parts.port}"))
    sql.execute("select pg_terminate_backend(pid) from pg_stat_activity where usename = 'pooler_client'")
    sql.execute("drop role pooler_client")


def hammer(transports, calls_each=20):
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(transports) * 4)

    def worker(t):
        start.wait()
        for _ in range(calls_each):
            try:
                t.call("app_health", {})
                result = "ok"
            except errors.DatabaseUnavailable:
                result = "unavailable"
            except Exception as exc:  # noqa: BLE001 - anything else is the failure this test looks for
                result = type(exc).__name__
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(t,)) for t in transports for _ in range(4)]
    [th.start() for th in threads]
    [th.join(60) for th in threads]
    assert not any(th.is_alive() for th in threads), "a call hung"
    return outcomes


def test_instances_times_pool_within_the_limit_all_succeed(limited_url):
    transports = [db.PostgresTransport(limited_url, timeout=5, pool_max=2) for _ in range(LIMIT // 2)]
    try:
        outcomes = hammer(transports)
    finally:
        [t.close() for t in transports]
    assert set(outcomes) == {"ok"} and len(outcomes) == len(transports) * 4 * 20


def test_beyond_the_limit_the_overflow_is_a_prompt_503(limited_url):
    # one instance more than the limit has connections: at least one can never open one
    transports = [db.PostgresTransport(limited_url, timeout=5, pool_max=2) for _ in range(LIMIT + 1)]
    try:
        outcomes = hammer(transports, calls_each=3)
    finally:
        [t.close() for t in transports]
    assert set(outcomes) <= {"ok", "unavailable"}, set(outcomes)
    assert "unavailable" in outcomes and "ok" in outcomes

"""The Evolution probe is cheap: never `GET /` for liveness (it makes Evolution fetch
web.whatsapp.com on every call); the version from `GET /` at most once a day."""

from __future__ import annotations

from tests.conftest import TEST_CRON_SECRET
from tests.monitor.conftest import _clean_monitor_tables, _empty_recorder  # noqa: F401

CRON = {"Authorization": f"Bearer {TEST_CRON_SECRET}"}


def _paths(sim, method: str = "GET") -> list[str]:
    return [r.path for r in sim.requests if r.method == method]


def test_public_health_costs_one_cheap_probe(api, sims):
    sim = sims["evolution"]
    sim.requests.clear()
    for _ in range(3):
        assert api.get("/api/health/evolution").json() == {"status": "ok"}
    assert _paths(sim) == ["/instance/fetchInstances"] * 3
    assert all(r.headers.get("apikey") == "sim-global-key" for r in sim.requests)


def test_the_version_is_asked_once_a_day(api, sims, sql):
    sim = sims["evolution"]
    sim.requests.clear()
    for _ in range(3):
        assert api.get("/api/cron/health", headers=CRON).json()["evolution"]["ok"] is True
    assert _paths(sim).count("/") == 1
    detailed = api.get("/api/health/evolution", headers=CRON).json()
    assert detailed["evolution"]["version"] == "2.3.6" and _paths(sim).count("/") == 1
    sql.execute("update private.monitor_probes set checked_at = checked_at - interval '25 hours'")
    api.get("/api/cron/health", headers=CRON)
    assert _paths(sim).count("/") == 2


def test_a_wrong_global_key_is_reachable_but_not_ok(api, sims, monkeypatch):
    from lib import config, providers  # noqa: PLC0415

    monkeypatch.setenv("EVOLUTION_GLOBAL_API_KEY", "wrong-key-0123456789")
    config.reset()
    providers.reset()
    report = api.get("/api/cron/health", headers=CRON).json()["evolution"]
    assert report["reachable"] is True and report["ok"] is False and report["error"] == "http_401"


def test_detailed_health_counts_authentication_failures_in_the_database(api, sims):
    for _ in range(2):
        r = api.post("/api/v1/webhooks/evolution", content=b"{}",
                     headers={"Authorization": "Bearer nope", "Content-Type": "application/json"})
        assert r.status_code == 401
    r = api.post("/api/v1/webhooks/greenapi", content=b"{}",
                 headers={"Authorization": "Bearer nope", "Content-Type": "application/json"})
    assert r.status_code == 401
    detailed = api.get("/api/health/evolution", headers=CRON).json()
    assert detailed["webhook_auth_failures_last_hour"] == 2  # Evolution's alone


def test_detailed_health_takes_three_round_trips_with_the_version_known(api, sims, database):
    """The version last known, the numbers and the failure count: record_probe answers the version,
    provider_health_report the numbers with the count (no read-back, no whole monitor report)."""
    api.get("/api/cron/health", headers=CRON)  # records the version (asked with `GET /` once a day)
    before = database.round_trips
    detailed = api.get("/api/health/evolution", headers=CRON).json()
    assert detailed["evolution"]["version"] == "2.3.6"
    # a budget: probe_version (is the version stale?), record_probe, provider_health_report
    assert database.round_trips - before <= 3


def test_a_401_stays_a_401_when_the_database_is_down(api, sims, monkeypatch):
    from lib import db  # noqa: PLC0415
    from lib.errors import DatabaseUnavailable  # noqa: PLC0415

    def down(fn, **args):
        raise DatabaseUnavailable("the database is unavailable; try again shortly")

    monkeypatch.setattr(db, "call", down)
    r = api.post("/api/v1/webhooks/evolution", content=b"{}",
                 headers={"Authorization": "Bearer nope", "Content-Type": "application/json"})
    assert r.status_code == 401

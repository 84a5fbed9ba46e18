"""Keepalive over HTTP against the Evolution simulator: a live check of every active session, a
restart of a stuck one, and a pass that resumes where the last run stopped."""

from __future__ import annotations

from lib.sim.base import Reply
from lib.sim.evolution import EvolutionSimulator
from tests.conftest import TEST_CRON_SECRET, make_user
from tests.monitor.conftest import _clean_monitor_tables, _empty_recorder  # noqa: F401
from tests.monitor.helpers import evolution_number

CRON = {"Authorization": f"Bearer {TEST_CRON_SECRET}"}


def _with_live_check(sim: EvolutionSimulator, stuck: set[str]) -> None:
    """Evolution's POST /chat/whatsappNumbers/{instance}: 500 "Connection Closed" from a session whose
    socket is dead although its state says open (research/evolution-api.md §9.14)."""
    def whatsapp_numbers(inst, query, body):
        if inst.name in stuck:
            raise Reply(500, {"status": 500, "error": "Internal Server Error",
                              "response": {"message": "Connection Closed"}})
        return 200, [{"exists": True, "jid": f"{n}@s.whatsapp.net", "number": n} for n in body.get("numbers", [])]

    routes = EvolutionSimulator._instance_routes(sim)
    sim._instance_routes = lambda: {**routes, ("POST", "chat", "whatsappNumbers"): whatsapp_numbers}


def test_keepalive_checks_every_active_session_and_restarts_a_stuck_one(api, sims, sql, server_url):
    sim = sims["evolution"]
    owner = make_user(sql)
    healthy, healthy_name = evolution_number(sql, sim, server_url, owner, "Healthy", phone="5511999990001")
    stuck, stuck_name = evolution_number(sql, sim, server_url, owner, "Stuck", phone="5511999990002")
    _with_live_check(sim, {stuck_name})
    r = api.get("/api/cron/keepalive", headers=CRON)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["checked"], report["ok"], report["restarted"], report["finished"]) == (2, 1, 1, True)
    restarts = [q.path for q in sim.requests if q.method == "POST" and q.path.startswith("/instance/restart/")]
    assert restarts == [f"/instance/restart/{stuck_name}"]
    results = dict(sql.execute("select number_id::text, keepalive_result from private.number_monitor").fetchall())
    assert results == {healthy: "ok", stuck: "restarted"}
    # Checked this week: the next run has nothing to do.
    again = api.get("/api/cron/keepalive", headers=CRON).json()
    assert again["checked"] == 0 and again["finished"] is True


def test_keepalive_works_in_batches_and_resumes_what_a_run_out_of_time_left(api, sims, sql, server_url,
                                                                             monkeypatch):
    import time  # noqa: PLC0415

    from lib.monitor import keepalive  # noqa: PLC0415

    sim = sims["evolution"]
    owner = make_user(sql)
    for i in range(3):
        evolution_number(sql, sim, server_url, owner, f"n{i}")
    _with_live_check(sim, set())
    monkeypatch.setattr(keepalive, "BATCH", 2)
    out_of_time = keepalive.run(deadline=time.monotonic())  # the budget is already spent
    assert out_of_time["checked"] == 0 and out_of_time["finished"] is False
    resumed = keepalive.run()
    assert resumed["checked"] == 3 and resumed["finished"] is True  # two batches: 2 + 1
    sql.execute("update private.number_monitor set keepalive_at = now() - interval '8 days'")
    assert keepalive.run()["checked"] == 3  # a week later: due again

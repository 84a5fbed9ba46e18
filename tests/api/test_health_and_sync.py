from __future__ import annotations

import httpx

from tests.conftest import TEST_CRON_SECRET

CRON = {"Authorization": f"Bearer {TEST_CRON_SECRET}"}


def test_liveness(api):
    r = api.get("/api/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_evolution_health_details_only_for_the_cron_secret(api, sims, alice, sql):
    ok = api.post("/api/v1/numbers", json={"provider": "evolution"}, headers=alice.headers).json()
    drift = api.post("/api/v1/numbers", json={"provider": "evolution"}, headers=alice.headers).json()
    sql.execute("update public.numbers set status = 'active' where id = %s", (drift["id"],))  # provider says connecting
    public = api.get("/api/health/evolution")
    assert public.status_code == 200 and public.json() == {"status": "ok"}
    detailed = api.get("/api/health/evolution", headers=CRON).json()
    assert detailed["evolution"]["reachable"] and detailed["evolution"]["version"] == "2.3.6"
    assert detailed["evolution"]["instances"] == 2 and detailed["evolution"]["latency_ms"] >= 0
    assert detailed["numbers"]["by_status"] == {"qr": 1, "active": 1}
    assert [d["number_id"] for d in detailed["numbers"]["disagreements"]] == [drift["id"]]
    assert ok["id"] not in str(detailed["numbers"]["disagreements"])
    assert "sim-global-key" not in public.text + str(detailed)
    wrong = api.get("/api/health/evolution", headers={"Authorization": "Bearer nope"})
    assert wrong.json() == {"status": "ok"}


def test_evolution_down_is_503(api, sims):
    sims["evolution"].fail("down")
    r = api.get("/api/health/evolution", headers=CRON)
    assert r.status_code == 503 and r.json()["evolution"]["reachable"] is False
    assert r.json()["evolution"]["error"] == "provider_unreachable"
    sims["evolution"].clear_failures()


def test_sync_needs_the_cron_secret(api):
    assert api.get("/api/cron/sync").status_code == 401


def test_sync_deletes_orphans_and_records_drift(api, sims, alice, sql):
    kept = api.post("/api/v1/numbers", json={"provider": "evolution"}, headers=alice.headers).json()
    sims["evolution"].wait_for_deliveries(1)  # its qrcode.updated webhook has been applied
    sql.execute("update public.numbers set status = 'active' where id = %s", (kept["id"],))  # we think: connected
    # an orphan: an instance named like ours whose creation answer was lost, with no live number
    httpx.post(f"{sims['evolution'].url}/instance/create", headers={"apikey": "sim-global-key"},
               json={"instanceName": "inbox-00000000-0000-4000-8000-00000000dead", "integration": "WHATSAPP-BAILEYS"})
    # someone else's instance on the same server is left alone
    httpx.post(f"{sims['evolution'].url}/instance/create", headers={"apikey": "sim-global-key"},
               json={"instanceName": "other-team", "integration": "WHATSAPP-BAILEYS"})
    r = api.get("/api/cron/sync", headers=CRON)
    assert r.status_code == 200, r.text
    report = r.json()["evolution"]
    assert report["orphans_deleted"] == 1
    assert set(sims["evolution"].instances) == {f"inbox-{kept['id']}", "other-team"}
    assert report["drift_recorded"] == 1  # the provider says connecting
    assert sql.execute("select status from public.numbers where id = %s", (kept["id"],)).fetchone()[0] == "connecting"
    assert sql.execute("select source from public.number_status_events where number_id = %s order by id desc limit 1",
                       (kept["id"],)).fetchone()[0] == "sync"


def test_resync_webhooks_repoints_every_instance_with_the_new_secret(api, sims, alice, monkeypatch):
    from lib import config, ops, providers
    from lib.webhook_auth import evolution_number_key
    numbers = [api.post("/api/v1/numbers", json={"provider": "evolution"}, headers=alice.headers).json()
               for _ in range(2)]
    monkeypatch.setenv("EVOLUTION_WEBHOOK_SECRET", "rotated-secret-0123456789abcdef0123")
    config.reset()
    providers.reset()
    assert ops.resync_webhooks("evolution") == {"configured": 2, "failed": 0}
    for n in numbers:
        hook = sims["evolution"].instances[f"inbox-{n['id']}"].webhook
        assert hook["headers"]["jwt_key"] == evolution_number_key("rotated-secret-0123456789abcdef0123", n["id"])
        assert hook["url"].endswith(f"/api/v1/webhooks/evolution/{n['id']}")

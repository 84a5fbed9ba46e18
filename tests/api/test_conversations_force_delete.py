"""DELETE /api/v1/numbers/{id}?force=true, as lib.conversations.force_delete: a provider that stays
unreachable does not keep a number alive; the sync job deletes the orphan instance once it is back."""

from __future__ import annotations

from lib import resilience, sync
from tests.conversations.phone import connect


def test_an_unreachable_provider_is_torn_down_later_by_the_sync_job(api, sims, alice, sql):
    line = connect("evolution", api, sims, alice, sql)
    line.sim.fail("down")
    assert api.delete(f"/api/v1/numbers/{line.number}", headers=alice.headers).status_code == 503  # not forced
    r = api.delete(f"/api/v1/numbers/{line.number}", params={"force": "true"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["status"] == "deleted" and result["teardown"] == "pending"
    assert line.instance in line.sim.instances  # still there: the provider could not be reached
    line.sim.clear_failures()
    resilience.reset_breakers()  # the breaker's cooldown has passed by the next sync run
    assert sync.run()["evolution"]["orphans_deleted"] == 1
    assert line.instance not in line.sim.instances


def test_a_reachable_provider_is_torn_down_at_once(api, sims, alice, sql):
    line = connect("green-api", api, sims, alice, sql)
    result = api.delete(f"/api/v1/numbers/{line.number}", params={"force": "true"}, headers=alice.headers).json()
    assert result["status"] == "deleted" and result["teardown"] == "done"
    assert line.sim.instances[line.instance].deleted

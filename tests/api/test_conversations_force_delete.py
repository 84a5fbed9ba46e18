"""DELETE /api/v1/numbers/{id}?force=true, as lib.conversations.force_delete: a provider that stays
unreachable does not keep a number alive; the sync job deletes the orphan instance once it is back.
(The route needs the one-line change to api/v1/numbers/[id].py described in issue 13's report.)"""

from __future__ import annotations

from lib import conversations, sync
from tests.conversations.phone import connect


def test_an_unreachable_provider_is_torn_down_later_by_the_sync_job(api, sims, alice, sql):
    line = connect("evolution", api, sims, alice, sql)
    line.sim.fail("down")
    result = conversations.force_delete(alice.id, line.number)
    assert result["status"] == "deleted" and result["teardown"] == "pending"
    assert line.instance in line.sim.instances  # still there: the provider could not be reached
    line.sim.clear_failures()
    assert sync.run()["evolution"]["orphans_deleted"] == 1
    assert line.instance not in line.sim.instances


def test_a_reachable_provider_is_torn_down_at_once(api, sims, alice, sql):
    line = connect("green-api", api, sims, alice, sql)
    result = conversations.force_delete(alice.id, line.number)
    assert result["status"] == "deleted" and result["teardown"] == "done"
    assert line.sim.instances[line.instance].deleted

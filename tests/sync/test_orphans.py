"""The sync job's orphan and stale-creation steps on the real database, with an in-memory provider
standing in for the provider's instance list (its state is what the tests look at)."""

from __future__ import annotations

import uuid

import pytest

from lib import providers, sync
from lib.providers.base import InstanceSummary
from tests.conftest import make_user


class FakeProvider:
    name = "green-api"

    def __init__(self, names):
        self.instances = {str(i): n for i, n in enumerate(names, start=7103000001)}
        self.deleted: list[str] = []

    def list_instances(self):
        from lib.providers.naming import number_id_of
        return [InstanceSummary(i, None, n, number_id_of(n)) for i, n in self.instances.items()]

    def delete(self, ref):
        self.deleted.append(ref.provider_instance_id)
        self.instances.pop(ref.provider_instance_id, None)


@pytest.fixture
def fake(monkeypatch, database):
    def install(names):
        prov = FakeProvider(names)
        monkeypatch.setattr(sync, "provider", lambda name: prov)
        return prov
    yield install
    providers.reset()


def test_instances_named_after_a_gone_number_are_deleted_and_nothing_else(fake, sql):
    owner = make_user(sql)
    live = sql.execute("insert into public.numbers (owner_id, provider, status) values (%s, 'green-api', 'active') "
                       "returning id::text", (owner,)).fetchone()[0]
    gone = sql.execute("insert into public.numbers (owner_id, provider, status, deleted_at) "
                       "values (%s, 'green-api', 'deleted', now()) returning id::text", (owner,)).fetchone()[0]
    never = str(uuid.uuid4())  # a create whose answer was lost: no row at all
    prov = fake([f"inbox-{live}", f"inbox-{gone}", f"inbox-{never}", "the user's own instance", "inbox-not-a-uuid"])
    assert sync._delete_orphans("green-api") == 2
    assert sorted(prov.instances.values()) == sorted([f"inbox-{live}", "the user's own instance", "inbox-not-a-uuid"])


def test_a_creation_whose_lease_long_expired_is_abandoned_and_its_instance_deleted(fake, sql):
    owner = make_user(sql)
    stuck = sql.execute("insert into public.numbers (owner_id, provider, status, provider_instance_id, "
                        "managed_instance, create_started_at) values (%s, 'green-api', 'pending', '7103000001', true, "
                        "now() - interval '1 hour') returning id::text", (owner,)).fetchone()[0]
    fresh = sql.execute("insert into public.numbers (owner_id, provider, status, create_started_at) "
                        "values (%s, 'green-api', 'pending', now()) returning id::text", (owner,)).fetchone()[0]
    prov = fake([f"inbox-{stuck}"])
    assert sync._abandon_stale("green-api") == 1
    rows = dict(sql.execute("select id::text, status from public.numbers").fetchall())
    assert rows == {stuck: "deleted", fresh: "pending"}
    assert prov.deleted == ["7103000001"]

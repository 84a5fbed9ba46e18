"""Helpers for the monitoring API tests: Evolution numbers whose instance lives in the simulator
with its webhook pointed at our server, and the alert fixtures from tests/monitor."""

from __future__ import annotations

import time

import httpx

from lib.providers.evolution.provider import EVENTS
from tests.api.conftest import add_number

INSTANCE_TOKEN = "stored-instance-token"


def evolution_number(sql, sim, server_url: str, owner: str, label: str, phone: str | None = None) -> tuple[str, str]:
    """A live Evolution number of ours and its simulator instance, connected (status `active`)."""
    nid = add_number(sql, owner, "evolution", status="pending", instance=f"tmp-{time.monotonic_ns()}", label=label,
                     token=INSTANCE_TOKEN)
    name = f"inbox-{nid}"
    sql.execute("update public.numbers set provider_instance_id = %s, phone = %s where id = %s", (name, phone, nid))
    hook = {"enabled": True, "url": f"{server_url}/api/v1/webhooks/evolution", "byEvents": False, "base64": False,
            "headers": {"jwt_key": "sim-evolution-webhook-secret-0123456789", "Content-Type": "application/json"},
            "events": EVENTS}
    r = httpx.post(f"{sim.url}/instance/create", headers={"apikey": "sim-global-key"},
                   json={"instanceName": name, "integration": "WHATSAPP-BAILEYS", "token": INSTANCE_TOKEN,
                         "webhook": hook})
    assert r.status_code == 201, r.text
    sim.scan(name)
    sim.wait_idle()
    wait_status(sql, nid, "active")
    return nid, name


def wait_status(sql, nid: str, status: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        now = sql.execute("select status from public.numbers where id = %s", (nid,)).fetchone()[0]
        if now == status:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"number {nid} is {now}, not {status}")
        time.sleep(0.02)  # polling the database with a deadline, not a synchronisation sleep

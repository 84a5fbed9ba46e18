"""The send path's latency against a direct call to the simulator, measured in the same run.

    .venv/bin/python -m bench.send [messages]

Three figures per provider, sequential requests on keep-alive connections:
- direct: the provider client's send_text straight to the simulator (no API, no database);
- api: POST /api/v1/chats/{id}/send through the local server (auth, prepare_send, provider call,
  complete_send);
the difference is what our path adds.
"""

from __future__ import annotations

import os
import sys
import time
import uuid

import httpx

from bench._env import Env, percentiles
from lib import config, providers
from lib.providers.base import NumberRef
from lib.sim.evolution import EvolutionSimulator
from lib.sim.greenapi import GreenApiSimulator


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with Env() as env:
        evo, green = EvolutionSimulator("k").start(), GreenApiSimulator("p").start()
        os.environ.update({"EVOLUTION_API_URL": evo.url, "EVOLUTION_GLOBAL_API_KEY": "k", "EVOLUTION_ROLLOUT": "all",
                           "EVOLUTION_WEBHOOK_SECRET": "bench-evolution-webhook-secret-0123456789",
                           "GREEN_API_URL": green.url, "GREEN_API_MEDIA_URL": green.url,
                           "GREEN_API_PARTNER_URL": green.url, "GREEN_API_PARTNER_TOKEN": "p"})
        config.reset()
        providers.reset()
        api = httpx.Client(base_url=env.base, headers={"Authorization": f"Bearer {env.token}"}, timeout=30)
        for name, sim in (("evolution", evo), ("green-api", green)):
            number = api.post("/api/v1/numbers", json={"provider": name}).json()
            row = env.sql.execute("select n.provider_instance_id, n.instance_data, s.api_token from public.numbers n "
                                  "join private.number_secrets s on s.number_id = n.id where n.id = %s",
                                  (number["id"],)).fetchone()
            sim.scan(row[0])
            sim.wait_idle()
            env.sql.execute("update public.numbers set status = 'active' where id = %s", (number["id"],))
            chat = env.sql.execute("insert into public.chats (number_id, owner_id, wa_chat_id) values (%s, %s, "
                                   "'5511999990002@c.us') returning id::text", (number["id"], env.user)).fetchone()[0]
            ref = NumberRef(number["id"], name, row[0], {**row[1], "apiUrl": sim.url}, row[2])
            prov = providers.provider(name)
            direct, through = [], []
            for i in range(n):
                t0 = time.perf_counter()
                prov.send_text(ref, "5511999990002@c.us", f"direct {i}")
                direct.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                r = api.post(f"/api/v1/chats/{chat}/send", json={"text": f"api {i}"},
                             headers={"Idempotency-Key": str(uuid.uuid4())})
                through.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 201, r.text
            d, a = percentiles(direct), percentiles(through)
            print(f"{name:10} direct to simulator  p50 {d['p50']:6.2f} ms  p99 {d['p99']:6.2f} ms")
            print(f"{name:10} through the API      p50 {a['p50']:6.2f} ms  p99 {a['p99']:6.2f} ms  "
                  f"(adds {a['p50'] - d['p50']:.2f} ms at p50; {n} sends each)")
        evo.stop()
        green.stop()


if __name__ == "__main__":
    main()

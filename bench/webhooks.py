"""Drive mixed webhook events through the local server and print throughput and latency.

    .venv/bin/python bench/webhooks.py [events] [concurrency]

Mix per round of 10: 5 new inbound messages (Evolution, signed JWT), 1 redelivered duplicate,
2 status acks, 1 GREEN-API message (per-number token), 1 connection update. Prints events/s,
p50/p90/p99 latency, and database round trips per event (counted by the data layer).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from bench._env import Env, percentiles
from lib import config
from lib.webhook_auth import greenapi_token, sign_evolution

SECRET = "bench-evolution-webhook-secret-0123456789"


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    with Env() as env:
        import os
        os.environ["EVOLUTION_WEBHOOK_SECRET"] = SECRET
        config.reset()
        evo = env.sql.execute("insert into public.numbers (owner_id, provider, provider_instance_id, status) "
                              "values (%s, 'evolution', 'bench-evo', 'active') returning id::text",
                              (env.user,)).fetchone()[0]
        env.sql.execute("insert into private.number_secrets (number_id, api_token) values (%s, 'tok')", (evo,))
        green = env.sql.execute("insert into public.numbers (owner_id, provider, provider_instance_id, status) "
                                "values (%s, 'green-api', '7103000001', 'active') returning id::text",
                                (env.user,)).fetchone()[0]
        jwt = sign_evolution(SECRET)
        evo_headers = {"Authorization": f"Bearer {jwt}", "Content-Type": "application/json"}
        green_headers = {"Authorization": f"Bearer {greenapi_token(green)}", "Content-Type": "application/json"}
        requests = []
        last_id = None
        for i in range(total):
            slot = i % 10
            if slot < 5:
                last_id = uuid.uuid4().hex.upper()
                body = {"event": "messages.upsert", "instance": "bench-evo", "apikey": "tok", "data": {
                    "key": {"remoteJid": f"55119{i % 50:08d}@s.whatsapp.net", "fromMe": False, "id": last_id},
                    "pushName": "Bench", "message": {"conversation": f"message {i}"}, "messageType": "conversation",
                    "messageTimestamp": int(time.time())}}
                requests.append(("/api/v1/webhooks/evolution", body, evo_headers))
            elif slot == 5:
                requests.append(requests[-1])  # a redelivery
            elif slot in (6, 7):
                body = {"event": "messages.update", "instance": "bench-evo", "apikey": "tok", "data": {
                    "keyId": last_id, "remoteJid": "5511@s.whatsapp.net", "fromMe": True,
                    "status": "DELIVERY_ACK" if slot == 6 else "READ"}}
                requests.append(("/api/v1/webhooks/evolution", body, evo_headers))
            elif slot == 8:
                body = {"typeWebhook": "incomingMessageReceived", "instanceData": {"idInstance": 7103000001},
                        "timestamp": int(time.time()), "idMessage": uuid.uuid4().hex,
                        "senderData": {"chatId": f"7900{i % 50:07d}@c.us", "sender": f"7900{i % 50:07d}@c.us"},
                        "messageData": {"typeMessage": "textMessage", "textMessageData": {"textMessage": "hi"}}}
                requests.append(("/api/v1/webhooks/greenapi", body, green_headers))
            else:
                body = {"event": "connection.update", "instance": "bench-evo", "apikey": "tok",
                        "data": {"state": "open", "statusReason": 200}}
                requests.append(("/api/v1/webhooks/evolution", body, evo_headers))
        payloads = [(path, json.dumps(body).encode(), headers) for path, body, headers in requests]
        clients = [httpx.Client(base_url=env.base, timeout=30) for _ in range(concurrency)]
        latencies: list[float] = []
        statuses: dict[int, int] = {}

        def run(i: int) -> None:
            path, body, headers = payloads[i]
            t0 = time.perf_counter()
            r = clients[i % concurrency].post(path, content=body, headers=headers)
            latencies.append((time.perf_counter() - t0) * 1000)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        trips_before = env.transport.round_trips
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(run, range(total)))
        elapsed = time.perf_counter() - started
        trips = env.transport.round_trips - trips_before
        stored = env.sql.execute("select count(*) from public.messages").fetchone()[0]
        p = percentiles(latencies)
        print(f"events            {total} over {concurrency} connections, statuses {statuses}")
        print(f"throughput        {total / elapsed:.0f} events/s")
        print(f"latency ms        p50 {p['p50']:.2f}  p90 {p['p90']:.2f}  p99 {p['p99']:.2f}  max {p['max']:.2f}")
        print(f"db round trips    {trips} for {total} events = {trips / total:.2f} per event")
        print(f"messages stored   {stored} (expected {total // 10 * 6} + remainder; duplicates absorbed)")


if __name__ == "__main__":
    main()

"""Media figures: import cost of the media path, time from webhook to stored object, trigger cost.

    .venv/bin/python -m bench.media imports [runs]     # cold imports, medians of `runs` processes
    .venv/bin/python -m bench.media latency [items]    # webhook → object in S3, both providers (p50/p90)
    .venv/bin/python -m bench.media trigger [rows]     # cost of the media-state trigger per inserted row

Everything runs on 127.0.0.1: an embedded PostgreSQL, the local server, the simulators and moto.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

IMPORTS = {
    "bare `import httpx`": "import httpx",
    "obstore (our S3 client)": "import obstore; from obstore.store import S3Store",
    "boto3 + an S3 client": "import boto3; boto3.client('s3', region_name='us-east-1')",
    "minio": "import minio",
}
ROUTES = ["api/v1/messages/[id]/media.py", "api/v1/media/uploads.py", "api/v1/webhooks/evolution.py"]
ROUTE_PROBE = ("import importlib.util, sys, time; t = time.perf_counter(); "
               "spec = importlib.util.spec_from_file_location('route', sys.argv[1]); "
               "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
               "print(time.perf_counter() - t)")
# The media path as a request runs it: the route plus the S3 store it builds on first use.
FIRST_USE = ("import importlib.util, sys, time; t = time.perf_counter(); "
             "spec = importlib.util.spec_from_file_location('route', sys.argv[1]); "
             "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
             "import lib.media.store, lib.media.jobs, lib.providers.evolution.media, lib.providers.greenapi.media; "
             "print(time.perf_counter() - t)")


def _median_ms(code: str, runs: int, *args: str) -> float:
    samples = []
    for _ in range(runs):
        if args:
            out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True,
                                 cwd=ROOT).stdout
            samples.append(float(out.strip()))
        else:
            out = subprocess.run([sys.executable, "-c", f"import time; t = time.perf_counter(); {code}; "
                                  "print(time.perf_counter() - t)"], capture_output=True, text=True, check=True,
                                 cwd=ROOT).stdout
            samples.append(float(out.strip()))
    return statistics.median(samples) * 1000


def imports(runs: int) -> None:
    print(f"cold import, median of {runs} processes")
    for label, code in IMPORTS.items():
        print(f"  {label:34s} {_median_ms(code, runs):7.1f} ms")
    for route in ROUTES:
        print(f"  {route:34s} {_median_ms(ROUTE_PROBE, runs, str(ROOT / route)):7.1f} ms")
    print(f"  {'media route + store + provider media':34s} "
          f"{_median_ms(FIRST_USE, runs, str(ROOT / ROUTES[0])):7.1f} ms")


def latency(items: int) -> None:
    import os  # noqa: PLC0415

    from bench._env import Env, percentiles  # noqa: PLC0415
    from lib import config, providers  # noqa: PLC0415
    from lib.dev.storage import MotoServer  # noqa: PLC0415
    from lib.sim.evolution import EvolutionSimulator  # noqa: PLC0415
    from lib.sim.greenapi import GreenApiSimulator  # noqa: PLC0415
    from tests.media.fixtures import connected_number  # noqa: PLC0415

    s3 = MotoServer().start()
    s3.create_bucket("media")
    evo, green = EvolutionSimulator("bench-key").start(), GreenApiSimulator("bench-partner").start()
    try:
        with Env() as env:
            os.environ.update({"STORAGE_S3_ENDPOINT": s3.url, "STORAGE_S3_ACCESS_KEY_ID": "k",
                               "STORAGE_S3_SECRET_ACCESS_KEY": "s", "EVOLUTION_API_URL": evo.url,
                               "EVOLUTION_GLOBAL_API_KEY": "bench-key", "EVOLUTION_ROLLOUT": "all",
                               "EVOLUTION_WEBHOOK_SECRET": "bench-evolution-webhook-secret-0123456789",
                               "GREEN_API_URL": green.url, "GREEN_API_MEDIA_URL": green.url,
                               "GREEN_API_PARTNER_URL": green.url, "GREEN_API_PARTNER_TOKEN": "bench-partner"})
            config.reset()
            providers.reset()
            for provider, sim, contact in (("evolution", evo, "5511999990002@s.whatsapp.net"),
                                           ("green-api", green, "5511999990002@c.us")):
                number = connected_number(env.sql, env.user, provider, sim)
                samples = []
                for i in range(items):
                    kind = ("image", "voice", "document")[i % 3]
                    t0 = time.perf_counter()
                    mid = sim.inject_media(number["instance"], contact, kind)
                    deadline = t0 + 30
                    while True:  # poll the database with a deadline
                        row = env.sql.execute("select media_state from public.messages where provider_message_id = %s",
                                              (mid,)).fetchone()
                        if row and row[0] != "pending":
                            break
                        if time.perf_counter() > deadline:
                            raise SystemExit(f"{provider}: {mid} not stored within 30 s")
                        time.sleep(0.001)
                    if row[0] != "stored":
                        raise SystemExit(f"{provider}: {mid} ended {row[0]}")
                    samples.append((time.perf_counter() - t0) * 1000)
                p = percentiles(samples)
                print(f"{provider:10s} webhook sent → object stored and recorded: p50 {p['p50']:.1f} ms, "
                      f"p90 {p['p90']:.1f} ms, max {p['max']:.1f} ms ({items} items)")
    finally:
        evo.stop()
        green.stop()
        s3.stop()


def trigger(rows: int) -> None:
    from bench._env import Env  # noqa: PLC0415

    with Env() as env:
        sql = env.sql
        number = sql.execute("insert into public.numbers (owner_id, provider, provider_instance_id, status) "
                             "values (%s, 'evolution', 'b', 'active') returning id", (env.user,)).fetchone()[0]
        chat = sql.execute("insert into public.chats (number_id, owner_id, wa_chat_id) values (%s, %s, '1@c.us') "
                           "returning id", (number, env.user)).fetchone()[0]

        def run(kind: str, tag: str) -> float:
            t0 = time.perf_counter()
            sql.execute("insert into public.messages (chat_id, owner_id, number_id, provider_message_id, direction, "
                        "type) select %s, %s, %s, %s || g, 'inbound', %s from generate_series(1, %s) g",
                        (chat, env.user, number, tag, kind, rows))
            return (time.perf_counter() - t0) * 1e6 / rows

        results = {}
        for label, enabled in (("with trigger", True), ("without trigger", False)):
            sql.execute(f"alter table public.messages {'enable' if enabled else 'disable'} trigger "
                        "messages_media_pending")
            results[label] = {kind: statistics.median(run(kind, f"{label}-{kind}-{i}-") for i in range(5))
                              for kind in ("image", "text")}
        sql.execute("alter table public.messages enable trigger messages_media_pending")
        print(json.dumps({k: {kind: f"{v:.2f} µs/row" for kind, v in r.items()} for k, r in results.items()},
                         ensure_ascii=False, indent=1))


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "imports"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else {"imports": 9, "latency": 30, "trigger": 20000}[what]
    {"imports": imports, "latency": latency, "trigger": trigger}[what](n)


if __name__ == "__main__":
    main()

"""Seed N numbers (half Evolution, half GREEN-API) against the simulators and time each cron.

    .venv/bin/python -m bench.crons [numbers] [provider latency ms]     # default 10000, 0

Prints the run time of: the health cron (one run, default batch; and a run probing 2,000), the
keepalive pass (runs until every active session has been checked, each run inside the budget),
the sync job, and the metrics report behind /api/metrics and /api/status. Every cron must stay
well inside Vercel's maxDuration (60 s). Simulator round trips are local (~1-3 ms); a real provider
answers in 50-300 ms, so the figures that matter are the per-run budgets and batch sizes.
"""

from __future__ import annotations

import os
import sys
import time

from bench._env import Env
from lib import config, db, providers, recorder, resilience
from lib.monitor import health_job, keepalive
from lib.sim.evolution import EvolutionSimulator
from lib.sim.evolution import Instance as EvoInstance
from lib.sim.greenapi import GreenApiSimulator


def _live_check_route(sim: EvolutionSimulator) -> None:
    """Evolution's POST /chat/whatsappNumbers/{instance} (the simulator does not model it)."""
    routes = EvolutionSimulator._instance_routes(sim)
    sim._instance_routes = lambda: {**routes, ("POST", "chat", "whatsappNumbers"): lambda inst, q, body: (
        200, [{"exists": True, "jid": f"{n}@s.whatsapp.net", "number": n} for n in body.get("numbers", [])])}


def seed(env: Env, evo: EvolutionSimulator, green: GreenApiSimulator, n: int) -> None:
    half = n // 2
    env.sql.execute(
        "insert into public.numbers (owner_id, label, provider, provider_instance_id, status, phone, connected_at) "
        "select %s, 'bench ' || i, case when i <= %s then 'evolution' else 'green-api' end, "
        "       case when i <= %s then 'inbox-bench-' || i else (7200000000 + i)::text end, 'active', "
        "       (5511900000000 + i)::text, now() - interval '2 days' from generate_series(1, %s) i",
        (env.user, half, half, n))
    env.sql.execute("insert into private.number_secrets (number_id, api_token) "
                    "select id, 'tok-' || provider_instance_id from public.numbers")
    for (instance, provider) in env.sql.execute("select provider_instance_id, provider from public.numbers"):
        if provider == "evolution":
            evo.instances[instance] = EvoInstance(instance, f"tok-{instance}", state="open")
        else:
            green.add_instance(instance, f"tok-{instance}")
            green.scan(instance)


def timed(label: str, fn) -> dict:
    started = time.perf_counter()
    out = fn()
    print(f"{label:<46} {time.perf_counter() - started:7.2f} s   {summary(out)}")
    return out


def summary(out) -> str:
    if not isinstance(out, dict):
        return ""
    keep = {k: v for k, v in out.items() if k in ("numbers", "checked", "ok", "restarted", "finished", "keepalive",
                                                  "elapsed_ms")}
    return str(keep)[:150]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    latency = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0
    with Env() as env:
        evo = EvolutionSimulator("bench-global-key").start()
        green = GreenApiSimulator("bench-partner-token").start()
        _live_check_route(evo)
        os.environ.update({"EVOLUTION_API_URL": evo.url, "EVOLUTION_GLOBAL_API_KEY": "bench-global-key",
                           "EVOLUTION_WEBHOOK_SECRET": "bench-evolution-webhook-secret-0123456789",
                           "GREEN_API_URL": green.url, "GREEN_API_MEDIA_URL": green.url,
                           "GREEN_API_PARTNER_URL": green.url, "GREEN_API_PARTNER_TOKEN": "bench-partner-token"})
        config.reset()
        providers.reset()
        resilience.reset_breakers()
        try:
            started = time.perf_counter()
            seed(env, evo, green, n)
            if latency:  # every simulator answer delayed, as a real provider's would be
                evo.fail("slow", delay=latency)
                green.fail("slow", delay=latency)
            print(f"seeded {n} numbers ({n // 2} Evolution, {n - n // 2} GREEN-API) in "
                  f"{time.perf_counter() - started:.1f} s; concurrency {config.settings().monitor_concurrency}, "
                  f"budget {config.settings().cron_budget_seconds:.0f} s, provider latency {latency * 1000:.0f} ms")
            runs = 0
            while True:
                runs += 1
                out = timed(f"keepalive run {runs}", keepalive.run)
                if out["finished"] or runs >= 12:
                    break
            timed("health cron, batch 500 (default)", health_job.run)
            os.environ["HEALTH_BATCH_SIZE"] = "2000"
            config.reset()
            timed("health cron, batch 2000", health_job.run)
            env.sql.execute("update public.numbers set connected_at = now() - interval '11 days' "
                            "where provider_instance_id in ('inbox-bench-1', '7200009999')")
            from lib import sync  # noqa: PLC0415

            timed("sync job", sync.run)
            recorder.flush()
            timed("monitor_rollup (health step)", lambda: db.call("monitor_rollup"))
            timed("monitor_evaluate (health step)", lambda: db.call("monitor_evaluate",
                                                                    p_settings=health_job.settings_for_sql()))
            timed("monitor_report (/api/metrics, /api/status)", lambda: db.call("monitor_report", p_hours=24))
        finally:
            evo.stop()
            green.stop()


if __name__ == "__main__":
    main()

"""Provider simulators for `make dev`: started for each provider that is not configured, and the
environment pointed at them, so the whole product works locally with no account anywhere."""

from __future__ import annotations

import os

DEV_EVOLUTION_KEY = "dev-evolution-global-key"
DEV_EVOLUTION_WEBHOOK_SECRET = "dev-evolution-webhook-secret-0123456789"
DEV_PARTNER_TOKEN = "dev-green-api-partner-token"
DEV_WEBHOOK_TOKEN_SECRET = "dev-webhook-token-secret-0123456789"

running: dict[str, object] = {}


def start_missing() -> list[str]:
    lines = []
    os.environ.setdefault("WEBHOOK_TOKEN_SECRET", DEV_WEBHOOK_TOKEN_SECRET)
    if os.environ.get("EVOLUTION_API_URL"):
        lines.append(f"evolution  {os.environ['EVOLUTION_API_URL']} (real server)")
    else:
        from lib.sim.evolution import EvolutionSimulator  # noqa: PLC0415

        sim = EvolutionSimulator(global_key=DEV_EVOLUTION_KEY, port=int(os.environ.get("DEV_EVOLUTION_PORT", "0")))
        sim.start()
        running["evolution"] = sim
        os.environ["EVOLUTION_API_URL"] = sim.url
        os.environ["EVOLUTION_GLOBAL_API_KEY"] = DEV_EVOLUTION_KEY
        os.environ.setdefault("EVOLUTION_WEBHOOK_SECRET", DEV_EVOLUTION_WEBHOOK_SECRET)
        os.environ.setdefault("EVOLUTION_ROLLOUT", "all")
        lines.append(f"evolution  simulated at {sim.url} (set EVOLUTION_API_URL for a real server)")
    if os.environ.get("GREEN_API_PARTNER_TOKEN") or os.environ.get("GREEN_API_URL"):
        lines.append(f"green-api  {os.environ.get('GREEN_API_URL', 'https://api.green-api.com')} (real service)")
    else:
        from lib.sim.greenapi import GreenApiSimulator  # noqa: PLC0415

        sim = GreenApiSimulator(partner_token=DEV_PARTNER_TOKEN, port=int(os.environ.get("DEV_GREEN_API_PORT", "0")))
        sim.start()
        running["green-api"] = sim
        for var in ("GREEN_API_URL", "GREEN_API_MEDIA_URL", "GREEN_API_PARTNER_URL"):
            os.environ[var] = sim.url
        os.environ["GREEN_API_PARTNER_TOKEN"] = DEV_PARTNER_TOKEN
        lines.append(f"green-api  simulated at {sim.url} (set GREEN_API_PARTNER_TOKEN or GREEN_API_URL for real)")
    return lines

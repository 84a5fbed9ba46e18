"""Authenticated but hostile or broken payloads never make a webhook fail with a 5xx (which the
providers would retry for hours): every one is applied, ignored or dead-lettered with a 200."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest

from lib import config
from lib.webhook_auth import evolution_number_key, greenapi_token, sign_evolution
from tests.api.conftest import add_number

FIX = Path(__file__).parents[1] / "fixtures"
SECRET = "evolution-webhook-secret-0123456789abcdef"
ODD_VALUES = [None, "", "x", "\u0000nul\u0000", -1, 0, 1e308, 10**30, True, [], {}, [1, {"a": None}],
              {"low": -1, "high": -1, "unsigned": False}, {"0": 255, "1": 0}, "9" * 400, "🙂" * 50]


def leaves(obj, path=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from leaves(v, (*path, i))
    yield path


def mutate(payload, rng):
    out = copy.deepcopy(payload)
    # what authenticates or routes the payload stays intact: every mutant is an authenticated payload
    paths = [p for p in leaves(out) if p and p[0] not in ("instance", "instanceData", "event", "typeWebhook", "apikey")]
    for path in rng.sample(paths, k=min(3, len(paths))):
        try:
            target = out
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = rng.choice(ODD_VALUES)
        except (TypeError, KeyError, IndexError):
            pass  # an earlier mutation replaced a parent of this path
    return out


def corpus(provider):
    return [json.loads(p.read_text()) for p in sorted((FIX / provider / "webhooks").glob("*.json"))]


@pytest.mark.parametrize("seed", range(12))
def test_mutated_evolution_payloads_never_5xx(api, sql, alice, monkeypatch, seed):
    monkeypatch.setenv("EVOLUTION_WEBHOOK_SECRET", SECRET)
    config.reset()
    number = add_number(sql, alice.id, provider="evolution", instance="acme-support",
                        token="4C8E2A1F-7B3D-4E5A-9F6C-0D1E2B3A4C5D")
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {sign_evolution(evolution_number_key(SECRET, number))}",
               "Content-Type": "application/json"}
    for payload in corpus("evolution"):
        body = mutate(payload, rng)
        r = api.post(f"/api/v1/webhooks/evolution/{number}", content=json.dumps(body), headers=headers)
        assert r.status_code == 200, (r.status_code, r.text, body)


@pytest.mark.parametrize("seed", range(12))
def test_mutated_greenapi_payloads_never_5xx(api, sql, alice, seed):
    number = add_number(sql, alice.id, instance="7103123456")
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {greenapi_token(number)}", "Content-Type": "application/json"}
    for payload in corpus("greenapi"):
        body = mutate(payload, rng)
        r = api.post("/api/v1/webhooks/greenapi", content=json.dumps(body), headers=headers)
        assert r.status_code == 200, (r.status_code, r.text, body)

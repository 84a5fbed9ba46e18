"""API tests run over real HTTP against the local server, the real database and, where a provider
is involved, the provider simulators."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from lib import config, providers, resilience
from lib.dev.tokens import user_token
from tests.conftest import TEST_JWT_SECRET, make_user

# This machine has no DNS: public test names resolve through a table (lib.netguard's resolver seam).
PUBLIC_NAMES = {"cdn.example.com": ["93.184.215.14"], "files.example.org": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
                "internal.example.com": ["10.0.0.7"], "loopback.example.com": ["127.0.0.1"]}


def fake_resolve(host: str) -> list[str]:
    if host in PUBLIC_NAMES:
        return PUBLIC_NAMES[host]
    raise OSError(f"{host} does not resolve")


@pytest.fixture
def api(database, server_url, monkeypatch) -> Iterator[httpx.Client]:
    from lib import netguard

    monkeypatch.setattr(netguard, "resolve", fake_resolve)
    monkeypatch.setenv("PUBLIC_BASE_URL", server_url)
    monkeypatch.setenv("WEBHOOK_TOKEN_SECRET", "test-webhook-token-secret-0123456789")
    config.reset()
    providers.reset()
    resilience.reset_breakers()
    with httpx.Client(base_url=server_url, timeout=30) as client:
        yield client
    providers.reset()


class User:
    def __init__(self, sql):
        self.id = make_user(sql)
        self.token = user_token(TEST_JWT_SECRET, self.id)
        self.headers = {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def alice(sql, database) -> User:
    return User(sql)


@pytest.fixture
def bob(sql, database) -> User:
    return User(sql)


def add_number(sql, owner: str, provider: str = "green-api", status: str = "active", instance: str | None = None,
               token: str | None = "stored-instance-token", label: str = "support", **data) -> str:
    instance = instance or str(7100000000 + uuid.uuid4().int % 99999999)
    nid = sql.execute(
        "insert into public.numbers (owner_id, label, provider, provider_instance_id, status, instance_data) "
        "values (%s, %s, %s, %s, %s, %s::jsonb) returning id::text",
        (owner, label, provider, instance, status, __import__("json").dumps(data))).fetchone()[0]
    sql.execute("insert into private.number_secrets (number_id, api_token) values (%s, %s)", (nid, token))
    return nid


def add_chat(sql, owner: str, number_id: str, wa_chat_id: str = "79001234568@c.us") -> str:
    return sql.execute("insert into public.chats (number_id, owner_id, wa_chat_id) values (%s, %s, %s) "
                       "returning id::text", (number_id, owner, wa_chat_id)).fetchone()[0]


@pytest.fixture
def sims(api, monkeypatch):
    """Both provider simulators, the environment pointed at them, webhooks pointed at our server."""
    from lib.sim.evolution import EvolutionSimulator
    from lib.sim.greenapi import GreenApiSimulator

    evo = EvolutionSimulator("sim-global-key").start()
    green = GreenApiSimulator("sim-partner-token").start()
    env = {"EVOLUTION_API_URL": evo.url, "EVOLUTION_GLOBAL_API_KEY": "sim-global-key",
           "EVOLUTION_WEBHOOK_SECRET": "sim-evolution-webhook-secret-0123456789", "EVOLUTION_ROLLOUT": "all",
           "GREEN_API_URL": green.url, "GREEN_API_MEDIA_URL": green.url, "GREEN_API_PARTNER_URL": green.url,
           "GREEN_API_PARTNER_TOKEN": "sim-partner-token"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    config.reset()
    providers.reset()
    yield {"evolution": evo, "green-api": green}
    evo.stop()
    green.stop()
    providers.reset()


@pytest.fixture(params=["evolution", "green-api"])
def line(request, api, sims, alice, sql):
    """A connected number of each provider, with a contact to talk to (tests/conversations/phone.py)."""
    from tests.conversations.phone import connect  # noqa: PLC0415

    return connect(request.param, api, sims, alice, sql)

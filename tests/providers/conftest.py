from __future__ import annotations

import pytest

from lib import config, providers, resilience

EVO = "https://evo.example.com"
GREEN = "https://7103.api.greenapi.com"
PARTNER = "https://partner.green-api.test"
NUMBER_ID = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"


@pytest.fixture(autouse=True)
def provider_env(monkeypatch):
    for k, v in {"EVOLUTION_API_URL": EVO, "EVOLUTION_GLOBAL_API_KEY": "global-key-0123456789",
                 "EVOLUTION_WEBHOOK_SECRET": "evolution-webhook-secret-0123456789abcdef",
                 "PUBLIC_BASE_URL": "https://inbox.example.com", "GREEN_API_URL": GREEN,
                 "GREEN_API_MEDIA_URL": "https://7103.media.greenapi.com", "GREEN_API_PARTNER_URL": PARTNER,
                 "WEBHOOK_TOKEN_SECRET": "webhook-token-secret-0123456789abcdef",
                 "PROVIDER_READ_TIMEOUT": "2", "PROVIDER_CONNECT_TIMEOUT": "1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("GREEN_API_PARTNER_TOKEN", raising=False)
    monkeypatch.setattr(resilience.time, "sleep", lambda s: None)  # retry back-off without waiting
    config.reset()
    providers.reset()
    resilience.reset_breakers()
    yield
    config.reset()
    providers.reset()
    resilience.reset_breakers()

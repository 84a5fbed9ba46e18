from __future__ import annotations

import pytest
import respx

from lib import config, db, errors

SUPABASE = "https://proj.supabase.co"


@respx.mock
def test_a_deployment_with_only_supabase_variables_reaches_its_data_over_postgrest(monkeypatch):
    """No DATABASE_URL and no DATA_TRANSPORT (a Vercel project linked to Supabase): every data call is
    an RPC to PostgREST with the service-role key, and nothing needs a PostgreSQL connection string.
    (The other defaults are asserted where they show: tests/api/test_numbers_flow.py for the provider
    and the rollout, tests/api/test_webhooks.py for the webhook JWT window.)"""
    for name in ("DATABASE_URL", "DATA_TRANSPORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SUPABASE_URL", SUPABASE)
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", "service-role-key-for-tests-0123456789")
    route = respx.post(f"{SUPABASE}/rest/v1/rpc/app_health").respond(200, json={"ok": True})
    config.reset()
    db.use(None)  # build the transport from this environment, as a cold function does
    try:
        assert db.call("app_health") == {"ok": True}
    finally:
        db.use(None)
        config.reset()
    assert route.calls.last.request.headers["apikey"] == "service-role-key-for-tests-0123456789"


@pytest.mark.parametrize(("env", "variable"), [
    ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
    ({"EVOLUTION_API_URL": "evo.example.com"}, "EVOLUTION_API_URL"),
    ({"EVOLUTION_ROLLOUT": "sometimes"}, "EVOLUTION_ROLLOUT"),
    ({"DEFAULT_PROVIDER": "twilio"}, "DEFAULT_PROVIDER"),
    ({"PROVIDER_READ_TIMEOUT": "soon"}, "PROVIDER_READ_TIMEOUT"),
    ({"PROVIDER_READ_TIMEOUT": "600"}, "PROVIDER_READ_TIMEOUT"),
    ({"EVOLUTION_WEBHOOK_MAX_AGE_SECONDS": "-1"}, "EVOLUTION_WEBHOOK_MAX_AGE_SECONDS"),
])
def test_a_malformed_variable_names_itself(env, variable):
    with pytest.raises(errors.ConfigError) as info:
        config.load(env)
    assert variable in info.value.message
    assert info.value.details == {"variable": variable}


def test_require_names_the_missing_variable():
    with pytest.raises(errors.ConfigError, match="EVOLUTION_API_URL is not set"):
        config.require(None, "EVOLUTION_API_URL")


def test_public_base_url_falls_back_to_vercel_variables():
    assert config.load({"PUBLIC_BASE_URL": "https://inbox.example.com/"}).base_url == "https://inbox.example.com"
    assert config.load({"VERCEL_PROJECT_PRODUCTION_URL": "app.vercel.app", "VERCEL_URL": "x-1.vercel.app"}
                       ).base_url == "https://app.vercel.app"
    assert config.load({"VERCEL_URL": "x-1.vercel.app"}).base_url == "https://x-1.vercel.app"
    assert config.load({}).base_url is None


def test_transport_and_jwks_derivation():
    assert config.load({"DATABASE_URL": "postgresql://u@h/db"}).transport == "postgres"
    s = config.load({"DATABASE_URL": "postgresql://u@h/db", "DATA_TRANSPORT": "postgrest",
                     "SUPABASE_URL": "https://p.supabase.co"})
    assert s.transport == "postgrest"
    assert s.jwks_url == "https://p.supabase.co/auth/v1/.well-known/jwks.json"

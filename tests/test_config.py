from __future__ import annotations

import pytest

from lib import config, errors


def test_defaults_follow_the_plan():
    s = config.load({})
    assert s.default_provider == "green-api"
    assert s.evolution_rollout == "off"
    assert s.evolution_webhook_max_age_seconds == 300
    assert s.transport == "postgrest"


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

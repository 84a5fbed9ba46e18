"""The Evolution server kit holds its rules: pinned images, only Caddy exposed, persistent volumes,
health checks, one Evolution process, every variable defined, no known default key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

KIT = Path(__file__).resolve().parents[2] / "deploy" / "evolution"
COMPOSE = yaml.safe_load((KIT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
PUBLIC_DEFAULT_KEY = "429683C4C977415CAAFCCE10F7D57E11"  # in Evolution's own .env.example


def env_example() -> dict[str, str]:
    out = {}
    for line in (KIT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


def test_the_four_services_are_there():
    assert set(SERVICES) == {"evolution", "postgres", "redis", "caddy"}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_images_are_pinned_to_exact_versions(name):
    image = SERVICES[name]["image"]
    repo, _, tag = image.rpartition(":")
    assert repo and tag and tag != "latest" and re.search(r"\d+\.\d+", tag), image


def test_evolution_is_the_pinned_release():
    assert SERVICES["evolution"]["image"] == "evoapicloud/evolution-api:v2.3.6"


def test_only_caddy_publishes_ports_and_only_80_and_443():
    for name, svc in SERVICES.items():
        if name != "caddy":
            assert "ports" not in svc, f"{name} publishes ports"
    assert sorted(SERVICES["caddy"]["ports"]) == ["443:443", "80:80"]
    assert "8080" not in str(SERVICES["caddy"]["ports"])
    assert SERVICES["evolution"]["expose"] == ["8080"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_restarts_and_has_a_health_check(name):
    svc = SERVICES[name]
    assert svc["restart"] == "unless-stopped"
    assert svc["healthcheck"]["test"]


def test_state_lives_on_named_volumes():
    volumes = set(COMPOSE["volumes"])
    assert {"postgres_data", "redis_data", "evolution_instances", "caddy_data"} <= volumes
    mounts = {name: [v.split(":")[0] for v in svc.get("volumes", [])] for name, svc in SERVICES.items()}
    assert "postgres_data" in mounts["postgres"] and "redis_data" in mounts["redis"]
    assert "evolution_instances" in mounts["evolution"] and "caddy_data" in mounts["caddy"]


def test_redis_is_persistent():
    assert "--appendonly" in SERVICES["redis"]["command"] and "yes" in SERVICES["redis"]["command"]


def test_exactly_one_evolution_process():
    evo = SERVICES["evolution"]
    assert evo.get("deploy", {}).get("replicas", 1) == 1 and "scale" not in evo


def test_every_variable_the_compose_file_uses_is_in_env_example():
    text = (KIT / "docker-compose.yml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", text))
    assert used, "no variables found"
    assert used <= set(env_example()), used - set(env_example())


def test_env_example_sets_what_matters():
    env = env_example()
    assert env["WEBHOOK_GLOBAL_ENABLED"] == "false"
    assert env["TELEMETRY_ENABLED"] == "false"
    assert env["DATABASE_SAVE_DATA_NEW_MESSAGE"] == "true"
    assert env["DATABASE_SAVE_DATA_INSTANCE"] == "true"
    assert "WEBHOOKS" not in env["LOG_LEVEL"]
    for secret in ("AUTHENTICATION_API_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD"):
        assert env[secret].startswith("CHANGE_ME"), secret


def test_no_known_default_key_anywhere_in_the_kit():
    for path in KIT.rglob("*"):
        if path.is_file() and path.name != "provision.sh":  # provision.sh refuses to run with it
            assert PUBLIC_DEFAULT_KEY not in path.read_text(errors="replace"), path
    assert PUBLIC_DEFAULT_KEY in (KIT / "provision.sh").read_text()

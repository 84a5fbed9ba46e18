"""The Evolution server kit, read the way its consumers read it: docker-compose.yml with the values of
a filled-in .env interpolated, the Caddyfile adapted by caddy itself. What must hold: only Caddy is
reachable from outside, Caddy proxies to the port Evolution listens on, Evolution's database and
Redis URIs reach services it waits for with the credentials those services are given, state survives
a re-created container, every service comes back by itself, one Evolution process, and the release
deployed is the one the simulator (and so the client's tests) models."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from lib.sim.evolution import EvolutionSimulator

KIT = Path(__file__).resolve().parents[2] / "deploy" / "evolution"
PUBLIC_DEFAULT_KEY = "429683C4C977415CAAFCCE10F7D57E11"  # in Evolution's own .env.example
# Where each image keeps its state (the images' documented data directories).
STATE_DIRS = {"postgres": "/var/lib/postgresql/data", "redis": "/data", "evolution": "/evolution/instances",
              "caddy": "/data"}


def env_example() -> dict[str, str]:
    out = {}
    for line in (KIT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


def filled_env() -> dict[str, str]:
    """.env as an operator fills it in: every CHANGE_ME replaced by a secret of its own."""
    return {k: (f"{k.lower()}-generated-secret" if v.startswith("CHANGE_ME") else v) for k, v in env_example().items()}


def rendered(env: dict[str, str]) -> dict:
    """docker-compose.yml after compose's interpolation (`${VAR}` from .env, `$$` for a literal `$`)."""
    text = (KIT / "docker-compose.yml").read_text()
    text = re.sub(r"\$(\$|\{([A-Z0-9_]+)\})", lambda m: "$" if m[1] == "$" else env[m[2]], text)
    return yaml.safe_load(text)


ENV = filled_env()
COMPOSE = rendered(ENV)
SERVICES = COMPOSE["services"]


def published(svc: dict) -> list[int]:
    """The container ports a service publishes on the host (short and long port syntax)."""
    out = []
    for spec in svc.get("ports", []):
        target = spec["target"] if isinstance(spec, dict) else str(spec).split("/")[0].rsplit(":", 1)[-1]
        out.append(int(target))
    return out


def caddy_config(tmp_path: Path) -> dict:
    env = {**os.environ, "EVOLUTION_DOMAIN": ENV["EVOLUTION_DOMAIN"], "ACME_EMAIL": ENV["ACME_EMAIL"],
           "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    caddy = shutil.which("caddy")
    assert caddy, "caddy is not installed: `make test` installs it (scripts/ensure-system-tools.sh)"
    run = subprocess.run([caddy, "adapt", "--adapter", "caddyfile", "--config", str(KIT / "Caddyfile")],
                         capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


def upstreams(node) -> list[str]:
    """Every `dial` address of every reverse_proxy handler in an adapted Caddy config."""
    if isinstance(node, dict):
        found = [u["dial"] for u in node.get("upstreams", [])] if node.get("handler") == "reverse_proxy" else []
        return found + [d for v in node.values() for d in upstreams(v)]
    if isinstance(node, list):
        return [d for v in node for d in upstreams(v)]
    return []


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_images_are_pinned_to_exact_versions(name):
    image = SERVICES[name]["image"]
    repo, _, tag = image.rpartition(":")
    assert repo and tag and tag != "latest" and re.search(r"\d+\.\d+", tag), image


def test_the_kit_deploys_the_evolution_release_the_simulator_models():
    """The client is tested against lib.sim.evolution: the server deployed must be the release it models."""
    tag = SERVICES["evolution"]["image"].rpartition(":")[2]
    sim = EvolutionSimulator("k").start()
    try:
        modelled = httpx.get(f"{sim.url}/", timeout=5).json()["version"]
    finally:
        sim.stop()
    assert tag.removeprefix("v") == modelled


def test_nothing_but_caddy_is_reachable_from_outside():
    for name, svc in SERVICES.items():
        assert svc.get("network_mode") != "host", f"{name} shares the host's network"
        if name != "caddy":
            assert not published(svc), f"{name} publishes ports"
    assert set(published(SERVICES["caddy"])) == {80, 443}  # HTTP (ACME challenge, redirect) and HTTPS only
    assert int(ENV["SERVER_PORT"]) not in published(SERVICES["caddy"])


def test_caddy_proxies_over_https_to_the_port_evolution_listens_on(tmp_path):
    config = caddy_config(tmp_path)
    [server] = config["apps"]["http"]["servers"].values()
    assert server["listen"] == [":443"]  # the site is served over TLS (HTTP only redirects)
    dials = upstreams(config)
    assert dials, "no reverse_proxy in the Caddyfile"
    for dial in dials:
        host, _, port = dial.rpartition(":")
        assert host == "evolution" and host in SERVICES, dial
        assert int(port) == int(ENV["SERVER_PORT"]), dial
        assert set(SERVICES[host]["networks"]) & set(SERVICES["caddy"]["networks"]), "no network in common"


@pytest.mark.parametrize(("variable", "service"), [("DATABASE_CONNECTION_URI", "postgres"),
                                                   ("CACHE_REDIS_URI", "redis")])
def test_evolution_reaches_its_stores_on_services_it_waits_for(variable, service):
    evo = SERVICES["evolution"]
    uri = urlsplit(evo["environment"][variable])
    assert uri.hostname == service
    assert evo["depends_on"][service]["condition"] == "service_healthy"
    assert set(evo["networks"]) & set(SERVICES[service]["networks"])
    store = SERVICES[service]
    if service == "postgres":
        given = store["environment"]
        assert (uri.username, uri.password, uri.path.lstrip("/")) == (
            given["POSTGRES_USER"], given["POSTGRES_PASSWORD"], given["POSTGRES_DB"])
    else:
        args = store["command"]
        assert uri.password == args[args.index("--requirepass") + 1]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_comes_back_by_itself_and_is_health_checked(name):
    svc = SERVICES[name]
    assert svc["restart"] in ("always", "unless-stopped")  # after a crash and after a reboot
    assert svc["healthcheck"]["test"]


@pytest.mark.parametrize(("name", "path"), sorted(STATE_DIRS.items()))
def test_state_lives_on_named_volumes(name, path):
    mounts = {}
    for volume in SERVICES[name].get("volumes", []):
        source, target = volume.split(":")[:2] if isinstance(volume, str) else (volume.get("source"), volume["target"])
        mounts[target] = source
    assert path in mounts, f"{name} keeps {path} inside its container: lost when the container is re-created"
    assert mounts[path] in COMPOSE["volumes"], f"{name}: {mounts[path]} is not a named volume"


def test_redis_persists_every_write():
    """Evolution keeps the WhatsApp session keys in Redis with no expiry: losing them logs every number out."""
    args = SERVICES["redis"]["command"]
    options: dict[str, list[str]] = {}
    for arg in args[1:]:
        if arg.startswith("--"):
            current = options.setdefault(arg[2:], [])
        else:
            current.append(arg)
    assert options["appendonly"] == ["yes"]
    assert options.get("save") != [""]  # snapshots not switched off


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
    assert env["WEBHOOK_GLOBAL_ENABLED"] == "false"  # the global webhook carries no jwt_key
    assert env["TELEMETRY_ENABLED"] == "false"
    assert env["DATABASE_SAVE_DATA_NEW_MESSAGE"] == "true"  # missed events recoverable from Evolution's store
    assert env["DATABASE_SAVE_DATA_INSTANCE"] == "true"
    assert "WEBHOOKS" not in env["LOG_LEVEL"]  # that level logs webhook bodies, tokens included
    for secret in ("AUTHENTICATION_API_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD"):
        assert env[secret].startswith("CHANGE_ME"), secret  # provision.sh refuses to start with these


def test_no_known_default_key_anywhere_in_the_kit():
    for path in KIT.rglob("*"):
        if path.is_file() and path.name != "provision.sh":  # provision.sh refuses to run with it
            assert PUBLIC_DEFAULT_KEY not in path.read_text(errors="replace"), path

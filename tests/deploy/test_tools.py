"""The kit checked by the real tools: caddy validates the Caddyfile and serves it over HTTPS in
front of the Evolution simulator; shellcheck passes on every script."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from lib.dev.pg import free_port
from lib.sim.evolution import EvolutionSimulator

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "deploy" / "evolution"
SCRIPTS = sorted(KIT.glob("*.sh")) + [ROOT / "scripts" / "ensure-system-tools.sh", ROOT / "scripts" / "bootstrap.sh"]


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is not installed: `make test` installs it (scripts/ensure-system-tools.sh)"
    return path


def test_caddy_validates_the_caddyfile(tmp_path):
    env = {**os.environ, "EVOLUTION_DOMAIN": "evo.example.com", "ACME_EMAIL": "ops@example.com",
           "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    run = subprocess.run([tool("caddy"), "validate", "--adapter", "caddyfile", "--config", str(KIT / "Caddyfile")],
                         capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_shellcheck(script):
    run = subprocess.run([tool("shellcheck"), str(script)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout


def _wait_for_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)  # polling a port that is coming up, bounded by the deadline
    raise TimeoutError(f"nothing listens on {port}")


def test_https_through_caddy_to_evolution(tmp_path):
    sim = EvolutionSimulator("k").start()
    https_port, http_port = free_port(), free_port()
    real = (KIT / "Caddyfile").read_text()
    site = real[real.index("{$EVOLUTION_DOMAIN}"):]
    config = ("{\n\tadmin off\n\tlocal_certs\n\tskip_install_trust\n"
              f"\thttp_port {http_port}\n\thttps_port {https_port}\n\tstorage file_system {tmp_path}/data\n}}\n\n"
              + site.replace("{$EVOLUTION_DOMAIN}", f"localhost:{https_port}")
                    .replace("evolution:8080", f"127.0.0.1:{sim.port}"))
    (tmp_path / "Caddyfile").write_text(config)
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    proc = subprocess.Popen([tool("caddy"), "run", "--adapter", "caddyfile", "--config", str(tmp_path / "Caddyfile")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_port(https_port, time.monotonic() + 20)
        r = None
        for _ in range(100):  # the certificate is issued just after the port opens
            try:
                r = httpx.get(f"https://localhost:{https_port}/", verify=False, timeout=5)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert r is not None and r.status_code == 200
        assert r.json()["message"] == "Welcome to the Evolution API, it is working!"
        assert r.headers["strict-transport-security"].startswith("max-age=")
        assert r.headers["x-content-type-options"] == "nosniff" and "server" not in r.headers
        assert r.http_version in ("HTTP/1.1", "HTTP/2")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        sim.stop()

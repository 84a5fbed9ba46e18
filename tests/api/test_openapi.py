from __future__ import annotations

from pathlib import Path

from lib import openapi
from lib.dev.server import discover

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_document_is_current():
    committed = (ROOT / "openapi.json").read_text()
    assert committed == openapi.render(), "openapi.json is stale: run `.venv/bin/python -m lib.openapi > openapi.json`"


def test_every_product_route_is_documented():
    documented = set(openapi.document()["paths"])
    routes = set()
    for route in discover(ROOT / "api"):
        path = "/" + "/".join(route.file.relative_to(ROOT).with_suffix("").parts)
        path = path.replace("[id]", "{id}")
        if path.startswith(("/api/v1/webhooks", "/api/cron")) or path in ("/api/health", "/api/metrics", "/api/status"):
            continue  # called by providers, the scheduler and operators, not by the product's frontend
        routes.add(path)
    assert routes == documented

"""What each Vercel function loads: never the dev tooling, the simulators, supabase-py or pgserver
(they are excluded from the bundle or too heavy for a cold start)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROUTES = sorted((ROOT / "api").rglob("*.py"))
PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("route", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("route", ROUTES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_function_loads_nothing_it_must_not(route):
    out = subprocess.run([sys.executable, "-c", PROBE, str(route)], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    loaded = set(json.loads(out))
    forbidden = {m for m in loaded if m.split(".")[0] in ("supabase", "postgrest", "pgserver", "schemathesis")
                 or m.startswith(("lib.dev", "lib.sim", "tests"))}
    assert not forbidden, forbidden


def uploaded(paths: list[str]) -> set[str]:
    """Which of these paths `vercel deploy` uploads: .vercelignore has gitignore semantics, so git's own
    matcher decides (in an empty repository, so that only .vercelignore applies)."""
    with tempfile.TemporaryDirectory() as empty:
        subprocess.run(["git", "init", "-q", empty], check=True)
        out = subprocess.run(["git", "-c", f"core.excludesFile={ROOT / '.vercelignore'}", "check-ignore", "--no-index",
                              "--verbose", "--non-matching", "--stdin"], cwd=empty, input="\n".join(paths),
                             capture_output=True, text=True).stdout
    kept = set()
    for line in out.splitlines():
        source, path = line.split("\t", 1)
        pattern = source.split(":", 2)[2] if source.count(":") >= 2 else ""
        if not pattern or pattern.startswith("!"):
            kept.add(path)
    return kept


def test_vercelignore_uploads_only_what_the_deployment_is_built_from():
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    files += ["tests/x.py", "lib/dev/x.py", "lib/sim/x.py", "supabase/seed.sql", "openapi.json", "tools/vercel/x"]
    wanted = {f for f in files if f.startswith(("api/", "lib/", "public/")) and not f.startswith(("lib/dev/", "lib/sim/"))}
    wanted |= {f for f in ("requirements.txt", ".python-version", "vercel.json") if f in files}
    assert uploaded(files) == wanted


WEBHOOK_ROUTES = [r for r in ROUTES if "webhooks" in r.parts]


@pytest.mark.parametrize("route", WEBHOOK_ROUTES, ids=lambda p: str(p.relative_to(ROOT)))
def test_webhook_functions_load_no_validation_or_storage_library(route):
    """Cold start: the webhook path is parse, verify, one SQL call — pydantic (~200 ms) and the S3
    client belong to the product routes and the media path only."""
    out = subprocess.run([sys.executable, "-c", PROBE, str(route)], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    loaded = {m.split(".")[0] for m in json.loads(out)}
    assert not loaded & {"pydantic", "pydantic_core", "obstore", "boto3", "botocore"}

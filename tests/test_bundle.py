"""What each Vercel function loads: never the dev tooling, the simulators, supabase-py or pgserver
(they are excluded from the bundle or too heavy for a cold start)."""

from __future__ import annotations

import json
import subprocess
import sys
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


def test_vercel_excludes_what_functions_do_not_need():
    config = json.loads((ROOT / "vercel.json").read_text())
    exclude = config["functions"]["api/**/*.py"]["excludeFiles"]
    for path in ("tests/**", "supabase/**", "lib/dev/**", "lib/sim/**", "deploy/**", "docs/**"):
        assert path in exclude
    ignore = (ROOT / ".vercelignore").read_text().split()
    assert {"/tests", "/lib/dev", "/lib/sim", "/deploy"} <= set(ignore)

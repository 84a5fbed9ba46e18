"""Dependencies point one way: a module never imports one of a higher layer (a provider never the
webhook pipeline or HTTP types; a service never the HTTP layer). Each module is imported alone, in
a fresh interpreter, and every `lib` module it loaded is checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Lowest first. A module may load modules of its own layer and of the layers below.
LAYERS: list[tuple[str, ...]] = [
    ("lib.errors", "lib.config", "lib.log", "lib.events", "lib.migrate"),
    ("lib.db", "lib.redis", "lib.webhook_auth", "lib.resilience", "lib.netguard", "lib.recorder"),
    ("lib.providers",),
    ("lib.webhooks", "lib.numbers", "lib.messaging", "lib.sync", "lib.ops", "lib.health", "lib.schemas",
     "lib.media", "lib.monitor", "lib.conversations", "lib.chats"),
    # the HTTP layer, and the modules that shape HTTP answers for a route
    ("lib.http", "lib.auth", "lib.cron_auth", "lib.pagination", "lib.openapi", "lib.media.serve", "lib.monitor.web"),
]
NOT_BUNDLED = ("lib.dev", "lib.sim")


def layer_of(module: str) -> int:
    """The layer of the longest prefix that names the module (`lib.media.serve` before `lib.media`)."""
    matches = [(len(p), level) for level, prefixes in enumerate(LAYERS) for p in prefixes
               if module == p or module.startswith(p + ".")]
    if not matches:
        raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")
    return max(matches)[1]


def modules() -> list[str]:
    found = []
    for path in sorted((ROOT / "lib").rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        if name != "lib" and not name.startswith(NOT_BUNDLED) and not name.endswith("__main__"):
            found.append(name)
    return found


PROBE = "import importlib, json, sys; importlib.import_module(sys.argv[1]); print(json.dumps(sorted(sys.modules)))"


@pytest.mark.parametrize("module", modules())
def test_a_module_imports_nothing_above_its_layer(module):
    out = subprocess.run([sys.executable, "-c", PROBE, module], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    mine = layer_of(module)
    above = sorted(m for m in json.loads(out) if m.startswith("lib.") and m != "lib"
                   and not m.startswith(NOT_BUNDLED) and layer_of(m) > mine)
    assert not above, f"{module} (layer {mine}) loads {above}"

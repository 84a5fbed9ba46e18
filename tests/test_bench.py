"""Every benchmark still imports (they run by hand, so nothing else notices when a move breaks one)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.parametrize("name", sorted(p.stem for p in BENCH.glob("*.py") if not p.stem.startswith("_")))
def test_a_benchmark_imports(name):
    importlib.import_module(f"bench.{name}")

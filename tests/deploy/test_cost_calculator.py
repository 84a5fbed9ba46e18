from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

spec = importlib.util.spec_from_file_location("cost_calculator", Path(__file__).resolve().parents[2] / "docs" / "cost_calculator.py")
cost = importlib.util.module_from_spec(spec)
sys.modules["cost_calculator"] = cost  # dataclasses look their module up
spec.loader.exec_module(cost)


def test_break_even_with_the_default_inputs():
    i = cost.Inputs()
    # Evolution at 11 numbers: 8 + 2 + 4 x 50 = 210 < 11 x 20 = 220; at 10: 210 = 200 + 10 -> not cheaper
    assert cost.evolution(11, i) == 210 and cost.green_api(11, i) == 220
    assert cost.break_even(i) == 11


def test_break_even_moves_with_the_inputs():
    assert cost.break_even(cost.Inputs(ops_hours=0)) == 1
    assert cost.break_even(cost.Inputs(green_api_per_number=1)) == 267  # 64 + 2 + 200 = 266 < 267
    assert cost.break_even(cost.Inputs(green_api_per_number=0.5)) is None
    assert cost.vps(41, cost.Inputs()) == 16.0

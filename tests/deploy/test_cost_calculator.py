"""The cost calculator's arithmetic on inputs written out here, and the figures docs/cost-analysis.md
quotes are the ones it computes from its default inputs (change a price and the document must follow)."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
spec = importlib.util.spec_from_file_location("cost_calculator", DOCS / "cost_calculator.py")
cost = importlib.util.module_from_spec(spec)
sys.modules["cost_calculator"] = cost  # dataclasses look their module up
spec.loader.exec_module(cost)

# Every input given, so that no default price takes part.
PLAIN = cost.Inputs(green_api_per_number=10.0, vps_tiers=((40, 8.0), (100, 16.0)), backup_storage=2.0,
                    ops_hours=1.0, hourly_rate=50.0)


def test_evolution_is_a_server_tier_plus_fixed_costs():
    assert cost.evolution(1, PLAIN) == cost.evolution(40, PLAIN) == 8 + 2 + 50
    assert cost.evolution(41, PLAIN) == cost.evolution(100, PLAIN) == 16 + 2 + 50
    with pytest.raises(ValueError, match="beyond the largest tier"):
        cost.vps(101, PLAIN)
    assert cost.green_api(7, PLAIN) == 70


def test_break_even_is_the_first_count_where_self_hosting_is_strictly_cheaper():
    assert cost.break_even(PLAIN) == 7  # 60 < 70; at 6 numbers 60 = 60 is not cheaper
    assert cost.break_even(dataclasses.replace(PLAIN, ops_hours=0.0)) == 2  # 10 < 20; 10 = 10 at 1
    assert cost.break_even(dataclasses.replace(PLAIN, green_api_per_number=0.5)) is None


def doc() -> str:
    return (DOCS / "cost-analysis.md").read_text()


def test_the_documents_table_is_what_the_default_inputs_give():
    rows = re.findall(r"^\| (\d+) \| (\d+) \| (\d+) \| (GREEN-API|Evolution) \|$", doc(), re.M)
    assert rows, "the table of docs/cost-analysis.md was not found"
    i = cost.Inputs()
    for n, green, evolution, cheaper in rows:
        n = int(n)
        g, e = cost.green_api(n, i), cost.evolution(n, i)
        assert (int(green), int(evolution), cheaper) == (round(g), round(e), "Evolution" if e < g else "GREEN-API"), n


def test_the_documents_break_even_figures_are_what_the_calculator_gives():
    text = doc()
    default = re.search(r"\*\*Break-even: (\d+) numbers?\.\*\*", text)
    no_ops = re.search(r"no operations time counted it is (\d+) numbers?", text)
    at_price = re.search(r"at \$(\d+(?:\.\d+)?)/number for\s+GREEN-API it is (\d+)", text)
    assert default and no_ops and at_price, "a break-even figure of docs/cost-analysis.md was not found"
    assert cost.break_even(cost.Inputs()) == int(default[1])
    assert cost.break_even(cost.Inputs(ops_hours=0)) == int(no_ops[1])
    assert cost.break_even(cost.Inputs(green_api_per_number=float(at_price[1]))) == int(at_price[2])

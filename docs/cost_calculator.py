"""Monthly cost of running N WhatsApp numbers on GREEN-API vs self-hosted Evolution API.

    python docs/cost_calculator.py [--green-api-price 20] [--ops-hours 4] [--hourly-rate 50] ...

Every price is an explicit input with its date and source. The GREEN-API price is NOT confirmed by
no published source we could read (https://green-api.com/en/docs/about-tariffs/ gives no prices): check the live pricing
page before deciding. VPS sizes follow one observation: about 79 instances grew one Evolution
container past 4 GB (evolution-api issue #1419), so we plan ~40 numbers per 4 GB.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

PRICES_AS_OF = "2026-11-25"


@dataclass(frozen=True)
class Inputs:
    green_api_per_number: float = 20.0   # USD/month, Business plan — ASSUMPTION, verify on green-api.com
    vps_tiers: tuple[tuple[int, float], ...] = ((40, 8.0), (100, 16.0), (200, 32.0), (400, 64.0))
    # (max numbers, USD/month) for 4/8/16/32 GB VPS — ASSUMPTION from common EU VPS list prices
    backup_storage: float = 2.0          # USD/month off-site backups — ASSUMPTION
    ops_hours: float = 4.0               # hours/month: upgrades, QR support, incidents — ASSUMPTION
    hourly_rate: float = 50.0            # USD per engineering hour — ASSUMPTION


def green_api(n: int, i: Inputs) -> float:
    return n * i.green_api_per_number


def vps(n: int, i: Inputs) -> float:
    for limit, price in i.vps_tiers:
        if n <= limit:
            return price
    raise ValueError(f"{n} numbers is beyond the largest tier: plan several servers")


def evolution(n: int, i: Inputs) -> float:
    return vps(n, i) + i.backup_storage + i.ops_hours * i.hourly_rate


def break_even(i: Inputs, limit: int | None = None) -> int | None:
    """The smallest number of numbers from which self-hosting is cheaper, or None."""
    limit = limit or i.vps_tiers[-1][0]
    return next((n for n in range(1, limit + 1) if evolution(n, i) < green_api(n, i)), None)


def table(i: Inputs, counts: tuple[int, ...] = (1, 5, 10, 20, 50, 100, 200)) -> str:
    rows = [f"{'numbers':>8} {'GREEN-API':>10} {'Evolution':>10} {'cheaper':>10}"]
    for n in counts:
        g, e = green_api(n, i), evolution(n, i)
        rows.append(f"{n:>8} {g:>10.0f} {e:>10.0f} {'Evolution' if e < g else 'GREEN-API':>10}")
    return "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--green-api-price", type=float, default=Inputs.green_api_per_number)
    p.add_argument("--ops-hours", type=float, default=Inputs.ops_hours)
    p.add_argument("--hourly-rate", type=float, default=Inputs.hourly_rate)
    a = p.parse_args()
    i = Inputs(green_api_per_number=a.green_api_price, ops_hours=a.ops_hours, hourly_rate=a.hourly_rate)
    print(f"USD per month; prices as of {PRICES_AS_OF} (assumptions unless marked otherwise)\n")
    print(table(i))
    print(f"\nbreak-even: {break_even(i)} numbers")


if __name__ == "__main__":
    main()

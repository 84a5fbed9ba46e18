"""Reading fields of a provider's JSON payload, shared by every normalizer: an object that must be
one (a ValueError naming it otherwise, which becomes a `malformed_event` dead letter), and a
string that counts only when it is a non-empty string."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def obj(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{what} must be an object")
    return value


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None

"""The provider registry: a name → factory map, and `get_provider(number)`. No if/else chains.

Each provider module is imported on first use only, so a function that serves GREEN-API numbers
does not pay for Evolution's modules, and the other way round.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from typing import Any

from lib.errors import InvalidRequest
from lib.providers.base import NumberRef, Provider

REGISTRY: dict[str, str] = {
    "evolution": "lib.providers.evolution.provider:EvolutionProvider",
    "green-api": "lib.providers.greenapi.provider:GreenApiProvider",
}

_instances: dict[str, Provider] = {}
_lock = threading.Lock()


def names() -> list[str]:
    return sorted(REGISTRY)


def provider(name: str) -> Provider:
    """The process-wide provider object for `name` (built from settings on first use)."""
    inst = _instances.get(name)
    if inst is not None:
        return inst
    target = REGISTRY.get(name)
    if target is None:
        raise InvalidRequest(f"unknown provider {name!r}; use one of {', '.join(names())}", code="unknown_provider")
    with _lock:
        inst = _instances.get(name)
        if inst is None:
            module, _, cls = target.partition(":")
            inst = _instances[name] = getattr(importlib.import_module(module), cls).from_settings()
    return inst


def get_provider(number: NumberRef | Mapping[str, Any]) -> Provider:
    """The provider serving this number (a NumberRef or a `numbers` row)."""
    name = number.provider if isinstance(number, NumberRef) else number["provider"]
    return provider(name)


def reset() -> None:
    """Forget built providers (tests and the dev server change settings)."""
    with _lock:
        _instances.clear()

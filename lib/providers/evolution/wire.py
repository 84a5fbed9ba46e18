"""Reading Evolution's JSON encoding of WhatsApp protobuf values.

2.3.6 serialises int64 as `{"low", "high", "unsigned"}` and bytes as `{"0": n, "1": n, ...}`
(prepareMessage → deserializeMessageBuffers, commit dd21a29e); up to 2.3.5 the same fields came as
numeric strings and base64 strings (protobuf toJSON). Both are accepted everywhere.
"""

from __future__ import annotations

from typing import Any


def to_int(value: Any) -> int | None:
    """int, float, numeric string or {low, high, unsigned} (two's complement when signed) → int."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                return int(float(value))
            except ValueError:
                return None
    if isinstance(value, dict) and "low" in value:
        low = int(value.get("low") or 0) & 0xFFFFFFFF
        high = int(value.get("high") or 0) & 0xFFFFFFFF
        n = (high << 32) | low
        if not value.get("unsigned") and n >= 1 << 63:
            n -= 1 << 64
        return n
    return None


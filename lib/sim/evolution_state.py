"""What the Evolution simulator's parts share: an instance's state and Evolution's error envelope
(`{"status", "error", "response": {"message"}}`, src/main.ts error middleware, 2.3.6)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import segno

from lib.sim.base import Reply

NON_RETRYABLE = (400, 401, 403, 404, 422)  # WEBHOOK_RETRY_NON_RETRYABLE_STATUS_CODES default


def _err(status: int, message: Any) -> Reply:
    phrase = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
              500: "Internal Server Error"}[status]
    return Reply(status, {"status": status, "error": phrase, "response": {"message": message}})


def qr_png(code: str) -> str:
    return segno.make(code, error="l").png_data_uri(scale=3)


@dataclass
class Instance:
    name: str
    token: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    state: str = "close"
    webhook: dict[str, Any] = field(default_factory=dict)
    qr_count: int = 0
    owner: str = "5511999990001"
    sent: list[dict[str, Any]] = field(default_factory=list)

"""Query-string helpers shared by the routes: ids from the path, page size and cursors."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any

from lib.errors import InvalidRequest, NotFound
from lib.http import Request


def uuid_param(req: Request, not_found_code: str) -> str:
    """The `[id]` path segment as a uuid; anything else cannot name a row of ours (404)."""
    try:
        return str(uuid.UUID(req.query.get("id", "")))
    except ValueError:
        raise NotFound("no such resource", code=not_found_code) from None


def cursor_from_query(query: dict[str, str]) -> tuple[int, tuple[str, str] | None]:
    raw_limit = query.get("limit", "50")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        raise InvalidRequest("limit must be a whole number from 1 to 100", code="invalid_limit")
    cursor = None
    raw = query.get("cursor")
    if raw:
        try:
            if len(raw) > 200:
                raise ValueError("too long")
            data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
            cursor = (datetime.fromisoformat(str(data["t"])).isoformat(), str(uuid.UUID(str(data["i"]))))
        except (ValueError, KeyError, TypeError, RecursionError):
            raise InvalidRequest("cursor is not one this API gave out", code="invalid_cursor") from None
    return int(raw_limit), cursor


def next_cursor(page: dict[str, Any]) -> str | None:
    if not page["has_more"] or not page["items"]:
        return None
    last = page["items"][-1]
    raw = json.dumps({"t": last["created_at"], "i": last["id"]}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

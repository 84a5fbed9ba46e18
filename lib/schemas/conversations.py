"""Request bodies of the conversation routes: start a chat, react, edit, import history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, model_validator

from lib.schemas.base import Emoji, Request


class StartChatRequest(Request):
    phone: Annotated[str, Field(min_length=1, max_length=40, description=(
        "the contact's number in any common format: +55 11 99999-0002, 0055..., 5511999990002, "
        "5511999990002@c.us or @s.whatsapp.net"))]


class ReactionRequest(Request):
    emoji: Emoji


class EditMessageRequest(Request):
    text: Annotated[str, Field(min_length=1, max_length=20000)]


class HistoryRequest(Request):
    since: datetime | None = Field(None, description="import from here (default: 7 days ago; at most 90 days)")

    @model_validator(mode="after")
    def _bounded(self) -> HistoryRequest:
        from datetime import UTC, timedelta  # noqa: PLC0415

        if self.since is not None:
            if self.since.tzinfo is None:
                raise ValueError("since needs a time zone (e.g. 2026-11-20T00:00:00Z)")
            if self.since < datetime.now(UTC) - timedelta(days=90):
                raise ValueError("since is at most 90 days ago")
        return self

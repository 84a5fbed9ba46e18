"""Request body of a send (POST /api/v1/chats/{id}/send)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, model_validator

from lib.schemas.base import Emoji, HttpUrl, Request


class Media(Request):
    url: HttpUrl | None = Field(None, description="a public URL of the file; or send `upload_id`")
    upload_id: UUID | None = Field(None, description="a file uploaded through POST /api/v1/media/uploads")
    caption: Annotated[str, Field(max_length=4096)] | None = None
    file_name: Annotated[str, Field(max_length=255)] | None = None
    mime_type: Annotated[str, Field(max_length=127)] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Media:
        if (self.url is None) == (self.upload_id is None):
            raise ValueError("media needs exactly one of `url` or `upload_id`")
        return self


class SendRequest(Request):
    type: Literal["text", "image", "video", "audio", "voice", "document", "reaction"] = Field(
        "text", description="`voice` sends audio as a voice note (push-to-talk); `reaction` reacts to "
                            "`target_message_id` in this chat with `emoji` (empty removes ours)")
    text: Annotated[str, Field(min_length=1, max_length=20000)] | None = None
    media: Media | None = None
    quoted_message_id: Annotated[str, Field(max_length=128)] | None = None
    target_message_id: UUID | None = None
    emoji: Emoji | None = None

    @model_validator(mode="after")
    def _shape(self) -> SendRequest:
        reacting = self.type == "reaction"
        if reacting != (self.target_message_id is not None) or reacting != (self.emoji is not None):
            raise ValueError("`target_message_id` and `emoji` go together, with type `reaction` only")
        if reacting:
            if self.text is not None or self.media is not None:
                raise ValueError("a reaction takes no `text` or `media`")
            return self
        if self.type == "text" and not self.text:
            raise ValueError("a text message needs `text`")
        if self.type != "text" and self.media is None:
            raise ValueError(f"a {self.type} message needs `media` with a `url` or an `upload_id`")
        if self.type == "text" and self.media is not None:
            raise ValueError("a text message takes no `media`; set `type` to the media kind")
        return self

"""Request body of an upload (POST /api/v1/media/uploads)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from lib.schemas.base import Request


class UploadRequest(Request):
    content_type: Annotated[str, Field(pattern=r"^[\w.+-]+/[\w.+-]+(\s*;\s*[\w.+-]+=[\w.+-]+)*$",
                                       max_length=127)]
    file_name: Annotated[str, Field(max_length=255)] | None = None

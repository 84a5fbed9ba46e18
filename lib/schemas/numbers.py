"""Request bodies of the number routes (POST /api/v1/numbers)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from lib.schemas.base import Digits, HttpUrl, Request


class GreenApiCredentials(Request):
    """An existing GREEN-API instance of the user's (the flow without a partner token)."""

    id_instance: Annotated[str, Field(pattern=r"^\d{4,12}$")]
    # GREEN-API instance tokens are hex (50 characters in the console); anything else could steer
    # the path we request on the GREEN-API host.
    api_token_instance: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{16,128}$", repr=False)]
    api_url: HttpUrl | None = None
    media_url: HttpUrl | None = None


class CreateNumberRequest(Request):
    provider: Literal["green-api", "evolution"] | None = Field(
        None, description="defaults to DEFAULT_PROVIDER (green-api)")
    label: Annotated[str, Field(max_length=100)] = ""
    phone: Digits | None = Field(None, description="ask for a pairing code for this phone, where offered")
    green_api: GreenApiCredentials | None = None

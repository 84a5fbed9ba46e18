"""What every model shares: the base classes, the URL rule, and `parse` (a precise 400 for a bad body)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import core_schema

from lib.errors import InvalidRequest


class HttpUrl:
    """pydantic's `HttpUrl` rule — http or https, at most 2,083 characters, parsed and normalised by
    pydantic-core's URL parser — without importing `pydantic.networks`, which imports
    importlib.metadata: ~30 ms of every cold start of a route that validates a body. Validates to
    pydantic-core's `Url`; `str()` of it is the normalised URL, as with `HttpUrl`."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.url_schema(allowed_schemes=["http", "https"], max_length=2083,
                                      serialization=core_schema.to_string_ser_schema())


Digits = Annotated[str, Field(pattern=r"^\d{8,15}$", description="international number, digits only")]
# One emoji, ZWJ sequences included (a family is 7 code points); empty removes our reaction.
Emoji = Annotated[str, Field(max_length=32, description="one emoji; an empty string removes our reaction")]


class Model(BaseModel):
    # A model's validator is built on its first use (`defer_build`, pydantic's own option), not when a
    # cold start imports it: response models are never built on a request, request models once.
    model_config = ConfigDict(defer_build=True)


class Request(Model):
    """A request body: unknown fields refused, strings stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


def parse(model: type[Request], data: Any) -> Any:
    """Validate a request body; a precise 400 `validation_failed` naming the fields otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in e["loc"]) or "(body)", "problem": e["msg"]}
                    for e in exc.errors(include_url=False, include_input=False)]
        first = problems[0]
        raise InvalidRequest(f"{first['field']}: {first['problem']}", code="validation_failed",
                             details={"problems": problems}) from None

"""Request and response models of the product API (pydantic). The OpenAPI document is generated
from these (`python -m lib.openapi`), so the contract and the validation are one thing."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
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


class _Model(BaseModel):
    # A function imports this module for one or two request models; the others (and every response
    # model, used only by `lib.openapi`) would cost ~40 ms of schema building per cold start.
    # `defer_build` builds a model's validator on its first use instead (pydantic's own option).
    model_config = ConfigDict(defer_build=True)


class _In(_Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class GreenApiCredentials(_In):
    """An existing GREEN-API instance of the user's (the flow without a partner token)."""

    id_instance: Annotated[str, Field(pattern=r"^\d{4,12}$")]
    # GREEN-API instance tokens are hex (50 characters in the console); anything else could steer
    # the path we request on the GREEN-API host.
    api_token_instance: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{16,128}$", repr=False)]
    api_url: HttpUrl | None = None
    media_url: HttpUrl | None = None


class CreateNumberRequest(_In):
    provider: Literal["green-api", "evolution"] | None = Field(
        None, description="defaults to DEFAULT_PROVIDER (green-api)")
    label: Annotated[str, Field(max_length=100)] = ""
    phone: Digits | None = Field(None, description="ask for a pairing code for this phone, where offered")
    green_api: GreenApiCredentials | None = None


class Media(_In):
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


class UploadRequest(_In):
    content_type: Annotated[str, Field(pattern=r"^[\w.+-]+/[\w.+-]+(\s*;\s*[\w.+-]+=[\w.+-]+)*$",
                                       max_length=127)]
    file_name: Annotated[str, Field(max_length=255)] | None = None


class UploadOut(_Model):
    upload_id: str
    url: str = Field(description="PUT the file's bytes here, with the `headers` given, before `expires_at`")
    method: Literal["PUT"]
    headers: dict[str, str]
    expires_at: datetime
    max_bytes: int


class SendRequest(_In):
    type: Literal["text", "image", "video", "audio", "voice", "document", "reaction"] = Field(
        "text", description="`voice` sends audio as a voice note (push-to-talk); `reaction` reacts to "
                            "`target_message_id` in this chat with `emoji` (empty removes ours)")
    text: Annotated[str, Field(min_length=1, max_length=20000)] | None = None
    media: Media | None = None
    quoted_message_id: Annotated[str, Field(max_length=128)] | None = None
    target_message_id: UUID | None = None
    emoji: Annotated[str, Field(max_length=16)] | None = None

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


class QrOut(_Model):
    data_url: str | None = Field(None, description="PNG image as a data URL")
    pairing_code: str | None = None
    expires_at: datetime | None = None


class NumberOut(_Model):
    id: str
    label: str
    phone: str | None
    provider: Literal["green-api", "evolution"]
    status: Literal["pending", "qr", "connecting", "active", "disconnected", "logged_out", "blocked", "deleted"]
    status_reason: str | None
    status_changed_at: datetime | None
    provider_state: str | None
    provider_reason_code: int | None
    connected_at: datetime | None
    disconnected_at: datetime | None
    created_at: datetime
    deleted_at: datetime | None
    qr: QrOut | None


class NumberList(_Model):
    items: list[NumberOut]
    next_cursor: str | None


class MessageError(_Model):
    code: str
    message: str
    http_status: int | None = None


class MessageOut(_Model):
    id: str
    chat_id: str
    number_id: str
    provider_message_id: str | None
    direction: Literal["inbound", "outbound"]
    type: str
    body: str | None
    status: str | None
    status_reason: str | None
    media_url: str | None
    media_mime_type: str | None
    media_file_name: str | None
    media_state: Literal["pending", "stored", "failed"] | None = Field(
        None, description="inbound media: being stored, stored (GET /api/v1/messages/{id}/media), or failed")
    media_size: int | None = None
    media_sha256: str | None = None
    media_error: str | None = None
    quoted_provider_message_id: str | None
    sent_at: datetime | None
    created_at: datetime
    error: MessageError | None


class ErrorDetail(_Model):
    code: str
    message: str
    retryable: bool = Field(description="can the same request succeed if simply sent again later")
    details: dict[str, Any] | None = None


class ErrorBody(_Model):
    error: ErrorDetail


class EvolutionHealth(_Model):
    status: Literal["ok", "unhealthy"]
    evolution: dict[str, Any] | None = None
    numbers: dict[str, Any] | None = None


def parse(model: type[_In], data: Any) -> Any:
    """Validate a request body; a precise 400 `validation_failed` naming the fields otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in e["loc"]) or "(body)", "problem": e["msg"]}
                    for e in exc.errors(include_url=False, include_input=False)]
        first = problems[0]
        raise InvalidRequest(f"{first['field']}: {first['problem']}", code="validation_failed",
                             details={"problems": problems}) from None


# -- conversations (lib/conversations.py) ---------------------------------------------------------------
class StartChatRequest(_In):
    phone: Annotated[str, Field(min_length=1, max_length=40, description=(
        "the contact's number in any common format: +55 11 99999-0002, 0055..., 5511999990002, "
        "5511999990002@c.us or @s.whatsapp.net"))]


class ReactionRequest(_In):
    emoji: Annotated[str, Field(max_length=32, description="one emoji; an empty string removes our reaction")]


class EditMessageRequest(_In):
    text: Annotated[str, Field(min_length=1, max_length=20000)]


class ChatOut(_Model):
    id: str
    number_id: str
    wa_chat_id: str = Field(description="`<digits>@c.us` for a person, `<id>@g.us` for a group")
    name: str | None
    is_group: bool
    last_message_preview: str | None
    last_message_at: datetime | None
    unread_count: int
    last_read_at: datetime | None
    created_at: datetime
    avatar_url: str | None = None
    participants: list[dict[str, Any]] | None = Field(None, description='groups: [{"id", "admin"}]')


class ReactionOut(_Model):
    reactor: str = Field(description="`me` for our own reaction, else the reacting contact's chat id")
    emoji: str
    at: datetime


class ConversationMessageOut(MessageOut):
    reactions: list[ReactionOut]
    edited_at: datetime | None
    previous_bodies: list[str | None] = Field(description="the texts an edit replaced, oldest first")
    deleted: bool = Field(description="deleted for everyone; its content is shown only with ?include_deleted=true")
    deleted_at: datetime | None


class ReadOut(_Model):
    chat: ChatOut
    receipt: Literal["sent", "failed", "not_needed"] = Field(
        description="the provider's read receipt; the chat is read here whatever it says")
    error: ErrorDetail | None = None


class ProviderCapabilities(_Model):
    pairing_code: bool
    instances: Literal["created", "linked"] = Field(
        description="`created`: we create the instance; `linked`: the user brings an instance of their own")
    media: list[str]
    start_chat: bool
    read_receipts: bool
    reactions: bool
    edits: bool
    deletes: bool
    restart: bool
    avatars: bool
    groups: bool
    history: bool


class ProviderOut(_Model):
    name: Literal["green-api", "evolution"]
    label: str
    default: bool
    available: bool = Field(description="this user may add a number on it (rollout and configuration)")
    capabilities: ProviderCapabilities


class ProviderList(_Model):
    items: list[ProviderOut]


class HistoryRequest(_In):
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


class HistoryImportOut(_Model):
    id: str
    number_id: str
    reason: Literal["first_connect", "recovery", "manual"]
    since: datetime
    until: datetime
    state: Literal["pending", "running", "done", "failed"]
    pages: int
    imported: int
    duplicates: int
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class HistoryImportList(_Model):
    items: list[HistoryImportOut]

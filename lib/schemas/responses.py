"""Response models: they document the API (`lib.openapi`); no route imports them, so no
function pays for building them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from lib.schemas.base import Model


class UploadOut(Model):
    upload_id: str
    url: str = Field(description="PUT the file's bytes here, with the `headers` given, before `expires_at`")
    method: Literal["PUT"]
    headers: dict[str, str]
    expires_at: datetime
    max_bytes: int


class QrOut(Model):
    data_url: str | None = Field(None, description="PNG image as a data URL")
    pairing_code: str | None = None
    expires_at: datetime | None = None


class NumberOut(Model):
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


class NumberList(Model):
    items: list[NumberOut]
    next_cursor: str | None


class MessageError(Model):
    code: str
    message: str
    http_status: int | None = None


class MessageOut(Model):
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


class ErrorDetail(Model):
    code: str
    message: str
    retryable: bool = Field(description="can the same request succeed if simply sent again later")
    details: dict[str, Any] | None = None


class ErrorBody(Model):
    error: ErrorDetail


class EvolutionHealth(Model):
    status: Literal["ok", "unhealthy"]
    evolution: dict[str, Any] | None = None
    numbers: dict[str, Any] | None = None


class ChatOut(Model):
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


class ReactionOut(Model):
    reactor: str = Field(description="`me` for our own reaction, else the reacting contact's chat id")
    emoji: str
    at: datetime


class ConversationMessageOut(MessageOut):
    reactions: list[ReactionOut]
    edited_at: datetime | None
    previous_bodies: list[str | None] = Field(description="the texts an edit replaced, oldest first")
    deleted: bool = Field(description="deleted for everyone; its content is shown only with ?include_deleted=true")
    deleted_at: datetime | None


class ReadOut(Model):
    chat: ChatOut
    receipt: Literal["sent", "failed", "not_needed"] = Field(
        description="the provider's read receipt; the chat is read here whatever it says")
    error: ErrorDetail | None = None


class ProviderCapabilities(Model):
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


class ProviderOut(Model):
    name: Literal["green-api", "evolution"]
    label: str
    default: bool
    available: bool = Field(description="this user may add a number on it (rollout and configuration)")
    capabilities: ProviderCapabilities


class ProviderList(Model):
    items: list[ProviderOut]


class HistoryImportOut(Model):
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


class HistoryImportList(Model):
    items: list[HistoryImportOut]

"""The provider contract: what the product needs from a WhatsApp provider, and the shared types.

Every provider implements `Provider`. A capability a provider lacks keeps the default, which
raises `NotSupported` (mapped to 422 at the HTTP boundary), so callers never branch on names.
Methods address an instance through `NumberRef`, built from our `numbers` row and its secrets.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from lib import log
from lib.errors import InstanceNotFound, NotSupported, NumberDisconnected
from lib.events import Event, NumberStatus

MediaKind = Literal["image", "video", "audio", "voice", "document"]  # voice: sent as a voice note (ptt)


@dataclass(frozen=True)
class NumberRef:
    """How a provider addresses one number's instance. `api_token` is a secret: never log it."""

    number_id: str
    provider: str
    provider_instance_id: str | None
    instance_data: Mapping[str, Any] = field(default_factory=dict)
    api_token: str | None = field(default=None, repr=False)
    webhook_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_row(cls, row: Mapping[str, Any], provider: str | None = None) -> NumberRef:
        """From a `numbers` row with its secrets, as the SQL functions return it. The token is registered
        for redaction before anything can log it; `managed_instance` travels in `instance_data`."""
        log.register_secret(row.get("api_token"))
        data = dict(row.get("instance_data") or {})
        if "managed_instance" in row:
            data["managed"] = bool(row["managed_instance"])
        return cls(str(row["id"]), provider or row["provider"], row.get("provider_instance_id"), data,
                   row.get("api_token"), row.get("webhook_token"))


@dataclass(frozen=True)
class QrCode:
    """A QR to scan (PNG data URL) and/or a pairing code to type, valid until `expires_at`."""

    expires_at: datetime
    data_url: str | None = None
    pairing_code: str | None = None


@dataclass(frozen=True)
class ConnectionState:
    """Our normalized status, with the provider's own word and reason code kept beside it."""

    status: NumberStatus
    raw_state: str
    reason_code: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class InstanceInfo:
    """What `create_instance` made: the routing id, non-secret data and the secrets to store."""

    provider_instance_id: str
    instance_data: Mapping[str, Any]
    managed: bool  # we created it, so we delete it on teardown
    api_token: str | None = field(default=None, repr=False)
    webhook_token: str | None = field(default=None, repr=False)
    qr: QrCode | None = None
    state: ConnectionState | None = None


@dataclass(frozen=True)
class InstanceSummary:
    provider_instance_id: str
    state: ConnectionState | None
    name: str | None = None
    number_id: str | None = None  # the number it was created for, when we created it (its name says)


@dataclass(frozen=True)
class PresetSecrets:
    """Secrets we choose (or are given) before the provider is called, stored with the number first
    so that events the provider sends during creation are recognised."""

    api_token: str | None = field(default=None, repr=False)
    webhook_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SentMessage:
    provider_message_id: str
    status: Literal["pending", "sent"]
    timestamp: datetime | None = None


@dataclass(frozen=True)
class MediaSpec:
    kind: MediaKind
    url: str
    caption: str | None = None
    file_name: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True)
class CreateRequest:
    """What the product knows when it asks for a new instance."""

    number_id: str
    label: str = ""
    phone: str | None = None
    # GREEN-API legacy flow: the user's own instance (idInstance, apiTokenInstance, apiUrl, mediaUrl).
    credentials: Mapping[str, Any] | None = field(default=None, repr=False)
    api_token: str | None = field(default=None, repr=False)  # the token we chose (PresetSecrets)


@dataclass(frozen=True)
class WebhookIdentity:
    """What authentication established about a webhook before its body was parsed."""

    number_id: str | None = None  # known up front: the credentials name and prove their number
    apikey_required: bool = False  # a credential shared by every number: the body's apikey must match


class Provider(ABC):
    name: ClassVar[str]

    # -- lifecycle ---------------------------------------------------------------------------
    def check_create(self, req: CreateRequest) -> None:
        """Refuse, before anything is written, a create this provider cannot carry out here."""
        return None

    def preset_secrets(self, req: CreateRequest) -> PresetSecrets:
        """The secrets known before the provider is called (stored with the number first)."""
        return PresetSecrets()

    @abstractmethod
    def create_instance(self, req: CreateRequest) -> InstanceInfo:
        """Create (or, for a retried request, find) the instance for our number; idempotent."""

    def planned_instance_id(self, number_id: str) -> str | None:
        """The instance id `create_instance` will use, when known up front: stored before the
        provider is called, so webhooks the provider sends during creation find their number."""
        return None

    @abstractmethod
    def connect(self, ref: NumberRef, phone: str | None = None) -> QrCode | ConnectionState:
        """A QR (and pairing code when `phone` is given and supported), or the state if connected."""

    @abstractmethod
    def connection_state(self, ref: NumberRef) -> ConnectionState: ...

    def restart(self, ref: NumberRef) -> None:
        raise NotSupported(f"{self.name} cannot restart an instance", provider=self.name)

    @abstractmethod
    def logout(self, ref: NumberRef) -> None:
        """Unlink the phone; the instance stays and can show a new QR. Idempotent."""

    def delete(self, ref: NumberRef) -> None:
        raise NotSupported(f"{self.name} cannot delete instances here", provider=self.name)

    def teardown(self, ref: NumberRef) -> None:
        """Everything the provider needs when its number is deleted: log out, and delete the
        instance when we created it. Steps already done (or impossible) are skipped; an
        unreachable provider raises."""
        self._skip_done(self.logout, ref)
        if ref.instance_data.get("managed"):
            self._skip_done(self.delete, ref)

    @staticmethod
    def _skip_done(step, ref: NumberRef) -> None:
        try:
            step(ref)
        except (InstanceNotFound, NumberDisconnected, NotSupported):
            pass

    def list_instances(self) -> list[InstanceSummary]:
        raise NotSupported(f"{self.name} cannot list instances", provider=self.name)

    def configure_webhook(self, ref: NumberRef) -> None:
        """Point the instance's webhook at us again (after a secret rotation or a migration)."""
        raise NotSupported(f"{self.name} cannot configure webhooks", provider=self.name)

    def server_info(self) -> dict[str, Any]:
        """What the provider's server says about itself (version), for health checks."""
        raise NotSupported(f"{self.name} has no server of ours to describe", provider=self.name)

    # -- messages ------------------------------------------------------------------------------
    @abstractmethod
    def send_text(self, ref: NumberRef, to: str, text: str, quoted_id: str | None = None) -> SentMessage:
        """Send once. Never repeated after the request may have reached the provider."""

    def send_media(self, ref: NumberRef, to: str, media: MediaSpec, quoted_id: str | None = None) -> SentMessage:
        raise NotSupported(f"{self.name} cannot send media", provider=self.name)

    # -- webhooks ------------------------------------------------------------------------------
    @abstractmethod
    def verify_webhook(self, headers: Mapping[str, str], body: bytes, path_id: str | None = None) -> WebhookIdentity:
        """Authenticate raw bytes before parsing (`path_id`: the number id in the webhook URL, when
        the route has one); raise WebhookAuthError with a reason."""

    @abstractmethod
    def normalize_webhook(self, payload: Mapping[str, Any]) -> list[Event]:
        """Pure: one provider payload → internal events (unknown kinds → IgnoredEvent)."""

    @abstractmethod
    def webhook_instance(self, payload: Mapping[str, Any]) -> str | None:
        """The provider instance id a parsed webhook claims to come from."""

    # -- media -----------------------------------------------------------------------------------
    def fetch_media(self, ref: NumberRef, message: MediaMessage) -> MediaBytes:
        """The bytes of a media message the provider delivered (lib/media persists them)."""
        raise NotSupported(f"{self.name} cannot fetch media", provider=self.name)

    # -- conversations (lib/conversations.py) ------------------------------------------------------
    # A message is addressed by the canonical chat id (`<digits>@c.us`, `<id>@g.us`), its provider
    # id and whether we sent it; `author` is the sender in a group (canonical), when known.
    def check_whatsapp(self, ref: NumberRef, phone: str) -> str | None:
        """The canonical chat id of `phone` (digits) when it has WhatsApp, else None."""
        raise NotSupported(f"{self.name} cannot check numbers", provider=self.name)

    def mark_read(self, ref: NumberRef, chat_id: str, unread: list[tuple[str, str | None]]) -> None:
        """Send the read receipt for a chat; `unread` is (provider message id, author) newest first."""
        raise NotSupported(f"{self.name} cannot send read receipts", provider=self.name)

    def send_reaction(self, ref: NumberRef, chat_id: str, message_id: str, from_me: bool, author: str | None,
                      emoji: str) -> None:
        """React to a message; an empty `emoji` removes our reaction."""
        raise NotSupported(f"{self.name} cannot send reactions", provider=self.name)

    def edit_message(self, ref: NumberRef, chat_id: str, message_id: str, text: str) -> None:
        """Replace the text of a message we sent."""
        raise NotSupported(f"{self.name} cannot edit messages", provider=self.name)

    def delete_message(self, ref: NumberRef, chat_id: str, message_id: str, from_me: bool,
                       author: str | None) -> None:
        """Delete a message for everyone."""
        raise NotSupported(f"{self.name} cannot delete messages", provider=self.name)

    def avatar_url(self, ref: NumberRef, chat_id: str) -> str | None:
        """The chat's profile picture URL (a person or a group); None when unset or hidden by privacy."""
        raise NotSupported(f"{self.name} cannot fetch avatars", provider=self.name)

    def group_info(self, ref: NumberRef, group_id: str) -> dict[str, Any]:
        """A group's `subject` and `participants` ([{"id": canonical chat id, "admin": bool}])."""
        raise NotSupported(f"{self.name} cannot describe groups", provider=self.name)

    def history_page(self, ref: NumberRef, since: datetime, until: datetime,
                     cursor: dict[str, Any] | None) -> tuple[list[Event], dict[str, Any] | None]:
        """One page of the messages the provider holds from `since` to `until`, as the same events its
        webhooks become, and the cursor of the next page (None after the last)."""
        raise NotSupported(f"{self.name} cannot import history", provider=self.name)

    def capabilities(self) -> dict[str, Any]:
        """What this provider can do here, for the product's provider selector (GET /api/v1/providers):
        a capability is a contract method the provider implements; the rest each provider adds."""
        cls = type(self)

        def has(method: str) -> bool:
            return getattr(cls, method) is not getattr(Provider, method)

        return {"configured": True, "pairing_code": False, "instances": "created", "media": [],
                "start_chat": has("check_whatsapp"), "read_receipts": has("mark_read"),
                "reactions": has("send_reaction"), "edits": has("edit_message"), "deletes": has("delete_message"),
                "restart": has("restart"), "avatars": has("avatar_url"), "groups": has("group_info"),
                "history": has("history_page")}


@dataclass(frozen=True)
class MediaMessage:
    """A stored media message, as `fetch_media` needs it. `url` is what the webhook carried, if any."""

    provider_message_id: str
    chat_id: str
    type: str
    url: str | None = None
    mime_type: str | None = None
    file_name: str | None = None
    max_bytes: int = 100_000_000
    provider_marker: str | None = None  # GREEN-API's `{{SWE00x}}` instead of a link


@dataclass(frozen=True)
class MediaBytes:
    data: bytes = field(repr=False)
    mime_type: str | None = None
    file_name: str | None = None

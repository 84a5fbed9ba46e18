"""The contract methods a provider keeps in modules of its own package, `<package>.chats` (the
conversation calls) and `<package>.media` (fetching inbound media), each a function taking the
provider first. Imported on first use: a webhook function never loads them. A provider mixes this in
before `Provider` and names its package; a module that lacks a function would be a bug of ours, which
the conformance tests catch for both providers."""

from __future__ import annotations

import importlib
from datetime import datetime
from types import ModuleType
from typing import Any

from lib.events import Event
from lib.providers.base import MediaBytes, MediaMessage, NumberRef


class InPackage:
    package: str  # e.g. "lib.providers.evolution"

    def _part(self, name: str) -> ModuleType:
        return importlib.import_module(f"{self.package}.{name}")

    def fetch_media(self, ref: NumberRef, message: MediaMessage) -> MediaBytes:
        return self._part("media").fetch(self, ref, message)

    def check_whatsapp(self, ref: NumberRef, phone: str) -> str | None:
        return self._part("chats").check_whatsapp(self, ref, phone)

    def mark_read(self, ref: NumberRef, chat_id: str, unread: list[tuple[str, str | None]]) -> None:
        self._part("chats").mark_read(self, ref, chat_id, unread)

    def send_reaction(self, ref: NumberRef, chat_id: str, message_id: str, from_me: bool, author: str | None,
                      emoji: str) -> None:
        self._part("chats").send_reaction(self, ref, chat_id, message_id, from_me, author, emoji)

    def edit_message(self, ref: NumberRef, chat_id: str, message_id: str, text: str) -> None:
        self._part("chats").edit_message(self, ref, chat_id, message_id, text)

    def delete_message(self, ref: NumberRef, chat_id: str, message_id: str, from_me: bool,
                       author: str | None) -> None:
        self._part("chats").delete_message(self, ref, chat_id, message_id, from_me, author)

    def avatar_url(self, ref: NumberRef, chat_id: str) -> str | None:
        return self._part("chats").avatar_url(self, ref, chat_id)

    def group_info(self, ref: NumberRef, group_id: str) -> dict[str, Any]:
        return self._part("chats").group_info(self, ref, group_id)

    def history_page(self, ref: NumberRef, since: datetime, until: datetime,
                     cursor: dict[str, Any] | None) -> tuple[list[Event], dict[str, Any] | None]:
        return self._part("chats").history_page(self, ref, since, until, cursor)

"""A connected number on either simulator, and the contact's phone on the other end: what the
conversation tests over HTTP share."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

CONTACT = "5511999990002"


@dataclass
class Line:
    provider: str
    sim: Any
    number: str
    instance: str
    api: Any
    user: Any
    sql: Any

    # -- the contact's phone ----------------------------------------------------------------------------
    @property
    def contact_jid(self) -> str:
        return f"{CONTACT}@s.whatsapp.net" if self.provider == "evolution" else f"{CONTACT}@c.us"

    def says(self, text: str) -> str:
        mid = self.sim.inject_message(self.instance, self.contact_jid, text)
        self.sim.wait_idle()
        return mid

    def reacts(self, target: str, emoji: str) -> None:
        self.sim.inject_reaction(self.instance, self.contact_jid, target, emoji)
        self.sim.wait_idle()

    def edits(self, target: str, text: str) -> None:
        self.sim.inject_edit(self.instance, self.contact_jid, target, text)
        self.sim.wait_idle()

    def deletes(self, target: str) -> None:
        if self.provider == "evolution":
            self.sim.inject_revoke(self.instance, self.contact_jid, target)
        else:
            self.sim.inject_delete(self.instance, self.contact_jid, target)
        self.sim.wait_idle()

    # -- our side -----------------------------------------------------------------------------------------
    def chat_id(self, wa_chat_id: str = f"{CONTACT}@c.us") -> str | None:
        row = self.sql.execute("select id::text from public.chats where number_id = %s and wa_chat_id = %s",
                               (self.number, wa_chat_id)).fetchone()
        return row[0] if row else None

    def message_id(self, provider_message_id: str) -> str:
        return self.sql.execute("select id::text from public.messages where number_id = %s and provider_message_id = %s",
                                (self.number, provider_message_id)).fetchone()[0]

    def send(self, chat_id: str, text: str) -> dict[str, Any]:
        r = self.api.post(f"/api/v1/chats/{chat_id}/send", json={"text": text},
                          headers={**self.user.headers, "Idempotency-Key": str(uuid.uuid4())})
        assert r.status_code == 201, r.text
        self.sim.wait_idle()
        return r.json()

    def message(self, message_id: str, include_deleted: bool = False) -> dict[str, Any]:
        r = self.api.get(f"/api/v1/messages/{message_id}", headers=self.user.headers,
                         params={"include_deleted": "true"} if include_deleted else None)
        assert r.status_code == 200, r.text
        return r.json()

    def chat(self, chat_id: str) -> dict[str, Any]:
        row = self.sql.execute("select unread_count, last_read_at, last_message_preview from public.chats "
                               "where id = %s", (chat_id,)).fetchone()
        return {"unread_count": row[0], "last_read_at": row[1], "last_message_preview": row[2]}


def connect(provider: str, api, sims, user, sql) -> Line:
    number = api.post("/api/v1/numbers", json={"provider": provider}, headers=user.headers).json()
    instance = sql.execute("select provider_instance_id from public.numbers where id = %s",
                           (number["id"],)).fetchone()[0]
    sim = sims[provider]
    sim.scan(instance)
    sim.wait_idle()
    sql.execute("update public.numbers set status = 'active' where id = %s", (number["id"],))
    return Line(provider, sim, number["id"], instance, api, user, sql)

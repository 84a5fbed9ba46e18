"""Edits, deletes and reactions from both providers' payloads to exact events (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lib.events import MessageDeleteEvent, MessageEditEvent
from lib.providers.evolution.normalize import normalize as evolution
from lib.providers.greenapi.normalize import normalize as greenapi

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
KEY = {"remoteJid": "5511999990002@s.whatsapp.net", "fromMe": False, "id": "3A01"}


def evo(event, data):
    return evolution({"event": event, "instance": "inbox-x", "data": data}, now=NOW)


@pytest.mark.parametrize("kind", ["MESSAGE_EDIT", 14])
def test_evolution_edit_from_messages_edited(kind):
    events = evo("messages.edited", {"key": KEY, "type": kind, "timestampMs": {"low": 1764158400000 & 0xFFFFFFFF,
                                                                              "high": 1764158400000 >> 32},
                                     "editedMessage": {"extendedTextMessage": {"text": "new text"}}})
    assert events == [MessageEditEvent("3A01", "new text", datetime(2025, 11, 26, 12, 0, tzinfo=UTC),
                                       chat_id="5511999990002@c.us")]


@pytest.mark.parametrize("kind", ["REVOKE", 0])
def test_evolution_revoke_from_messages_edited(kind):
    assert evo("messages.edited", {"key": KEY, "type": kind}) == [
        MessageDeleteEvent("3A01", NOW, chat_id="5511999990002@c.us")]


def test_evolution_messages_delete_raw_key_and_stored_row_shapes():
    raw = evo("messages.delete", KEY)
    stored = evo("messages.delete", {"id": "cmrow", "key": {**KEY, "deleted": True}, "status": "DELETED"})
    assert raw == stored == [MessageDeleteEvent("3A01", NOW, chat_id="5511999990002@c.us")]


def test_evolution_protocol_message_in_an_upsert_is_never_a_message():
    events = evo("messages.upsert", {"key": {**KEY, "id": "3A02"}, "messageType": "protocolMessage",
                                     "message": {"protocolMessage": {"key": KEY, "type": "REVOKE"}},
                                     "messageTimestamp": 1764158400})
    assert events == [MessageDeleteEvent("3A01", NOW, chat_id="5511999990002@c.us")]


def test_evolution_reaction_names_its_target():
    (event,) = evo("messages.upsert", {"key": {**KEY, "id": "3A03"}, "messageType": "reactionMessage",
                                       "message": {"reactionMessage": {"key": {**KEY, "fromMe": True, "id": "OURS"},
                                                                       "text": "👍"}},
                                       "messageTimestamp": 1764158400})
    assert event.type == "reaction" and event.extra == {"target_id": "OURS", "emoji": "👍", "removed": False}


def green(message_data, kind="incomingMessageReceived"):
    return greenapi({"typeWebhook": kind, "instanceData": {"idInstance": 7103000001}, "timestamp": 1764158400,
                     "idMessage": "BAE5NEW", "senderData": {"chatId": "79001234568@c.us", "sender": "79001234568@c.us"},
                     "messageData": message_data})


@pytest.mark.parametrize("kind", ["incomingMessageReceived", "outgoingMessageReceived", "outgoingAPIMessageReceived"])
def test_greenapi_edited_and_deleted_messages(kind):
    at = datetime.fromtimestamp(1764158400, UTC)
    assert green({"typeMessage": "editedMessage", "editedMessageData": {"textMessage": "v2", "stanzaId": "BAE5OLD"}},
                 kind) == [MessageEditEvent("BAE5OLD", "v2", at, chat_id="79001234568@c.us")]
    assert green({"typeMessage": "deletedMessage", "deletedMessageData": {"stanzaId": "BAE5OLD"}}, kind) == [
        MessageDeleteEvent("BAE5OLD", at, chat_id="79001234568@c.us")]


def test_greenapi_change_without_its_target_is_malformed():
    with pytest.raises(ValueError):
        green({"typeMessage": "deletedMessage", "deletedMessageData": {}})

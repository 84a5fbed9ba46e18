"""GREEN-API journal records become the events their notifications would have (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from lib.providers.greenapi.chats import _as_notification
from lib.providers.greenapi.normalize import normalize

TS = 1764158400


def test_an_incoming_text_record_is_the_incoming_message_event():
    (event,) = normalize(_as_notification({
        "type": "incoming", "idMessage": "BAE5A", "timestamp": TS, "typeMessage": "textMessage",
        "chatId": "79001234568@c.us", "senderId": "79001234568@c.us", "senderName": "Ivan", "textMessage": "hi"}))
    assert (event.provider_message_id, event.direction, event.chat_id, event.text, event.timestamp) == (
        "BAE5A", "inbound", "79001234568@c.us", "hi", datetime.fromtimestamp(TS, UTC))
    assert event.chat_name == "Ivan"


def test_an_outgoing_api_record_is_ours_and_a_file_keeps_its_link():
    (event,) = normalize(_as_notification({
        "type": "outgoing", "idMessage": "BAE5B", "timestamp": TS, "typeMessage": "documentMessage",
        "chatId": "79001234568@c.us", "sendByApi": True, "downloadUrl": "https://sw-media.example/f.pdf",
        "caption": "invoice", "fileName": "f.pdf", "mimeType": "application/pdf"}))
    assert (event.direction, event.from_me_source, event.type, event.text) == ("outbound", "api", "document",
                                                                              "invoice")
    assert event.media.url == "https://sw-media.example/f.pdf" and event.media.file_name == "f.pdf"


def test_an_outgoing_phone_record_with_a_quote():
    (event,) = normalize(_as_notification({
        "type": "outgoing", "idMessage": "BAE5C", "timestamp": TS, "typeMessage": "extendedTextMessage",
        "chatId": "79001234568@c.us", "textMessage": "see above",
        "extendedTextMessage": {"text": "see above"}, "quotedMessage": {"stanzaId": "BAE5A"}}))
    assert (event.from_me_source, event.text, event.quoted_id) == ("phone", "see above", "BAE5A")

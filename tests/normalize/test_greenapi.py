"""GREEN-API notifications → exact events, one case per kind."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lib.events import ConnectionEvent, IgnoredEvent, Media, MessageEvent, MessageStatusEvent
from lib.providers.greenapi.normalize import normalize

FIX = Path(__file__).parents[1] / "fixtures" / "greenapi" / "webhooks"
IVAN = "79001234568@c.us"
INSTANCE = {"idInstance": 7103123456, "wid": "79001234567@c.us", "typeInstance": "whatsapp"}
TS = 1735732800


def load(name):
    return json.loads((FIX / f"{name}.json").read_text())


def at(seconds):
    return datetime.fromtimestamp(seconds, UTC)


def msg(mid, ts, text=None, **kw):
    base = dict(provider_message_id=mid, direction="inbound", chat_id=IVAN, type="text", timestamp=at(ts), text=text,
                chat_name="Ivan Petrov")
    return MessageEvent(**{**base, **kw})


def incoming(message_data, chat=IVAN, sender=None, kind="incomingMessageReceived"):
    return {"typeWebhook": kind, "instanceData": INSTANCE, "timestamp": TS, "idMessage": "M1",
            "senderData": {"chatId": chat, "chatName": "Ivan Petrov", "sender": sender or chat, "senderName": "Ivan"},
            "messageData": message_data}


def status(word, description=None):
    body = {"typeWebhook": "outgoingMessageStatus", "chatId": IVAN, "instanceData": INSTANCE, "timestamp": TS,
            "idMessage": "OUT1", "status": word, "sendByApi": True}
    if description:
        body["description"] = description
    return body


def state(word):
    return {"typeWebhook": "stateInstanceChanged", "instanceData": {**INSTANCE, "wid": ""}, "timestamp": TS,
            "stateInstance": word}


def file(kind, mime, url="https://sw-media.example/f", name="f.bin", caption=""):
    return {"typeMessage": kind, "fileMessageData": {"downloadUrl": url, "caption": caption, "fileName": name,
                                                     "jpegThumbnail": "/9j/4AAQSkZJRg==", "mimeType": mime}}


def doc(name):
    return load(name)["messageData"]["fileMessageData"]


CASES = {
    "text": (load("incoming-text"), [msg("F7AEC1B7086ECDC7E6E45923F5EDB825", 1735732800,
                                         "Hola, quiero reservar una mesa para 4 personas")]),
    "extended text": (load("incoming-extended-text"), [msg(
        "3EB0A1B2C3D4E5F60718", 1735732860, "Mira el menu: https://example.com/menu",
        extra={"title": "Restaurante Ejemplo - Menu", "description": "Menu de temporada"})]),
    "image": (load("incoming-image"), [msg("3A1F6E0B2C9D4E7F8A10", 1735732920, "Este es el comprobante", type="image",
                                           media=Media(doc("incoming-image")["downloadUrl"], "image/jpeg",
                                                       doc("incoming-image")["fileName"]))]),
    "document": (load("incoming-document"), [msg("3EB0D00923D87A3FA01BAE", 1735732980, None, type="document",
                                                 media=Media(doc("incoming-document")["downloadUrl"],
                                                             "application/pdf", "factura_0042.pdf"))]),
    "voice note": (load("incoming-audio"), [msg("2A7B1C9D3E5F60718293", 1735733040, None, type="voice",
                                                media=Media(doc("incoming-audio")["downloadUrl"],
                                                            "audio/ogg; codecs=opus", doc("incoming-audio")["fileName"]))]),
    "mp3 audio": (incoming(file("audioMessage", "audio/mpeg", name="a.mp3")),
                  [msg("M1", TS, type="audio", media=Media("https://sw-media.example/f", "audio/mpeg", "a.mp3"))]),
    "video": (incoming(file("videoMessage", "video/mp4", name="v.mp4", caption="see")),
              [msg("M1", TS, "see", type="video", media=Media("https://sw-media.example/f", "video/mp4", "v.mp4"))]),
    "sticker": (incoming(file("stickerMessage", "image/webp", name="s.webp")),
                [msg("M1", TS, type="sticker", media=Media("https://sw-media.example/f", "image/webp", "s.webp"))]),
    "undecryptable file marker": (incoming(file("documentMessage", "application/pdf", url="{{SWE003}}")),
                                  [msg("M1", TS, type="document", media=Media(None, "application/pdf", "f.bin"),
                                       extra={"provider_marker": "{{SWE003}}"})]),
    "location": (incoming({"typeMessage": "locationMessage", "locationMessageData": {
        "nameLocation": "Office", "address": "Main st", "latitude": 55.75, "longitude": 37.61, "jpegThumbnail": "x"}}),
        [msg("M1", TS, "Office", type="location",
             extra={"latitude": 55.75, "longitude": 37.61, "name": "Office", "address": "Main st"})]),
    "contact": (incoming({"typeMessage": "contactMessage", "contactMessageData": {"displayName": "Oleg",
                                                                                  "vcard": "BEGIN:VCARD"}}),
                [msg("M1", TS, "Oleg", type="contact", extra={"contacts": [{"display_name": "Oleg",
                                                                             "vcard": "BEGIN:VCARD"}]})]),
    "contacts array": (incoming({"typeMessage": "contactsArrayMessage", "messageData": {"contacts": [
        {"displayName": "A", "vcard": "V1"}]}}),
        [msg("M1", TS, type="contacts", extra={"contacts": [{"display_name": "A", "vcard": "V1"}]})]),
    "reaction": (incoming({"typeMessage": "reactionMessage", "extendedTextMessageData": {"text": "❤"},
                           "quotedMessage": {"stanzaId": "BAE5X", "participant": IVAN}}),
                 [msg("M1", TS, "❤", type="reaction", extra={"target_id": "BAE5X", "emoji": "❤", "removed": False})]),
    "reply (current form)": (incoming({"typeMessage": "textMessage", "textMessageData": {"textMessage": "yes"},
                                       "quotedMessage": {"stanzaId": "BAE5Q", "participant": IVAN,
                                                         "typeMessage": "textMessage", "textMessage": "ok?"}}),
                             [msg("M1", TS, "yes", quoted_id="BAE5Q")]),
    "reply (deprecated quotedMessage type)": (incoming({"typeMessage": "quotedMessage", "extendedTextMessageData": {
        "text": "yes", "stanzaId": "BAE5Q", "participant": IVAN}}), [msg("M1", TS, "yes", quoted_id="BAE5Q")]),
    "group": (incoming({"typeMessage": "textMessage", "textMessageData": {"textMessage": "hi all"}},
                       chat="120363043968066561@g.us", sender="79001234569@c.us"),
              [msg("M1", TS, "hi all", chat_id="120363043968066561@g.us", chat_name=None, is_group=True,
                   author="79001234569@c.us", author_name="Ivan")]),
    "lid sender": (incoming({"typeMessage": "textMessage", "textMessageData": {"textMessage": "x"}},
                            chat="187432569012345@lid"), [msg("M1", TS, "x", chat_id="187432569012345@lid")]),
    "typed on the phone": (load("outgoing-message-received"), [msg(
        "3EB0C767D097B7C7C030", 1735733400, "Le escribo desde el telefono del local", direction="outbound",
        chat_name=None, from_me_source="phone")]),
    "sent through the API": (load("outgoing-api-message-received"), [msg(
        "BAE5F4886F6F2D05", 1735733460, "Su reserva esta confirmada para las 21:00", direction="outbound",
        chat_name=None, from_me_source="api")]),
    "status sent": (load("outgoing-message-status-sent"),
                    [MessageStatusEvent("BAE5F4886F6F2D05", "sent", at(1735733461), chat_id=IVAN)]),
    "status delivered": (load("outgoing-message-status-delivered"),
                         [MessageStatusEvent("BAE5F4886F6F2D05", "delivered", at(1735733463), chat_id=IVAN)]),
    "status read": (status("read"), [MessageStatusEvent("OUT1", "read", at(TS), chat_id=IVAN)]),
    "status failed with description": (status("failed", "Error sending"), [MessageStatusEvent(
        "OUT1", "failed", at(TS), reason="failed: Error sending", chat_id=IVAN)]),
    "status noAccount": (status("noAccount"), [MessageStatusEvent("OUT1", "failed", at(TS), reason="noAccount",
                                                                  chat_id=IVAN)]),
    "status notInGroup": (status("notInGroup"), [MessageStatusEvent("OUT1", "failed", at(TS), reason="notInGroup",
                                                                    chat_id=IVAN)]),
    "status yellowCard": (status("yellowCard"), [MessageStatusEvent("OUT1", "failed", at(TS), reason="yellowCard",
                                                                    chat_id=IVAN)]),
    "authorized": (load("state-instance-changed-authorized"), [ConnectionEvent(
        "active", "authorized", at(1735732000), None, None, "79001234567", clock="provider")]),
    "notAuthorized": (state("notAuthorized"), [ConnectionEvent("logged_out", "notAuthorized", at(TS), None,
                                                               "the phone is not linked; scan a QR code", clock="provider")]),
    "blocked": (state("blocked"), [ConnectionEvent("blocked", "blocked", at(TS), None,
                                                   "the account is blocked by WhatsApp", clock="provider")]),
    "starting": (state("starting"), [ConnectionEvent("connecting", "starting", at(TS), None,
                                                     "the instance is starting", clock="provider")]),
    "sleepMode": (state("sleepMode"), [ConnectionEvent("disconnected", "sleepMode", at(TS), None,
                                                       "the phone is offline", clock="provider")]),
    "incoming call": ({"typeWebhook": "incomingCall", "instanceData": INSTANCE, "timestamp": TS, "from": IVAN,
                       "status": "offer", "idMessage": "C1"}, [IgnoredEvent("incomingCall", "not consumed")]),
    "quota exceeded": ({"typeWebhook": "quotaExceeded", "instanceData": INSTANCE, "timestamp": TS, "quotaData": {}},
                       [IgnoredEvent("quotaExceeded", "not consumed")]),
    "unknown": ({"typeWebhook": "somethingNew", "instanceData": INSTANCE}, [IgnoredEvent("somethingNew",
                                                                                       "unsupported event")]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_kind_normalizes_exactly(case):
    payload, expected = CASES[case]
    assert normalize(payload) == expected


def test_thumbnails_never_reach_an_event():
    assert "/9j/4AAQ" not in repr(normalize(incoming(file("imageMessage", "image/jpeg"))))


@pytest.mark.parametrize("payload", [[], {"instanceData": INSTANCE}, {"typeWebhook": "incomingMessageReceived"},
                                     incoming({"typeMessage": "textMessage"}) | {"idMessage": None},
                                     {"typeWebhook": "outgoingMessageStatus", "idMessage": "x"},
                                     {"typeWebhook": "stateInstanceChanged"}])
def test_malformed_payloads_raise_value_error(payload):
    with pytest.raises(ValueError):
        normalize(payload)

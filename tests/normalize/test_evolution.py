"""Evolution payloads → exact events, one case per kind; then one thing flipped at a time."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lib.events import ConnectionEvent, IgnoredEvent, Media, MessageEvent, MessageStatusEvent, QrEvent
from lib.providers.evolution.normalize import normalize
from lib.providers.evolution.wire import to_int

FIX = Path(__file__).parents[1] / "fixtures" / "evolution" / "webhooks"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MARIA = "5511999990002@c.us"
LID = "187432569012345@lid"


def load(name):
    return json.loads((FIX / f"{name}.json").read_text())


def at(seconds):
    return datetime.fromtimestamp(seconds, UTC)


def msg(mid, ts, text=None, **kw):
    base = dict(provider_message_id=mid, direction="inbound", chat_id=MARIA, type="text", timestamp=at(ts), text=text,
                chat_name="Maria Souza")
    return MessageEvent(**{**base, **kw})


def envelope(event, data):
    return {"event": event, "instance": "acme-support", "data": data, "date_time": "2025-10-21T11:30:05.123Z",
            "sender": "5511999990001@s.whatsapp.net", "apikey": "X"}


def upsert(message, message_type, key=None, **data):
    return envelope("messages.upsert", {
        "key": key or {"remoteJid": "5511999990002@s.whatsapp.net", "fromMe": False, "id": "M1"},
        "pushName": "Maria Souza", "status": "DELIVERY_ACK", "message": message, "messageType": message_type,
        "messageTimestamp": 1761057005, "instanceId": "i", "source": "android", **data})


QR = load("qrcode-updated")["data"]["qrcode"]["base64"]
CASES = {
    "text with lid sender": (load("messages-upsert-text"), [msg(
        "A3F1C9D2B7E84F6A0B1C2D3E4F5A6B7C", 1761057005, "Oi! Vocês abrem no sábado?", chat_lid=LID)]),
    "reply with link (extended text)": (load("messages-upsert-extended-text"), [msg(
        "3A7D2E9F1B4C6A8E0D13", 1761057065, "Perfeito, pode reservar para as 10h https://maps.app.goo.gl/xyz",
        quoted_id="3EB0C7A1F29D4E8B6A5C31")]),
    "image with S3 url": (load("messages-upsert-image"), [msg(
        "5E8B2C7D1A9F4E3B6C0D8A2F7E1B4C9D", 1761057121, "Comprovante do Pix", type="image", chat_lid=LID,
        media=Media(load("messages-upsert-image")["data"]["message"]["mediaUrl"], "image/jpeg", None))]),
    "voice note": (load("messages-upsert-audio"), [msg(
        "B4C7E1D9A2F8361E5C0B7D4A9E2F6C13", 1761057245, None, type="voice", chat_lid=LID,
        media=Media(None, "audio/ogg; codecs=opus", None), extra={"seconds": 7})]),
    "document": (load("messages-upsert-document"), [msg(
        "C9D2E4F6A8B0C1D3E5F7A9B1C3D5E7F9", 1761057305, "Segue a proposta assinada", type="document",
        media=Media(None, "application/pdf", "Proposta-Comercial.pdf"))]),
    "typed on the phone": (load("messages-upsert-fromme"), [msg(
        "7A9B1C3D5E7F9A1B3C5D7E9F1A3B5C7D", 1761057605, "Olá Maria, já confirmamos sua reserva.",
        direction="outbound", chat_name=None, from_me_source="phone")]),
    "sent through the API": (load("send-message"), [msg(
        "3EB0C7A1F29D4E8B6A5C31", 1761057035, "Temos horário às 10h ou às 15h. Qual prefere?",
        direction="outbound", chat_name=None, from_me_source="api")]),
    "video": (upsert({"videoMessage": {"mimetype": "video/mp4", "seconds": {"low": 12, "high": 0, "unsigned": True},
                                       "caption": "olha", "jpegThumbnail": {"0": 1, "1": 2}}}, "videoMessage"),
              [msg("M1", 1761057005, "olha", type="video", media=Media(None, "video/mp4", None), extra={"seconds": 12})]),
    "sticker": (upsert({"stickerMessage": {"mimetype": "image/webp", "isAnimated": False}}, "stickerMessage"),
                [msg("M1", 1761057005, type="sticker", media=Media(None, "image/webp", None))]),
    "location": (upsert({"locationMessage": {"degreesLatitude": -23.55, "degreesLongitude": -46.63, "name": "Loja",
                                             "address": "Av. Paulista"}}, "locationMessage"),
                 [msg("M1", 1761057005, "Loja", type="location",
                      extra={"latitude": -23.55, "longitude": -46.63, "name": "Loja", "address": "Av. Paulista"})]),
    "contact": (upsert({"contactMessage": {"displayName": "João", "vcard": "BEGIN:VCARD\nEND:VCARD"}},
                       "contactMessage"),
                [msg("M1", 1761057005, "João", type="contact",
                     extra={"contacts": [{"display_name": "João", "vcard": "BEGIN:VCARD\nEND:VCARD"}]})]),
    "contacts": (upsert({"contactsArrayMessage": {"displayName": "2 contatos", "contacts": [
        {"displayName": "A", "vcard": "V1"}, {"displayName": "B", "vcard": "V2"}]}}, "contactsArrayMessage"),
        [msg("M1", 1761057005, "2 contatos", type="contacts", extra={"contacts": [
            {"display_name": "A", "vcard": "V1"}, {"display_name": "B", "vcard": "V2"}]})]),
    "reaction": (upsert({"reactionMessage": {"key": {"remoteJid": "x", "fromMe": True, "id": "3EB0T"}, "text": "👍",
                                             "senderTimestampMs": {"low": 1, "high": 0}}}, "reactionMessage"),
                 [msg("M1", 1761057005, "👍", type="reaction", extra={"target_id": "3EB0T", "emoji": "👍",
                                                                      "removed": False})]),
    "group message with author": (upsert({"conversation": "oi grupo"}, "conversation", key={
        "remoteJid": "120363043968066561@g.us", "fromMe": False, "id": "G1", "participant": "99887766@lid",
        "participantAlt": "5511999990003@s.whatsapp.net", "addressingMode": "lid"}),
        [msg("G1", 1761057005, "oi grupo", chat_id="120363043968066561@g.us", chat_name=None, is_group=True,
             author="5511999990003@c.us", author_name="Maria Souza")]),
    "ephemeral wrapper": (upsert({"ephemeralMessage": {"message": {"conversation": "some"}}}, "ephemeralMessage"),
                          [msg("M1", 1761057005, "some")]),
    "poll": (upsert({"pollCreationMessageV3": {"name": "Dia?", "options": [{"optionName": "sáb"}]}},
                    "pollCreationMessageV3"),
             [msg("M1", 1761057005, "Dia?", type="poll", extra={"options": ["sáb"]})]),
    "delivered ack": (load("messages-update-status-delivered"),
                      [MessageStatusEvent("3EB0C7A1F29D4E8B6A5C31", "delivered", NOW, chat_id=MARIA)]),
    "read ack": (envelope("messages.update", {"keyId": "K", "remoteJid": "5511999990002:16@s.whatsapp.net",
                                              "fromMe": True, "status": "READ"}),
                 [MessageStatusEvent("K", "read", NOW, chat_id=MARIA)]),
    "error ack": (envelope("messages.update", {"keyId": "K", "remoteJid": LID, "fromMe": True, "status": "ERROR"}),
                  [MessageStatusEvent("K", "failed", NOW, reason="WhatsApp reported an error delivering it",
                                      chat_id=LID)]),
    "open": (load("connection-update-open"), [ConnectionEvent("active", "open", NOW, 200, None, "5511999990001",
                                                              "Acme Suporte")]),
    "connecting": (load("connection-update-connecting"), [ConnectionEvent("connecting", "connecting", NOW, 200)]),
    "close logged out": (load("connection-update-close-loggedout"), [ConnectionEvent(
        "logged_out", "close", NOW, 401, "logged out from the phone")]),
    "close banned": (envelope("connection.update", {"instance": "a", "state": "close", "statusReason": 403}),
                     [ConnectionEvent("blocked", "close", NOW, 403,
                                      "forbidden by WhatsApp (account locked or main device gone)")]),
    "refused at the QR limit": (envelope("connection.update", {"instance": "a", "state": "refused",
                                                               "statusReason": 428}),
                                [ConnectionEvent("disconnected", "refused", NOW, 428,
                                                 "QR code limit reached; request a new QR")]),
    "qr": (load("qrcode-updated"), [QrEvent(NOW, NOW + timedelta(seconds=40), QR, None)]),
    "qr limit message": (envelope("qrcode.updated", {"message": "QR code limit reached, please login again",
                                                     "statusCode": 500}),
                         [IgnoredEvent("qrcode.updated",
                                       "not consumed: QR limit reached (connection.update refused follows)")]),
    "logout.instance": (envelope("logout.instance", None), [ConnectionEvent("logged_out", "logout", NOW,
                                                                            reason="logged out")]),
    "remove.instance": (envelope("remove.instance", None), [ConnectionEvent(
        "disconnected", "removed", NOW, reason="instance removed on the Evolution server")]),
    "presence (known, not consumed)": (envelope("presence.update", {"id": "x"}),
                                       [IgnoredEvent("presence.update", "not consumed")]),
    "unknown event": (envelope("something.new", {}), [IgnoredEvent("something.new", "unsupported event")]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_kind_normalizes_exactly(case):
    payload, expected = CASES[case]
    assert normalize(payload, now=NOW) == expected


def test_legacy_string_encodings_give_the_same_events():
    new = upsert({"videoMessage": {"mimetype": "video/mp4", "seconds": {"low": 12, "high": 0, "unsigned": True}}},
                 "videoMessage")
    old = copy.deepcopy(new)
    old["data"]["message"]["videoMessage"]["seconds"] = "12"
    old["data"]["messageTimestamp"] = "1761057005"
    assert normalize(old, now=NOW) == normalize(new, now=NOW)


def test_a_lid_without_its_phone_stays_a_lid_chat():
    payload = load("messages-upsert-text")
    del payload["data"]["key"]["remoteJidAlt"]
    (event,) = normalize(payload, now=NOW)
    assert (event.chat_id, event.chat_lid) == (LID, None)


def test_device_suffixes_are_stripped():
    payload = upsert({"conversation": "x"}, "conversation",
                     key={"remoteJid": "5511999990002:16@s.whatsapp.net", "fromMe": False, "id": "D1"})
    assert normalize(payload, now=NOW)[0].chat_id == MARIA


def test_no_base64_blob_reaches_an_event():
    payload = load("messages-upsert-image")
    payload["data"]["message"]["base64"] = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo" * 50
    events = normalize(payload, now=NOW)
    assert "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo" not in repr(events)
    assert "jpegThumbnail" not in repr(events)


def test_the_message_time_not_date_time_is_used():
    (event,) = normalize(load("messages-upsert-text"), now=NOW)
    assert event.timestamp == at(1761057005)  # date_time says 11:30Z, three hours off


@pytest.mark.parametrize("payload", [[], "x", {"instance": "a"}, envelope("messages.upsert", None),
                                     envelope("messages.upsert", {"key": {"id": "x"}}),
                                     envelope("messages.update", {"status": "READ"}),
                                     envelope("connection.update", {"statusReason": 401})])
def test_malformed_payloads_raise_value_error(payload):
    with pytest.raises(ValueError):
        normalize(payload, now=NOW)


@pytest.mark.parametrize(("value", "expected"), [
    (5, 5), (5.9, 5), ("1761057005", 1761057005), ("x", None), (None, None), (True, None),
    ({"low": 1761057005, "high": 0, "unsigned": False}, 1761057005),
    ({"low": 0, "high": 1, "unsigned": True}, 1 << 32),
    ({"low": -1, "high": -1, "unsigned": False}, -1),
    ({"low": -1, "high": -1, "unsigned": True}, (1 << 64) - 1),
])
def test_to_int_reads_every_encoding(value, expected):
    assert to_int(value) == expected

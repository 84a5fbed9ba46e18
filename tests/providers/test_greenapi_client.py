"""GREEN-API client: every outbound request pinned exactly; tokens never logged."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest
import respx

from lib import config, errors, log, providers
from lib.providers import provider
from lib.providers.base import CreateRequest, MediaSpec, NumberRef, QrCode
from lib.webhook_auth import greenapi_token
from tests.providers.conftest import GREEN, NUMBER_ID, PARTNER

TOKEN = "d75b3a66374942c5b3c019c698abc2067e151558acbd412345"
REF = NumberRef(NUMBER_ID, "green-api", "7103123456", {"idInstance": "7103123456", "apiUrl": GREEN, "managed": True},
                TOKEN)
BASE = f"{GREEN}/waInstance7103123456"
SETTINGS = {"webhookUrl": "https://inbox.example.com/api/v1/webhooks/greenapi", "incomingWebhook": "yes",
            "outgoingWebhook": "yes", "outgoingMessageWebhook": "yes", "outgoingAPIMessageWebhook": "yes",
            "stateWebhook": "yes", "editedMessageWebhook": "yes", "deletedMessageWebhook": "yes"}


def body(route):
    return json.loads(route.calls.last.request.content)


@pytest.fixture
def partner(monkeypatch):
    monkeypatch.setenv("GREEN_API_PARTNER_TOKEN", "partner-token-0123456789")
    config.reset()
    providers.reset()


@respx.mock
def test_legacy_flow_links_the_users_instance(monkeypatch):
    state = respx.get(f"{BASE}/getStateInstance/{TOKEN}").respond(200, json={"stateInstance": "notAuthorized"})
    settings = respx.post(f"{BASE}/setSettings/{TOKEN}").respond(200, json={"saveSettings": True})
    info = provider("green-api").create_instance(CreateRequest(NUMBER_ID, credentials={
        "idInstance": "7103123456", "apiTokenInstance": TOKEN, "apiUrl": GREEN}))
    assert state.called
    assert body(settings) == {**SETTINGS, "webhookUrlToken": greenapi_token(NUMBER_ID)}
    assert (info.provider_instance_id, info.managed, info.api_token) == ("7103123456", False, TOKEN)
    assert info.state.status == "logged_out" and info.webhook_token == greenapi_token(NUMBER_ID)


@respx.mock
def test_legacy_flow_with_a_wrong_token_is_provider_auth_failed():
    respx.get(f"{BASE}/getStateInstance/{TOKEN}").respond(401, text="Unauthorized")
    with pytest.raises(errors.ProviderAuthError):
        provider("green-api").create_instance(CreateRequest(NUMBER_ID, credentials={
            "idInstance": "7103123456", "apiTokenInstance": TOKEN, "apiUrl": GREEN}))


def test_without_partner_token_or_credentials_the_user_is_told_what_to_send():
    with pytest.raises(errors.InvalidRequest) as info:
        provider("green-api").create_instance(CreateRequest(NUMBER_ID))
    assert info.value.code == "credentials_required"


@respx.mock
def test_partner_create_is_idempotent_by_name(partner):
    listing = respx.get(f"{PARTNER}/partner/getInstances/partner-token-0123456789")
    create = respx.post(f"{PARTNER}/partner/createInstance/partner-token-0123456789").respond(
        200, json={"idInstance": 7103987654, "apiTokenInstance": TOKEN, "typeInstance": "whatsapp"})
    listing.respond(200, json=[])
    info = provider("green-api").create_instance(CreateRequest(NUMBER_ID))
    assert body(create) == {"name": f"inbox-{NUMBER_ID}", **SETTINGS, "webhookUrlToken": greenapi_token(NUMBER_ID)}
    assert (info.provider_instance_id, info.managed) == ("7103987654", True)
    # the answer was lost and the request retried: the instance is found, not created twice
    listing.respond(200, json=[{"idInstance": 7103987654, "name": f"inbox-{NUMBER_ID}", "apiTokenInstance": TOKEN,
                                "deleted": False}])
    settings = respx.post(f"{GREEN}/waInstance7103987654/setSettings/{TOKEN}").respond(200, json={"saveSettings": True})
    again = provider("green-api").create_instance(CreateRequest(NUMBER_ID))
    assert create.call_count == 1 and settings.called
    assert again.provider_instance_id == "7103987654"


@respx.mock
def test_partner_errors_come_as_http_200(partner):
    respx.get(f"{PARTNER}/partner/getInstances/partner-token-0123456789").respond(
        200, json={"code": 401, "description": "Unauthorized"})
    with pytest.raises(errors.ProviderAuthError):
        provider("green-api").create_instance(CreateRequest(NUMBER_ID))


@respx.mock
def test_send_methods_exact_bodies():
    text = respx.post(f"{BASE}/sendMessage/{TOKEN}").respond(200, json={"idMessage": "BAE5F4886F6F2D05"})
    file = respx.post(f"{BASE}/sendFileByUrl/{TOKEN}").respond(200, json={"idMessage": "BAE5F4886F6F2D06"})
    p = provider("green-api")
    assert p.send_text(REF, "5511999990002@s.whatsapp.net", "hi", quoted_id="Q1").provider_message_id == "BAE5F4886F6F2D05"
    assert body(text) == {"chatId": "5511999990002@c.us", "message": "hi", "quotedMessageId": "Q1"}
    p.send_media(REF, "120363043968066561@g.us", MediaSpec("image", "https://cdn.example.com/p/photo", caption="look",
                                                           mime_type="image/png"))
    assert body(file) == {"chatId": "120363043968066561@g.us", "urlFile": "https://cdn.example.com/p/photo",
                          "fileName": "photo.png", "caption": "look"}


@respx.mock
def test_qr_pairing_state_logout_reboot():
    respx.get(f"{BASE}/qr/{TOKEN}").respond(200, json={"type": "qrCode", "message": "iVBORw0KGgo="})
    code = respx.post(f"{BASE}/getAuthorizationCode/{TOKEN}").respond(200, json={"status": True, "code": "GAPI2015"})
    respx.get(f"{BASE}/getStateInstance/{TOKEN}").respond(200, json=None)
    respx.get(f"{BASE}/logout/{TOKEN}").respond(200, json={"isLogout": True})
    reboot = respx.get(f"{BASE}/reboot/{TOKEN}").respond(200, json={"isReboot": True})
    p = provider("green-api")
    qr = p.connect(REF)
    assert isinstance(qr, QrCode) and qr.data_url == "data:image/png;base64,iVBORw0KGgo="
    assert p.connect(REF, phone="+7 900 123-45-67").pairing_code == "GAPI2015"
    assert body(code) == {"phoneNumber": 79001234567}
    assert p.connection_state(REF).status == "pending"  # null while the instance is created
    p.logout(REF)
    p.restart(REF)
    assert reboot.called


@respx.mock
def test_read_timeout_on_send_is_one_request_and_outcome_unknown():
    route = respx.post(f"{BASE}/sendMessage/{TOKEN}").mock(side_effect=httpx.ReadTimeout("no answer"))
    with pytest.raises(errors.OutcomeUnknown):
        provider("green-api").send_text(REF, "79001234568", "hi")
    assert route.call_count == 1


@respx.mock
def test_429_with_retry_after_is_honoured_then_succeeds(monkeypatch):
    from lib import resilience
    waits = []
    monkeypatch.setattr(resilience.time, "sleep", waits.append)
    route = respx.get(f"{BASE}/getStateInstance/{TOKEN}").mock(side_effect=[
        httpx.Response(429, text="Too Many Requests", headers={"Retry-After": "2"}),
        httpx.Response(200, json={"stateInstance": "authorized"})])
    assert provider("green-api").connection_state(REF).status == "active"
    assert route.call_count == 2 and waits == [2.0]


@respx.mock
def test_no_log_line_contains_the_token():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(log._Formatter("{levelname}{name}{message}", style="{"))
    root = logging.getLogger()
    root.addHandler(handler)
    old = root.level
    root.setLevel(logging.DEBUG)
    try:
        respx.post(f"{BASE}/sendMessage/{TOKEN}").mock(side_effect=[httpx.ConnectError(f"refused {BASE}/x/{TOKEN}"),
                                                                    httpx.Response(200, json={"idMessage": "X1"})])
        respx.get(f"{BASE}/getStateInstance/{TOKEN}").respond(401, text=f"bad token {TOKEN}")
        provider("green-api").send_text(REF, "79001234568", "hi")
        with pytest.raises(errors.ProviderAuthError):
            provider("green-api").connection_state(REF)
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
    text = stream.getvalue()
    assert "provider call" in text and TOKEN not in text

"""Evolution client: every outbound request pinned exactly; real response shapes parsed."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

from lib import errors
from lib.providers import provider
from lib.providers.base import CreateRequest, MediaSpec, NumberRef, QrCode
from lib.webhook_auth import evolution_number_key
from tests.providers.conftest import EVO, NUMBER_ID

FIXTURES = Path(__file__).parents[1] / "fixtures" / "evolution"
NAME = f"inbox-{NUMBER_ID}"
REF = NumberRef(NUMBER_ID, "evolution", NAME, {}, "instance-token-abc123")


def payload(name: str):
    return json.loads((FIXTURES / f"{name}.json").read_text())


def sent(route) -> tuple[str, str, dict, object]:
    req = route.calls.last.request
    return req.method, str(req.url), dict(req.headers), json.loads(req.content) if req.content else None


@respx.mock
def test_create_instance_uses_the_global_key_and_configures_our_webhook():
    route = respx.post(f"{EVO}/instance/create").respond(201, json=payload("instance-create-response"))
    info = provider("evolution").create_instance(CreateRequest(NUMBER_ID, phone="+55 11 99999-0001",
                                                               api_token="a-token-we-chose-and-stored-first"))
    method, url, headers, body = sent(route)
    assert (method, url, headers["apikey"]) == ("POST", f"{EVO}/instance/create", "global-key-0123456789")
    # the token we chose (stored with the number before this call), and this number's own webhook key
    assert body.pop("token") == "a-token-we-chose-and-stored-first"
    assert body == {"instanceName": NAME, "integration": "WHATSAPP-BAILEYS", "qrcode": True, "number": "5511999990001",
                    "webhook": {"enabled": True,
                                "url": f"https://inbox.example.com/api/v1/webhooks/evolution/{NUMBER_ID}",
                                "byEvents": False, "base64": False,
                                "headers": {"jwt_key": evolution_number_key("evolution-webhook-secret-0123456789abcdef",
                                                                            NUMBER_ID),
                                            "Content-Type": "application/json"},
                                "events": ["MESSAGES_UPSERT", "MESSAGES_UPDATE", "MESSAGES_EDITED", "MESSAGES_DELETE",
                                           "SEND_MESSAGE", "CONNECTION_UPDATE", "QRCODE_UPDATED", "LOGOUT_INSTANCE",
                                           "REMOVE_INSTANCE"]}}
    assert info.provider_instance_id == NAME and info.managed
    assert info.api_token == "4C8E2A1F-7B3D-4E5A-9F6C-0D1E2B3A4C5D"  # the server's `hash` wins
    assert info.instance_data == {"instanceName": NAME, "instanceId": "9b2f6c1e-4d7a-4e3b-8a5c-2f1d0e9c7b6a",
                                  "integration": "WHATSAPP-BAILEYS"}
    assert info.qr is not None and info.qr.data_url.startswith("data:image/png;base64,")
    assert info.state.status == "connecting"


@respx.mock
def test_a_retried_create_adopts_the_existing_instance():
    respx.post(f"{EVO}/instance/create").respond(
        403, json={"status": 403, "error": "Forbidden", "response": {"message": [f'This name "{NAME}" is already in use.']}})
    rows = payload("fetch-instances-response")
    rows[0]["name"] = NAME
    fetch = respx.get(f"{EVO}/instance/fetchInstances", params={"instanceName": NAME}).respond(200, json=rows)
    hook = respx.post(f"{EVO}/webhook/set/{NAME}").respond(201, json=payload("webhook-set-response"))
    info = provider("evolution").create_instance(CreateRequest(NUMBER_ID))
    assert fetch.calls.last.request.headers["apikey"] == "global-key-0123456789"
    assert hook.calls.last.request.headers["apikey"] == rows[0]["token"]
    assert json.loads(hook.calls.last.request.content)["webhook"]["headers"]["jwt_key"]
    assert info.api_token == rows[0]["token"] and info.state.status == "active"


@respx.mock
def test_instance_routes_use_the_instance_token():
    routes = [respx.get(f"{EVO}/instance/connectionState/{NAME}").respond(200, json=payload("connection-state-response")),
              respx.get(f"{EVO}/instance/connect/{NAME}").respond(200, json=payload("connect-response")),
              respx.post(f"{EVO}/instance/restart/{NAME}").respond(200, json={"instance": {"state": "connecting"}}),
              respx.delete(f"{EVO}/instance/logout/{NAME}").respond(200, json=payload("logout-response")),
              respx.delete(f"{EVO}/instance/delete/{NAME}").respond(200, json=payload("delete-response"))]
    p = provider("evolution")
    assert p.connection_state(REF).status == "active"
    qr = p.connect(REF)
    assert isinstance(qr, QrCode) and qr.data_url.startswith("data:image/png;base64,iVBOR")
    p.restart(REF)
    p.logout(REF)
    p.delete(REF)
    assert [r.calls.last.request.headers["apikey"] for r in routes] == ["instance-token-abc123"] * 5


@respx.mock
def test_connect_with_a_phone_asks_for_a_pairing_code_and_handles_no_qr_yet():
    route = respx.get(f"{EVO}/instance/connect/{NAME}").respond(200, json={"count": 0})
    state = provider("evolution").connect(REF, phone="5511999990001")
    assert route.calls.last.request.url.params["number"] == "5511999990001"
    assert state.status == "connecting" and "not ready" in state.reason


@respx.mock
def test_send_text_and_media_exact_bodies():
    text = respx.post(f"{EVO}/message/sendText/{NAME}").respond(201, json=payload("send-text-response"))
    media = respx.post(f"{EVO}/message/sendMedia/{NAME}").respond(201, json=payload("send-text-response"))
    p = provider("evolution")
    sent_msg = p.send_text(REF, "5511999990002@c.us", "olá", quoted_id="3EB0AAAA")
    assert json.loads(text.calls.last.request.content) == {"number": "5511999990002", "text": "olá",
                                                           "quoted": {"key": {"id": "3EB0AAAA"}}}
    assert sent_msg.provider_message_id == "3EB0C7A1F29D4E8B6A5C31" and sent_msg.status == "pending"
    assert sent_msg.timestamp.timestamp() == 1761057035
    p.send_media(REF, "120363043968066561@g.us", MediaSpec("document", "https://cdn.example.com/a.pdf",
                                                           caption="invoice", file_name="a.pdf"))
    assert json.loads(media.calls.last.request.content) == {
        "number": "120363043968066561@g.us", "mediatype": "document", "media": "https://cdn.example.com/a.pdf",
        "caption": "invoice", "fileName": "a.pdf"}


@respx.mock
def test_a_read_timeout_on_a_send_reaches_the_server_once_and_is_outcome_unknown():
    route = respx.post(f"{EVO}/message/sendText/{NAME}").mock(side_effect=httpx.ReadTimeout("no answer"))
    with pytest.raises(errors.OutcomeUnknown):
        provider("evolution").send_text(REF, "5511999990002", "hi")
    assert route.call_count == 1


@respx.mock
def test_a_connect_error_on_a_send_is_retried_because_nothing_left():
    route = respx.post(f"{EVO}/message/sendText/{NAME}").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(201, json=payload("send-text-response"))])
    assert provider("evolution").send_text(REF, "5511999990002", "hi").provider_message_id
    assert route.call_count == 2


@respx.mock
def test_a_gateway_error_on_a_send_is_not_retried():
    route = respx.post(f"{EVO}/message/sendText/{NAME}").respond(504, text="gateway timeout")
    with pytest.raises(errors.OutcomeUnknown):
        provider("evolution").send_text(REF, "5511999990002", "hi")
    assert route.call_count == 1


@respx.mock
def test_a_503_on_a_read_is_retried_then_succeeds():
    route = respx.get(f"{EVO}/instance/connectionState/{NAME}").mock(
        side_effect=[httpx.Response(503), httpx.Response(503), httpx.Response(200, json=payload("connection-state-response"))])
    assert provider("evolution").connection_state(REF).status == "active"
    assert route.call_count == 3


@respx.mock
def test_logout_of_a_closed_instance_and_delete_of_a_missing_one_are_success():
    respx.delete(f"{EVO}/instance/logout/{NAME}").respond(
        400, json={"status": 400, "error": "Bad Request", "response": {"message": [f'The "{NAME}" instance is not connected']}})
    respx.delete(f"{EVO}/instance/delete/{NAME}").respond(
        404, json={"status": 404, "error": "Not Found", "response": {"message": [f'The "{NAME}" instance does not exist']}})
    provider("evolution").logout(REF)
    provider("evolution").delete(REF)


def test_missing_configuration_names_the_variable(monkeypatch):
    from lib import config, providers
    monkeypatch.delenv("EVOLUTION_API_URL")
    config.reset()
    providers.reset()
    with pytest.raises(errors.ConfigError, match="EVOLUTION_API_URL"):
        provider("evolution").connection_state(REF)

"""Both providers end to end against their simulators over real sockets:
create → QR → scan → connected (webhook with the provider's real authentication) → send."""

from __future__ import annotations

import base64
import uuid

import pytest

from lib import config, errors, providers
from lib import webhook_auth as auth
from lib.providers.base import CreateRequest, NumberRef, QrCode
from lib.sim.evolution import EvolutionSimulator
from lib.sim.greenapi import GreenApiSimulator
from tests.receiver import Receiver

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def evo(monkeypatch, receiver):
    sim = EvolutionSimulator("sim-global-key").start()
    monkeypatch.setenv("EVOLUTION_API_URL", sim.url)
    monkeypatch.setenv("EVOLUTION_GLOBAL_API_KEY", "sim-global-key")
    monkeypatch.setattr("lib.providers.evolution.provider.EvolutionProvider.from_settings",
                        classmethod(lambda cls: cls(sim.url, "sim-global-key",
                                                    config.settings().evolution_webhook_secret, receiver.url)))
    config.reset()
    providers.reset()
    yield sim
    sim.stop()


@pytest.fixture
def green(monkeypatch, receiver):
    sim = GreenApiSimulator("sim-partner-token").start()
    monkeypatch.setattr("lib.providers.greenapi.provider.GreenApiProvider.from_settings",
                        classmethod(lambda cls: cls(sim.url, sim.url, sim.url, "sim-partner-token", receiver.url)))
    providers.reset()
    yield sim
    sim.stop()


def png(data_url: str) -> bytes:
    assert data_url.startswith("data:image/png;base64,")
    return base64.b64decode(data_url.split(",", 1)[1])


def test_evolution_create_qr_scan_connected_send(evo, receiver):
    p = providers.provider("evolution")
    nid = str(uuid.uuid4())
    info = p.create_instance(CreateRequest(nid))
    assert png(info.qr.data_url).startswith(PNG)
    ref = NumberRef(nid, "evolution", info.provider_instance_id, dict(info.instance_data), info.api_token)
    assert p.connection_state(ref).status == "connecting"
    evo.scan(info.provider_instance_id)
    # the session starts inside create (3 connecting, delivered before it answered), then QR, then open
    deliveries = evo.wait_for_deliveries(5)
    assert [d.event for d in deliveries] == ["connection.update"] * 3 + ["qrcode.updated", "connection.update"]
    hook = receiver.received[-1]
    assert hook["body"]["data"]["state"] == "open" and hook["body"]["instance"] == info.provider_instance_id
    keys = [auth.evolution_number_key(s, nid) for s in auth.evolution_secrets()]
    claims = auth.verify_evolution(hook["headers"], keys, 300)
    assert claims["app"] == "evolution"
    assert p.connection_state(ref).status == "active"
    sent = p.send_text(ref, "5511999990002@c.us", "hello")
    evo.wait_for_deliveries(6)
    assert receiver.received[-1]["body"]["event"] == "send.message"
    assert receiver.received[-1]["body"]["data"]["key"]["id"] == sent.provider_message_id
    assert len(evo.sent) == 1


def test_evolution_failures(evo, monkeypatch):
    p = providers.provider("evolution")
    nid = str(uuid.uuid4())
    info = p.create_instance(CreateRequest(nid))
    ref = NumberRef(nid, "evolution", info.provider_instance_id, {}, info.api_token)
    with pytest.raises(errors.NumberDisconnected):
        p.send_text(ref, "5511999990002", "not connected yet")
    evo.scan(info.provider_instance_id)
    with pytest.raises(errors.ProviderRejected) as absent:
        p.send_text(ref, "000123", "nobody")
    assert absent.value.code == "not_on_whatsapp"
    with pytest.raises(errors.ProviderAuthError):
        p.connection_state(NumberRef(nid, "evolution", info.provider_instance_id, {}, "wrong-token"))
    with pytest.raises(errors.InstanceNotFound):
        p.connection_state(NumberRef(nid, "evolution", "inbox-missing", {}, info.api_token))
    evo.fail("garbage", times=3)
    with pytest.raises(errors.ProviderError):
        p.connection_state(ref)
    evo.clear_failures()
    evo.fail("down")
    with pytest.raises(errors.ProviderUnavailable):
        p.connection_state(ref)
    evo.clear_failures()
    assert p.connection_state(ref).status == "active"


def test_evolution_accept_then_hang_on_a_send_is_outcome_unknown_and_sent_once(evo, monkeypatch):
    monkeypatch.setenv("PROVIDER_READ_TIMEOUT", "0.5")
    config.reset()
    providers.reset()
    p = providers.provider("evolution")
    nid = str(uuid.uuid4())
    info = p.create_instance(CreateRequest(nid))
    evo.scan(info.provider_instance_id)
    ref = NumberRef(nid, "evolution", info.provider_instance_id, {}, info.api_token)
    before = len([r for r in evo.requests if "sendText" in r.path])
    evo.fail("hang")
    with pytest.raises(errors.OutcomeUnknown):
        p.send_text(ref, "5511999990002", "once")
    evo.release()
    assert len([r for r in evo.requests if "sendText" in r.path]) - before == 1


def test_greenapi_partner_create_qr_scan_connected_send(green, receiver):
    p = providers.provider("green-api")
    nid = str(uuid.uuid4())
    info = p.create_instance(CreateRequest(nid))
    ref = NumberRef(nid, "green-api", info.provider_instance_id, {**info.instance_data, "managed": True},
                    info.api_token)
    qr = p.connect(ref)
    assert isinstance(qr, QrCode) and png(qr.data_url).startswith(PNG)
    green.scan(info.provider_instance_id)
    green.wait_for_deliveries(1)
    hook = receiver.received[-1]
    assert hook["body"]["typeWebhook"] == "stateInstanceChanged" and hook["body"]["stateInstance"] == "authorized"
    assert auth.verify_greenapi(hook["headers"], auth.greenapi_secrets()) == nid
    assert p.connection_state(ref).status == "active"
    sent = p.send_text(ref, "79001234568", "hello")
    green.wait_for_deliveries(3)
    assert [r["body"]["typeWebhook"] for r in receiver.received[-2:]] == ["outgoingAPIMessageReceived",
                                                                          "outgoingMessageStatus"]
    assert receiver.received[-1]["body"]["idMessage"] == sent.provider_message_id
    p.logout(ref)
    p.delete(ref)
    assert green.instances[info.provider_instance_id].deleted


def test_greenapi_legacy_flow_and_ordered_redelivery(green, receiver):
    iid, token = green.add_instance()
    p = providers.provider("green-api")
    nid = str(uuid.uuid4())
    info = p.create_instance(CreateRequest(nid, credentials={"idInstance": iid, "apiTokenInstance": token,
                                                             "apiUrl": green.url}))
    assert not info.managed and info.state.status == "logged_out"
    receiver.statuses = [500]  # the first delivery fails once
    green.inject_message(iid, "79001234568@c.us", "first")
    green.inject_message(iid, "79001234568@c.us", "second")
    green.wait_for_deliveries(2)
    texts = [r["body"]["messageData"]["textMessageData"]["textMessage"] for r in receiver.received]
    assert texts == ["first", "first", "second"]  # the same one again before the next


def test_greenapi_hang_on_send_is_outcome_unknown_once(green, monkeypatch):
    monkeypatch.setenv("PROVIDER_READ_TIMEOUT", "0.5")
    config.reset()
    providers.reset()
    iid, token = green.add_instance()
    green.instances[iid].state = "authorized"
    ref = NumberRef(str(uuid.uuid4()), "green-api", iid, {"apiUrl": green.url}, token)
    green.fail("hang")
    with pytest.raises(errors.OutcomeUnknown):
        providers.provider("green-api").send_text(ref, "79001234568", "once")
    green.release()
    assert len([r for r in green.requests if r.path.endswith("/sendMessage/***")]) == 1

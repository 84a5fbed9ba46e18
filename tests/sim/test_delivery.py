"""The simulators' webhook delivery survives what real providers send: a lone surrogate (half an
emoji, as WhatsApp clients produce) once killed the delivery thread, and nothing was delivered after."""

from __future__ import annotations

from lib.sim.greenapi import GreenApiSimulator
from tests.receiver import Receiver


def test_a_lone_surrogate_is_delivered_and_later_events_still_are():
    receiver = Receiver()
    sim = GreenApiSimulator().start()
    try:
        iid, _ = sim.add_instance()
        sim.instances[iid].settings = {"webhookUrl": receiver.url, "webhookUrlToken": "t"}
        sim.inject_message(iid, "79001234568@c.us", "half an emoji: \ud83d")
        sim.inject_message(iid, "79001234568@c.us", "and the next one")
        deliveries = sim.wait_for_deliveries(2)
    finally:
        sim.stop()
        receiver.close()
    assert [d.status for d in deliveries] == [200, 200]
    texts = [h["body"]["messageData"]["textMessageData"]["textMessage"] for h in receiver.received]
    assert texts == ["half an emoji: \ud83d", "and the next one"]

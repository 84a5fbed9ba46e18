"""Starting a conversation over real HTTP against both simulators and the real database."""

from __future__ import annotations

import pytest

from tests.api.conftest import add_number
from tests.conversations.phone import connect


def checks(line) -> list:
    return [q for q in line.sim.requests if "whatsappNumbers" in q.path or "checkWhatsapp" in q.path]


def test_a_new_conversation_with_a_number_that_has_never_written(api, alice, line, sql):
    r = api.post(f"/api/v1/numbers/{line.number}/chats", json={"phone": "+55 (11) 99999-0003"}, headers=alice.headers)
    assert r.status_code == 201, r.text
    chat = r.json()
    assert chat["wa_chat_id"] == "5511999990003@c.us" and chat["unread_count"] == 0 and chat["number_id"] == line.number
    assert len(checks(line)) == 1
    sent = line.send(chat["id"], "hello there")
    assert sent["chat_id"] == chat["id"] and sent["body"] == "hello there"
    last = line.sim.sent[-1]
    to = last.get("chatId") or last["key"]["remoteJid"]
    assert to == ("5511999990003@s.whatsapp.net" if line.provider == "evolution" else "5511999990003@c.us")
    again = api.post(f"/api/v1/numbers/{line.number}/chats", json={"phone": "0055 11 99999 0003"},
                     headers=alice.headers)
    assert again.status_code == 200 and again.json()["id"] == chat["id"]
    assert len(checks(line)) == 1  # a known chat needs no second check
    assert sql.execute("select count(*) from public.chats where number_id = %s", (line.number,)).fetchone()[0] == 1


def test_a_number_not_on_whatsapp_is_422_and_makes_no_chat(api, alice, line, sql):
    line.sim.not_on_whatsapp.add("5511999990009")
    r = api.post(f"/api/v1/numbers/{line.number}/chats", json={"phone": "5511999990009"}, headers=alice.headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_on_whatsapp"
    assert sql.execute("select count(*) from public.chats").fetchone()[0] == 0


def test_the_chat_a_contact_started_is_the_one_returned(api, alice, line):
    line.says("hi, it's me")
    existing = line.chat_id()
    r = api.post(f"/api/v1/numbers/{line.number}/chats", json={"phone": "5511999990002@s.whatsapp.net"},
                 headers=alice.headers)
    assert r.status_code == 200 and r.json()["id"] == existing and r.json()["unread_count"] == 1
    assert checks(line) == []


def test_the_chat_is_kept_under_the_identity_whatsapp_confirms(api, alice, sims, sql):
    line = connect("evolution", api, sims, alice, sql)
    # Brazil's ninth digit: WhatsApp answers the JID it knows the number by.
    line.sim.wa_jids["5511999990005"] = "551199990005@s.whatsapp.net"
    r = api.post(f"/api/v1/numbers/{line.number}/chats", json={"phone": "+5511999990005"}, headers=alice.headers)
    assert r.status_code == 201 and r.json()["wa_chat_id"] == "551199990005@c.us"
    line.sim.inject_message(line.instance, "551199990005@s.whatsapp.net", "oi")
    line.sim.wait_idle()
    assert sql.execute("select count(*) from public.chats where number_id = %s", (line.number,)).fetchone()[0] == 1


@pytest.mark.parametrize("phone", ["12345", "+55 11 abc", "5511999990002999999", ""])
def test_a_malformed_phone_is_400(api, alice, line, phone):
    r = api.post(f"/api/v1/numbers/{line.number}/chats", json={"phone": phone}, headers=alice.headers)
    expected = "validation_failed" if phone == "" else "invalid_phone"  # the schema refuses an empty one
    assert (r.status_code, r.json()["error"]["code"]) == (400, expected), r.text
    assert checks(line) == []


def test_another_users_number_is_404(api, bob, line):
    r = api.post(f"/api/v1/numbers/{line.number}/chats", json={"phone": "5511999990003"}, headers=bob.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "number_not_found"


def test_a_logged_out_number_is_409_before_the_provider(api, alice, sql, sims):
    nid = add_number(sql, alice.id, "green-api", status="logged_out")
    r = api.post(f"/api/v1/numbers/{nid}/chats", json={"phone": "5511999990003"}, headers=alice.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "number_disconnected"
    assert sims["green-api"].requests == []

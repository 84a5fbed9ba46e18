"""Reactions, edits and deletes in both directions, shown on the right message — over real HTTP
against both simulators and the real database."""

from __future__ import annotations

from tests.conversations.phone import CONTACT


def rows(sql, number: str) -> list[tuple]:
    return sql.execute("select type, body from public.messages where number_id = %s order by created_at",
                       (number,)).fetchall()


def test_a_contacts_reaction_lands_on_our_message_never_as_a_row_or_the_preview(line, sql):
    line.says("hi")
    chat_id = line.chat_id()
    ours = line.send(chat_id, "our answer")
    line.reacts(ours["provider_message_id"], "👍")
    msg = line.message(ours["id"])
    assert [(r["reactor"], r["emoji"]) for r in msg["reactions"]] == [(f"{CONTACT}@c.us", "👍")]
    assert line.chat(chat_id)["last_message_preview"] == "our answer"
    assert [t for t, _ in rows(sql, line.number)] == ["text", "text"]
    line.reacts(ours["provider_message_id"], "❤️")  # replaced
    assert [r["emoji"] for r in line.message(ours["id"])["reactions"]] == ["❤️"]
    line.reacts(ours["provider_message_id"], "")  # removed
    assert line.message(ours["id"])["reactions"] == []


def test_our_reaction_is_sent_and_its_echo_adds_nothing(api, alice, line, sql):
    mid = line.says("can you confirm?")
    message_id = line.message_id(mid)
    r = api.post(f"/api/v1/messages/{message_id}/reaction", json={"emoji": "👍"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    assert [(x["reactor"], x["emoji"]) for x in r.json()["reactions"]] == [("me", "👍")]
    line.sim.wait_idle()  # the provider's echo of our reaction
    if line.provider == "evolution":
        sent = line.sim.sent[-1]["request"]
        assert sent == {"key": {"id": mid, "fromMe": False, "remoteJid": f"{CONTACT}@s.whatsapp.net"}, "reaction": "👍"}
    else:
        assert line.sim.changes[-1][1:] == ("sendReaction", {"chatId": f"{CONTACT}@c.us", "idMessage": mid,
                                                             "reaction": "👍"})
    assert [(x["reactor"], x["emoji"]) for x in line.message(message_id)["reactions"]] == [("me", "👍")]
    assert len(rows(sql, line.number)) == 1
    assert line.chat(line.chat_id())["last_message_preview"] == "can you confirm?"
    removed = api.post(f"/api/v1/messages/{message_id}/reaction", json={"emoji": ""}, headers=alice.headers)
    assert removed.status_code == 200 and removed.json()["reactions"] == []
    line.sim.wait_idle()
    assert line.message(message_id)["reactions"] == []


def test_a_reaction_through_send_lands_on_its_target_in_the_same_chat(api, alice, line, sql):
    mid = line.says("is it in stock?")
    message_id, chat_id = line.message_id(mid), line.chat_id()
    body = {"type": "reaction", "target_message_id": message_id, "emoji": "🙏"}
    r = api.post(f"/api/v1/chats/{chat_id}/send", json=body, headers={**alice.headers, "Idempotency-Key": "r1"})
    assert r.status_code == 200, r.text
    assert [(x["reactor"], x["emoji"]) for x in r.json()["reactions"]] == [("me", "🙏")]
    line.sim.wait_idle()
    assert len(rows(sql, line.number)) == 1  # a reaction is never a message row
    other = sql.execute("insert into public.chats (number_id, owner_id, wa_chat_id) values (%s, %s, '1@c.us') "
                        "returning id::text", (line.number, alice.id)).fetchone()[0]
    r = api.post(f"/api/v1/chats/{other}/send", json=body, headers={**alice.headers, "Idempotency-Key": "r2"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "target_not_in_chat"
    r = api.post(f"/api/v1/chats/{chat_id}/send", json={"type": "reaction", "emoji": "x"},
                 headers={**alice.headers, "Idempotency-Key": "r3"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed"


def test_a_contacts_edit_keeps_the_previous_text_and_updates_the_preview(line):
    mid = line.says("see you at 5")
    line.edits(mid, "see you at 6")
    msg = line.message(line.message_id(mid))
    assert msg["body"] == "see you at 6" and msg["previous_bodies"] == ["see you at 5"] and msg["edited_at"]
    assert line.chat(line.chat_id())["last_message_preview"] == "see you at 6"


def test_editing_our_message(api, alice, line):
    line.says("hi")
    ours = line.send(line.chat_id(), "the price is 10")
    r = api.patch(f"/api/v1/messages/{ours['id']}", json={"text": "the price is 12"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    assert r.json()["body"] == "the price is 12" and r.json()["previous_bodies"] == ["the price is 10"]
    line.sim.wait_idle()
    if line.provider == "evolution":
        assert line.sim.edits[-1] == (line.instance, ours["provider_message_id"], "the price is 12")
    else:
        assert line.sim.changes[-1][1:] == ("editMessage", {"chatId": f"{CONTACT}@c.us", "idMessage":
                                                            ours["provider_message_id"], "message": "the price is 12"})
    msg = line.message(ours["id"])  # the echo changed nothing
    assert msg["body"] == "the price is 12" and msg["previous_bodies"] == ["the price is 10"]
    assert line.chat(line.chat_id())["last_message_preview"] == "the price is 12"


def test_a_contacts_delete_hides_the_content_unless_asked(line, sql):
    mid = line.says("my card number is 4111")
    line.deletes(mid)
    message_id = line.message_id(mid)
    msg = line.message(message_id)
    assert msg["deleted"] is True and msg["body"] is None and msg["deleted_at"]
    assert line.message(message_id, include_deleted=True)["body"] == "my card number is 4111"
    assert sql.execute("select body from public.messages where id = %s", (message_id,)).fetchone()[0] is None
    assert line.chat(line.chat_id())["last_message_preview"] == "This message was deleted"
    assert [t for t, _ in rows(sql, line.number)] == ["text"]  # never an `unknown` message


def test_deleting_our_message_for_everyone(api, alice, line, sql):
    line.says("hi")
    ours = line.send(line.chat_id(), "sent to the wrong person")
    r = api.delete(f"/api/v1/messages/{ours['id']}", headers=alice.headers)
    assert r.status_code == 200, r.text
    assert r.json()["deleted"] is True and r.json()["body"] is None
    line.sim.wait_idle()
    if line.provider == "evolution":
        assert line.sim.deletes[-1] == (line.instance, ours["provider_message_id"])
    else:
        assert line.sim.changes[-1][1:] == ("deleteMessage", {"chatId": f"{CONTACT}@c.us",
                                                              "idMessage": ours["provider_message_id"]})
    assert api.delete(f"/api/v1/messages/{ours['id']}", headers=alice.headers).status_code == 200  # repeatable
    assert line.message(ours["id"], include_deleted=True)["body"] == "sent to the wrong person"
    assert len(rows(sql, line.number)) == 2


def test_only_our_text_messages_can_be_edited_or_deleted(api, alice, bob, line):
    mid = line.says("hello")
    message_id = line.message_id(mid)
    r = api.patch(f"/api/v1/messages/{message_id}", json={"text": "changed"}, headers=alice.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_editable"
    r = api.delete(f"/api/v1/messages/{message_id}", headers=alice.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_own_message"
    r = api.get(f"/api/v1/messages/{message_id}", headers=bob.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "message_not_found"
    r = api.post(f"/api/v1/messages/{message_id}/reaction", json={"emoji": "👍"}, headers=bob.headers)
    assert r.status_code == 404
    assert line.message(message_id)["body"] == "hello"

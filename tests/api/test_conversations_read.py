"""Unread counts kept by the ingest call, and reading a chat with the provider's read receipt — over
real HTTP against both simulators and the real database."""

from __future__ import annotations

from tests.conversations.phone import CONTACT, connect


def receipts(line) -> list:
    return list(line.sim.reads)


def test_unread_counts_come_from_ingest_and_read_sends_the_receipt(api, alice, line):
    first = [line.says(f"message {i}") for i in range(3)]
    chat_id = line.chat_id()
    assert line.chat(chat_id)["unread_count"] == 3
    r = api.post(f"/api/v1/chats/{chat_id}/read", headers=alice.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["receipt"] == "sent" and body["chat"]["unread_count"] == 0 and body["chat"]["last_read_at"]
    assert line.chat(chat_id)["unread_count"] == 0
    (instance, sent), = receipts(line)
    if line.provider == "evolution":
        assert instance == line.instance
        assert sent == [{"id": mid, "fromMe": False, "remoteJid": f"{CONTACT}@s.whatsapp.net"}
                        for mid in reversed(first)]
    else:
        assert sent == {"chatId": f"{CONTACT}@c.us"}

    later = line.says("one more")
    assert line.chat(chat_id)["unread_count"] == 1
    assert api.post(f"/api/v1/chats/{chat_id}/read", headers=alice.headers).json()["receipt"] == "sent"
    if line.provider == "evolution":
        assert [k["id"] for k in receipts(line)[-1][1]] == [later]  # only what came since the last read
    assert line.chat(chat_id)["unread_count"] == 0


def test_reading_a_read_chat_calls_no_provider(api, alice, line):
    line.says("hello")
    chat_id = line.chat_id()
    assert api.post(f"/api/v1/chats/{chat_id}/read", headers=alice.headers).json()["receipt"] == "sent"
    again = api.post(f"/api/v1/chats/{chat_id}/read", headers=alice.headers)
    assert again.status_code == 200 and again.json()["receipt"] == "not_needed"
    assert len(receipts(line)) == 1


def test_a_redelivered_message_counts_once_and_a_reply_reads_the_chat(api, alice, line):
    mid = line.says("are you there?")
    line.sim.inject_message(line.instance, line.contact_jid, "are you there?", message_id=mid)  # a redelivery
    line.sim.wait_idle()
    chat_id = line.chat_id()
    assert line.chat(chat_id)["unread_count"] == 1
    line.send(chat_id, "yes!")  # the provider's echo of our reply marks the chat read
    assert line.chat(chat_id)["unread_count"] == 0


def test_a_failed_receipt_still_reads_the_chat_and_says_so(api, alice, line, sql):
    line.says("hello")
    chat_id = line.chat_id()
    line.sim.fail("status", status=401, body={"status": 401, "error": "Unauthorized",
                                              "response": {"message": "Unauthorized"}})
    r = api.post(f"/api/v1/chats/{chat_id}/read", headers=alice.headers)
    line.sim.clear_failures()
    assert r.status_code == 200 and r.json()["receipt"] == "failed"
    assert line.chat(chat_id)["unread_count"] == 0
    from lib.schemas.responses import ReadOut  # noqa: PLC0415

    error = ReadOut.model_validate(r.json()).error  # the documented shape: code, message, retryable
    assert error.code == "provider_auth_failed" and error.retryable is False


def test_another_users_chat_is_404(api, bob, line):
    line.says("hello")
    r = api.post(f"/api/v1/chats/{line.chat_id()}/read", headers=bob.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "chat_not_found"
    assert receipts(line) == []


def test_reading_on_the_phone_reads_the_chat_here(api, alice, sims, sql):
    line = connect("evolution", api, sims, alice, sql)
    first, second, third = (line.says(t) for t in ("one", "two", "three"))
    chat_id = line.chat_id()
    assert line.chat(chat_id)["unread_count"] == 3
    # the owner opens the chat on the phone: Evolution reports READ for the messages read there
    line.sim.ack(line.instance, second, "READ", remote_jid=line.contact_jid)
    line.sim.wait_idle()
    # unread: the inbound messages stamped after `two` (`three` may share its whole-second stamp)
    after = sql.execute("select count(*) from public.messages where direction = 'inbound' and sent_at > "
                        "(select sent_at from public.messages where provider_message_id = %s)", (second,)).fetchone()[0]
    assert line.chat(chat_id)["unread_count"] == after
    line.sim.ack(line.instance, third, "READ", remote_jid=line.contact_jid)
    line.sim.wait_idle()
    assert line.chat(chat_id)["unread_count"] == 0
    line.sim.ack(line.instance, first, "READ", remote_jid=line.contact_jid)  # late, older: changes nothing
    line.sim.wait_idle()
    assert line.chat(chat_id)["unread_count"] == 0
    line.says("four")
    assert line.chat(chat_id)["unread_count"] == 1

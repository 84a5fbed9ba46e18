"""Names and faces over real HTTP against both simulators: the latest contact name, group subjects and
participants, avatars — fetched lazily and cached."""

from __future__ import annotations

from tests.conversations.phone import CONTACT

GROUP = "120363043968066561@g.us"


def profile_calls(line) -> list[str]:
    return [q.path for q in line.sim.requests
            if any(k in q.path for k in ("fetchProfilePictureUrl", "findGroupInfos", "getAvatar", "getGroupData"))]


def test_a_chat_name_follows_the_latest_contact_name(line, sql):
    if line.provider == "evolution":
        line.sim.inject_message(line.instance, line.contact_jid, "hi", push_name="Maria")
        line.sim.inject_message(line.instance, line.contact_jid, "again", push_name="Maria Silva")
    else:
        line.sim.inject_message(line.instance, line.contact_jid, "hi")
        sql.execute("update public.chats set name = 'Old Name'")
        line.sim.inject_message(line.instance, line.contact_jid, "again")
    line.sim.wait_idle()
    name = sql.execute("select name from public.chats where wa_chat_id = %s", (f"{CONTACT}@c.us",)).fetchone()[0]
    assert name == ("Maria Silva" if line.provider == "evolution" else "Ivan Petrov")


def test_avatar_fetched_once_and_cached(api, alice, line):
    line.says("hello")
    chat_id = line.chat_id()
    key = line.contact_jid if line.provider == "evolution" else f"{CONTACT}@c.us"
    line.sim.avatars[key] = "https://pps.whatsapp.net/v/t61/maria.jpg"
    first = api.get(f"/api/v1/chats/{chat_id}", headers=alice.headers)
    assert first.status_code == 200, first.text
    assert first.json()["avatar_url"] == "https://pps.whatsapp.net/v/t61/maria.jpg" and first.json()["unread_count"] == 1
    second = api.get(f"/api/v1/chats/{chat_id}", headers=alice.headers)
    assert second.json()["avatar_url"] == first.json()["avatar_url"]
    assert len(profile_calls(line)) == 1


def test_a_group_gets_its_subject_and_participants(api, alice, line, sql):
    if line.provider == "evolution":
        line.sim.groups[GROUP] = {"subject": "Support team", "participants": [
            {"id": "5511999990002@s.whatsapp.net", "admin": "superadmin"}, {"id": "5511999990003@s.whatsapp.net",
                                                                          "admin": None}]}
        line.sim.inject_message(line.instance, GROUP, "hello group")
    else:
        line.sim.groups[GROUP] = {"subject": "Support team", "participants": [
            {"id": "5511999990002@c.us", "isAdmin": True, "isSuperAdmin": True},
            {"id": "5511999990003@c.us", "isAdmin": False, "isSuperAdmin": False}]}
        line.sim.inject_message(line.instance, GROUP, "hello group", sender="5511999990003@c.us")
    line.sim.wait_idle()
    chat_id = line.chat_id(GROUP)
    assert sql.execute("select name from public.chats where id = %s", (chat_id,)).fetchone()[0] is None
    r = api.get(f"/api/v1/chats/{chat_id}", headers=alice.headers)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Support team" and r.json()["is_group"] is True
    assert r.json()["participants"] == [{"id": "5511999990002@c.us", "admin": True},
                                        {"id": "5511999990003@c.us", "admin": False}]


def test_an_unreachable_provider_serves_the_cached_chat(api, alice, line):
    line.says("hello")
    chat_id = line.chat_id()
    line.sim.fail("status", status=401, body="Unauthorized")
    r = api.get(f"/api/v1/chats/{chat_id}", headers=alice.headers)
    line.sim.clear_failures()
    assert r.status_code == 200 and r.json()["id"] == chat_id and r.json()["avatar_url"] is None


def test_another_users_chat_is_404(api, bob, line):
    line.says("hello")
    r = api.get(f"/api/v1/chats/{line.chat_id()}", headers=bob.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "chat_not_found"

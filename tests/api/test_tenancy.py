"""A user only ever sees their own numbers and chats: another user's is a 404 on every route."""

from __future__ import annotations

import uuid

import pytest

from tests.api.conftest import add_chat, add_number


@pytest.fixture
def bobs(sql, bob):
    number = add_number(sql, bob.id, label="bob's")
    chat = add_chat(sql, bob.id, number)
    return {"number": number, "chat": chat}


ROUTES = [
    ("GET", "/api/v1/numbers/{number}", None, "number_not_found"),
    ("DELETE", "/api/v1/numbers/{number}", None, "number_not_found"),
    ("POST", "/api/v1/numbers/{number}/reconnect", None, "number_not_found"),
    ("POST", "/api/v1/chats/{chat}/send", {"text": "hi"}, "chat_not_found"),
]


@pytest.mark.parametrize(("method", "path", "body", "code"), ROUTES)
def test_another_users_resource_is_404(api, alice, bobs, sql, method, path, body, code):
    r = api.request(method, path.format(**bobs), headers={**alice.headers, "Idempotency-Key": "k1"}, json=body)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == code
    # ...and nothing about Bob's number changed
    assert sql.execute("select deleted_at is null, status from public.numbers where id = %s",
                       (bobs["number"],)).fetchone() == (True, "active")
    assert sql.execute("select count(*) from public.messages").fetchone()[0] == 0


@pytest.mark.parametrize(("method", "path", "body", "code"), ROUTES)
@pytest.mark.parametrize("bad_id", ["not-a-uuid", str(uuid.uuid4()), "%27%3B--"])
def test_unknown_ids_are_404(api, alice, method, path, body, code, bad_id):
    r = api.request(method, path.format(number=bad_id, chat=bad_id), headers={**alice.headers, "Idempotency-Key": "k"},
                    json=body)
    assert r.status_code == 404 and r.json()["error"]["code"] == code


def test_the_list_shows_only_the_callers_numbers_and_no_secrets(api, alice, bobs, sql):
    mine = add_number(sql, alice.id, label="alice's", token="alice-secret-token-xyz")
    r = api.get("/api/v1/numbers", headers=alice.headers)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["id"] for i in items] == [mine]
    assert "alice-secret-token-xyz" not in r.text and "api_token" not in r.text and "instance_data" not in r.text
    assert set(items[0]) == {"id", "label", "phone", "provider", "status", "status_reason", "status_changed_at",
                             "provider_state", "provider_reason_code", "connected_at", "disconnected_at",
                             "created_at", "deleted_at", "qr"}

"""Outbound files over real HTTP: a presigned PUT into the caller's prefix on the S3 server, then a
send by `upload_id` that hands the provider (simulator) a URL it can fetch; voice notes as voice notes."""

from __future__ import annotations

import uuid

import httpx
import pytest

from lib.sim.media_samples import sample
from tests.media.fixtures import connected_number, s3_server, sha256, storage, stored_object  # noqa: F401

CONTACT = "5511999990002@c.us"


@pytest.fixture(params=["evolution", "green-api"])
def chat(request, api, sims, alice, sql, storage):  # noqa: F811 - pytest fixture injection
    number = connected_number(sql, alice.id, request.param, sims[request.param])
    chat_id = sql.execute("insert into public.chats (number_id, owner_id, wa_chat_id) values (%s, %s, %s) "
                          "returning id::text", (number["id"], alice.id, CONTACT)).fetchone()[0]
    return {**number, "chat": chat_id}


def upload(api, user, kind: str, put: bool = True) -> dict:
    file = sample(kind)
    r = api.post("/api/v1/media/uploads", json={"content_type": file.mime_type, "file_name": file.file_name},
                 headers=user.headers)
    assert r.status_code == 201, r.text
    out = r.json()
    if put:
        put_r = httpx.put(out["url"], content=file.data, headers=out["headers"], timeout=5)
        assert put_r.status_code == 200, put_r.text
    return out


def send(api, user, chat_id, body):
    return api.post(f"/api/v1/chats/{chat_id}/send", json=body,
                    headers={**user.headers, "Idempotency-Key": str(uuid.uuid4())})


def provider_request(sim, before: int):
    """The send request the provider received (its JSON body and path)."""
    sends = [r for r in sim.requests[before:] if r.method == "POST" and "/send" in r.path]
    assert len(sends) == 1, [r.path for r in sim.requests[before:]]
    return sends[0]


def test_an_upload_lands_in_the_callers_own_prefix(api, alice, storage):  # noqa: F811
    out = upload(api, alice, "document")
    assert out["method"] == "PUT" and out["headers"] == {"Content-Type": "application/pdf"}
    data, content_type = stored_object(storage, f"{alice.id}/uploads/{out['upload_id']}")
    assert sha256(data) == sha256(sample("document").data) and content_type == "application/pdf"


@pytest.mark.parametrize("kind", ["document", "image"])
def test_upload_then_send_delivers_a_url_the_provider_can_fetch(api, alice, chat, kind, sql):
    out = upload(api, alice, kind)
    before = len(chat["sim"].requests)
    r = send(api, alice, chat["chat"], {"type": kind, "media": {"upload_id": out["upload_id"], "caption": "here"}})
    assert r.status_code == 201, r.text
    assert r.json()["media_url"] is None and r.json()["media_mime_type"] == sample(kind).mime_type
    assert r.json()["media_state"] == "stored"
    req = provider_request(chat["sim"], before)
    url = req.json["media"] if chat["provider"] == "evolution" else req.json["urlFile"]
    if chat["provider"] == "green-api":
        assert req.json["fileName"] == sample(kind).file_name  # GREEN-API types the file by its extension
    fetched = httpx.get(url, timeout=5)  # what the provider's server does with it
    assert fetched.status_code == 200 and sha256(fetched.content) == sha256(sample(kind).data)
    chat["sim"].wait_idle()  # the provider's echo of our send has been applied: nothing to fetch back
    assert sql.execute("select count(*) from public.messages where media_state = 'pending'").fetchone()[0] == 0
    assert not [q for q in chat["sim"].requests[before:] if "getBase64" in q.path or "downloadFile" in q.path]


def test_a_sent_file_is_the_messages_media_for_its_owner(api, alice, bob, chat):
    out = upload(api, alice, "document")
    r = send(api, alice, chat["chat"], {"type": "document", "media": {"upload_id": out["upload_id"]}})
    assert r.status_code == 201, r.text
    msg = r.json()
    assert (msg["media_state"], msg["media_url"], msg["media_file_name"]) == ("stored", None, "invoice.pdf")
    got = api.get(f"/api/v1/messages/{msg['id']}/media", headers=alice.headers, follow_redirects=False)
    assert got.status_code == 302 and sha256(httpx.get(got.headers["Location"]).content) == sha256(
        sample("document").data)
    assert api.get(f"/api/v1/messages/{msg['id']}/media", headers=bob.headers).status_code == 404


def test_a_voice_note_goes_out_as_a_voice_note(api, alice, chat):
    out = upload(api, alice, "voice")
    before = len(chat["sim"].requests)
    r = send(api, alice, chat["chat"], {"type": "voice", "media": {"upload_id": out["upload_id"]}})
    assert r.status_code == 201, r.text
    req = provider_request(chat["sim"], before)
    if chat["provider"] == "evolution":
        assert req.path == f"/message/sendWhatsAppAudio/{chat['instance']}"
        assert set(req.json) == {"number", "audio"}
        url = req.json["audio"]
    else:
        assert req.path.startswith(f"/waInstance{chat['instance']}/sendFileByUrl/")
        assert req.json["fileName"].endswith(".ogg") and "caption" not in req.json
        url = req.json["urlFile"]
    assert sha256(httpx.get(url, timeout=5).content) == sha256(sample("voice").data)


def test_uploads_are_private_to_their_owner(api, alice, bob, chat):
    theirs = upload(api, bob, "image")
    r = send(api, alice, chat["chat"], {"type": "image", "media": {"upload_id": theirs["upload_id"]}})
    assert r.status_code == 404 and r.json()["error"]["code"] == "upload_not_found"


def test_sending_before_the_put_is_refused(api, alice, chat):
    out = upload(api, alice, "image", put=False)
    r = send(api, alice, chat["chat"], {"type": "image", "media": {"upload_id": out["upload_id"]}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "upload_incomplete"


@pytest.mark.parametrize("body, code", [
    ({"content_type": "not a type"}, "validation_failed"),
    ({"content_type": "image/png", "extra": 1}, "validation_failed"),
    ({}, "validation_failed"),
])
def test_bad_upload_requests(api, alice, storage, body, code):  # noqa: F811
    r = api.post("/api/v1/media/uploads", json=body, headers=alice.headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == code


def test_media_needs_exactly_one_source(api, alice, chat):
    r = send(api, alice, chat["chat"], {"type": "image", "media": {"url": "https://cdn.example.com/a.png",
                                                                   "upload_id": str(uuid.uuid4())}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed"


def test_uploads_need_a_user(api, storage):  # noqa: F811
    assert api.post("/api/v1/media/uploads", json={"content_type": "image/png"}).status_code == 401


def test_an_upload_over_the_size_limit_is_not_sent(api, alice, chat, monkeypatch):
    from lib import config  # noqa: PLC0415

    out = upload(api, alice, "image")
    monkeypatch.setenv("MEDIA_MAX_BYTES", "100")  # the sample PNG is 257 bytes
    config.reset()
    before = len(chat["sim"].requests)
    r = send(api, alice, chat["chat"], {"type": "image", "media": {"upload_id": out["upload_id"]}})
    assert r.status_code == 413 and r.json()["error"]["code"] == "media_too_large"
    assert not [q for q in chat["sim"].requests[before:] if "/send" in q.path]

"""Inbound media over real HTTP: provider simulators serving real bytes through the providers' own
endpoints, our webhook, the S3 server (moto), and GET /api/v1/messages/{id}/media."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from lib import resilience
from lib.media import jobs
from lib.sim.media_samples import sample
from tests.media.fixtures import (  # noqa: F401 - fixtures
    connected_number,
    media_row,
    s3_server,
    sha256,
    storage,
    stored_object,
    wait_for,
)

CONTACT = {"evolution": "5511999990002@s.whatsapp.net", "green-api": "5511999990002@c.us"}


@pytest.fixture(params=["evolution", "green-api"])
def number(request, api, sims, alice, sql, storage):  # noqa: F811 - pytest fixture injection
    return connected_number(sql, alice.id, request.param, sims[request.param])


def inject(number, kind="image", **kw) -> str:
    mid = number["sim"].inject_media(number["instance"], CONTACT[number["provider"]], kind, **kw)
    number["sim"].wait_idle()  # our webhook has answered (and started persisting)
    return mid


def stored(sql, mid):
    return wait_for(lambda: (r := media_row(sql, provider_message_id=mid)) and r["media_state"] == "stored" and r,
                    what=f"media of {mid} stored")


def get_media(api, user, message_id):
    return api.get(f"/api/v1/messages/{message_id}/media", headers=user.headers, follow_redirects=False)


@pytest.mark.parametrize("kind", ["image", "voice", "document"])
def test_inbound_media_is_stored_and_only_its_owner_gets_it(api, alice, bob, number, sql, kind, storage):  # noqa: F811
    file = sample(kind)
    mid = inject(number, kind)
    row = stored(sql, mid)
    assert row["type"] == kind  # a voice note stays a voice note (Evolution ptt, GREEN-API Ogg/Opus)
    assert (row["media_sha256"], row["media_size"], row["media_mime_type"]) == (sha256(file.data), len(file.data),
                                                                                file.mime_type)
    assert row["media_object_key"] == f"{alice.id}/{number['id']}/{row['id']}"
    data, content_type = stored_object(storage, row["media_object_key"])  # the S3 server's own copy
    assert sha256(data) == sha256(file.data) and content_type == file.mime_type

    r = get_media(api, alice, row["id"])
    assert r.status_code == 302, r.text
    fetched = httpx.get(r.headers["Location"], timeout=5)
    assert fetched.status_code == 200 and sha256(fetched.content) == sha256(file.data)
    assert "X-Amz-Signature" in r.headers["Location"] and "X-Amz-Expires=300" in r.headers["Location"]

    other = get_media(api, bob, row["id"])
    assert other.status_code == 404 and other.json()["error"]["code"] == "message_not_found"
    json = sql.execute("select public.message_json(m) from public.messages m where id = %s", (row["id"],)).fetchone()[0]
    assert json["media_state"] == "stored" and json["media_sha256"] == sha256(file.data)


def test_the_webhook_answers_before_the_media_is_fetched(api, alice, number, sql):
    sim = number["sim"]
    delivered = len(sim.deliveries)
    sim.fail("hang")  # the provider's media endpoint never answers...
    try:
        mid = number["sim"].inject_media(number["instance"], CONTACT[number["provider"]], "image")
        delivery = sim.wait_for_deliveries(delivered + 1)[-1]
        assert delivery.status == 200 and delivery.attempts == 1  # ...and the webhook was still answered at once
        assert media_row(sql, provider_message_id=mid)["media_state"] == "pending"
    finally:
        sim.release()
        sim.clear_failures()
    message_id = media_row(sql, provider_message_id=mid)["id"]
    # The hung fetch fails when released; asking for the item fetches it again (202 while a worker holds it).
    r = wait_for(lambda: (r := get_media(api, alice, message_id)).status_code == 302 and r, what="a 302")
    assert sha256(httpx.get(r.headers["Location"]).content) == sha256(sample("image").data)


@pytest.mark.parametrize("link", ["expired", "missing"])
def test_greenapi_fetches_a_fresh_link_through_download_file(api, alice, sims, sql, link, storage):  # noqa: F811
    green = sims["green-api"]
    instance = connected_number(sql, alice.id, "green-api", green)["instance"]
    before = len(green.requests)
    mid = green.inject_media(instance, CONTACT["green-api"], "document", link=link)
    green.wait_idle()
    row = stored(sql, mid)
    assert row["media_sha256"] == sha256(sample("document").data)
    calls = [(r.method, r.path) for r in green.requests[before:]]
    assert ("POST", f"/waInstance{instance}/downloadFile/***") in calls
    if link == "expired":
        assert calls.index(("POST", f"/waInstance{instance}/downloadFile/***")) > 0  # after the dead link's 403


def test_greenapi_links_expire_on_demand(api, alice, sims, sql, storage):  # noqa: F811
    green = sims["green-api"]
    iid, _ = green.add_instance()
    file = sample("image")
    mid = "DIRECT1"
    green.files_by_message[(iid, "1@c.us", mid)] = file
    link = green._link(file)
    assert httpx.get(link).content == file.data
    assert green.expire_links() >= 1
    gone = httpx.get(link)
    assert gone.status_code == 403 and b"Request has expired" in gone.content


def test_a_file_over_100_mb_on_greenapi_fails_at_once_with_the_reason(api, alice, sims, sql, storage):  # noqa: F811
    green = sims["green-api"]
    instance = connected_number(sql, alice.id, "green-api", green)["instance"]
    mid = green.inject_media(instance, CONTACT["green-api"], "image", link="{{SWE002}}")
    green.wait_idle()
    row = wait_for(lambda: (r := media_row(sql, provider_message_id=mid)) and r["media_state"] == "failed" and r,
                   what="the item failed")
    assert row["media_attempts"] == 1 and row["media_error"].startswith("media_unavailable")
    r = get_media(api, alice, row["id"])
    assert r.status_code == 410 and r.json()["error"]["code"] == "media_failed"
    assert "100 MB" in r.json()["error"]["message"]


def test_with_the_provider_down_the_item_is_retried_and_stored_after_recovery(api, alice, number, sql, storage):  # noqa: F811
    sim = number["sim"]
    sim.fail("down")
    try:
        mid = number["sim"].inject_media(number["instance"], CONTACT[number["provider"]], "image")
        row = wait_for(lambda: (r := media_row(sql, provider_message_id=mid)) and r["media_attempts"] >= 1 and r,
                       what="a failed first attempt")
        assert row["media_state"] == "pending" and row["media_error"].startswith("provider_unreachable")
        assert row["media_next_attempt_at"] > datetime.now(UTC)  # backed off

        r = get_media(api, alice, row["id"])  # on demand: tried again now, still down
        assert r.status_code == 202 and 2 <= int(r.headers["Retry-After"]) <= 60
        assert r.json()["state"] == "pending"
        assert media_row(sql, row["id"])["media_attempts"] == 2
    finally:
        sim.clear_failures()
    resilience.reset_breakers()  # the breaker's own cool-down is tested in tests/test_resilience; not waited here
    # The cron sweep, run as if its back-off had passed, stores it.
    counts = jobs.sweep(now=datetime.now(UTC) + timedelta(hours=2))
    assert counts["stored"] == 1
    row = media_row(sql, row["id"])
    assert row["media_state"] == "stored" and row["media_sha256"] == sha256(sample("image").data)
    r = get_media(api, alice, row["id"])
    assert r.status_code == 302 and sha256(httpx.get(r.headers["Location"]).content) == row["media_sha256"]


def test_a_pending_item_is_fetched_on_demand(api, alice, number, sql, storage):  # noqa: F811
    sim = number["sim"]
    sim.fail("down")
    try:
        mid = number["sim"].inject_media(number["instance"], CONTACT[number["provider"]], "voice")
        row = wait_for(lambda: (r := media_row(sql, provider_message_id=mid)) and r["media_attempts"] >= 1 and r,
                       what="a failed first attempt")
    finally:
        sim.clear_failures()
    resilience.reset_breakers()
    r = get_media(api, alice, row["id"])  # the back-off has not passed; someone is waiting: fetch now
    assert r.status_code == 302, r.text
    assert sha256(httpx.get(r.headers["Location"]).content) == sha256(sample("voice").data)


def test_messages_without_media_and_unknown_ids(api, alice, number, sql):
    mid = (number["sim"].inject_message(number["instance"], CONTACT["evolution"], "hi")
           if number["provider"] == "evolution" else number["sim"].inject_message(number["instance"],
                                                                                 CONTACT["green-api"], "hi"))
    number["sim"].wait_idle()
    row = media_row(sql, provider_message_id=mid)
    assert row["media_state"] is None
    r = get_media(api, alice, row["id"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_media"
    assert get_media(api, alice, "00000000-0000-4000-8000-000000000000").status_code == 404
    assert get_media(api, alice, "not-a-uuid").json()["error"]["code"] == "message_not_found"
    assert api.get(f"/api/v1/messages/{row['id']}/media").status_code == 401


def test_a_file_over_the_size_limit_is_refused_and_failed_at_once(api, alice, number, sql, monkeypatch):
    from lib import config  # noqa: PLC0415

    monkeypatch.setenv("MEDIA_MAX_BYTES", "100")  # the sample PNG is 257 bytes
    config.reset()
    mid = inject(number, "image")
    row = wait_for(lambda: (r := media_row(sql, provider_message_id=mid)) and r["media_state"] == "failed" and r,
                   what="the oversized item failed")
    assert row["media_attempts"] == 1 and row["media_error"].startswith("media_too_large")
    assert row["media_object_key"] is None
    r = get_media(api, alice, row["id"])
    assert r.status_code == 410 and "limit of 100 bytes" in r.json()["error"]["message"]


@pytest.mark.parametrize("link", ["live", "dead"])
def test_evolution_media_url_from_its_own_s3_is_used_and_base64_is_the_fallback(api, alice, sims, sql, storage, link):  # noqa: F811
    import boto3  # noqa: PLC0415

    from lib.dev.storage import DEV_ACCESS_KEY, DEV_SECRET_KEY  # noqa: PLC0415

    evo = sims["evolution"]
    instance = connected_number(sql, alice.id, "evolution", evo)["instance"]
    file = sample("document")
    if link == "live":  # an Evolution server with S3_ENABLED uploads the file and sends a presigned GET
        s3 = boto3.client("s3", endpoint_url=storage.url, region_name="us-east-1", aws_access_key_id=DEV_ACCESS_KEY,
                          aws_secret_access_key=DEV_SECRET_KEY)
        s3.create_bucket(Bucket="evolution")
        s3.put_object(Bucket="evolution", Key="evolution-api/x/doc.pdf", Body=file.data, ContentType=file.mime_type)
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "evolution", "Key": "evolution-api/x/doc.pdf"})
    else:
        url = "http://127.0.0.1:9/evolution-api/x/doc.pdf"  # gone (expired, or the MinIO is down)
    before = len(evo.requests)
    mid = evo.inject_media(instance, CONTACT["evolution"], "document", media_url=url)
    evo.wait_idle()
    row = stored(sql, mid)
    assert row["media_sha256"] == sha256(file.data) and row["media_mime_type"] == "application/pdf"
    asked = [r.path for r in evo.requests[before:] if r.path.startswith("/chat/getBase64FromMediaMessage/")]
    assert asked == ([] if link == "live" else [f"/chat/getBase64FromMediaMessage/{instance}"])

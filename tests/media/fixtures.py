"""The S3 server of the media tests: moto in server mode over a real socket (lib/dev/storage.py),
one per run, and the environment pointed at it per test."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lib import config, db
from lib.dev.storage import DEV_ACCESS_KEY, DEV_SECRET_KEY, MotoServer

BUCKET = "media"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoServer]:
    server = MotoServer().start()
    server.create_bucket(BUCKET)
    yield server
    server.stop()


@pytest.fixture
def storage(s3_server, monkeypatch) -> MotoServer:
    for key, value in {"STORAGE_S3_ENDPOINT": s3_server.url, "STORAGE_S3_REGION": "us-east-1",
                       "STORAGE_S3_ACCESS_KEY_ID": DEV_ACCESS_KEY, "STORAGE_S3_SECRET_ACCESS_KEY": DEV_SECRET_KEY,
                       "MEDIA_BUCKET": BUCKET}.items():
        monkeypatch.setenv(key, value)
    config.reset()
    return s3_server


def stored_object(server: MotoServer, key: str) -> tuple[bytes, str] | None:
    """(bytes, content type) of the object as the S3 server holds it, read back with boto3 (an
    independent S3 client, installed with moto) rather than with our own store module."""
    import boto3  # noqa: PLC0415
    from botocore.exceptions import ClientError  # noqa: PLC0415

    client = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=DEV_ACCESS_KEY,
                          aws_secret_access_key=DEV_SECRET_KEY)
    try:
        obj = client.get_object(Bucket=BUCKET, Key=key)
    except ClientError:
        return None
    return obj["Body"].read(), obj["ContentType"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll with a deadline (no fixed sleeps): the first truthy value of `predicate`."""
    import time  # noqa: PLC0415

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def media_row(sql, message_id: str | None = None, provider_message_id: str | None = None) -> dict[str, Any] | None:
    cur = sql.execute(
        "select id::text, owner_id::text, number_id::text, type, media_state, media_attempts, media_error, "
        "media_object_key, media_size, media_sha256, media_mime_type, media_file_name, media_next_attempt_at "
        "from public.messages where (%(id)s::uuid is null or id = %(id)s::uuid) "
        "and (%(pid)s::text is null or provider_message_id = %(pid)s)",
        {"id": message_id, "pid": provider_message_id})
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([c.name for c in cur.description], row, strict=True))


__all__ = ["db", "media_row", "s3_server", "sha256", "storage", "stored_object", "wait_for"]


def connected_number(sql, owner: str, provider: str, sim) -> dict[str, Any]:
    """A connected number whose instance lives in the simulator, made through our provider client
    (so the simulator's webhooks reach our server exactly as in production) without the numbers API."""
    import json  # noqa: PLC0415
    import uuid  # noqa: PLC0415

    from lib import providers  # noqa: PLC0415
    from lib.providers.base import CreateRequest  # noqa: PLC0415

    number_id = str(uuid.uuid4())
    info = providers.provider(provider).create_instance(CreateRequest(number_id=number_id))
    sql.execute("insert into public.numbers (id, owner_id, label, provider, provider_instance_id, status, "
                "instance_data) values (%s, %s, 'media', %s, %s, 'active', %s::jsonb)",
                (number_id, owner, provider, info.provider_instance_id, json.dumps(dict(info.instance_data))))
    sql.execute("insert into private.number_secrets (number_id, api_token, webhook_token) values (%s, %s, %s)",
                (number_id, info.api_token, info.webhook_token))
    sim.scan(info.provider_instance_id)
    sim.wait_idle()
    return {"id": number_id, "provider": provider, "sim": sim, "instance": info.provider_instance_id}

"""Files the frontend sends: a presigned PUT into the caller's own prefix, then `upload_id` in a send.

    POST /api/v1/media/uploads {"content_type", "file_name"?}  → 201 {"upload_id", "url", "method": "PUT",
                                                                     "headers", "expires_at"}
    POST /api/v1/chats/{id}/send {"type": ..., "media": {"upload_id", ...}}

The provider gets a presigned GET of the object: Evolution downloads it during the send call; GREEN-API
downloads from its send queue, which can hold a message while the phone is offline, so that link
lives an hour.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from lib import config, db
from lib.errors import InvalidRequest, NotFound, PayloadTooLarge
from lib.media import store

UPLOAD_TTL = timedelta(minutes=15)
SEND_LINK_TTL = timedelta(hours=1)


def upload_key(owner: str, upload_id: str) -> str:
    return f"{owner}/uploads/{upload_id}"


def create(owner: str, content_type: str, file_name: str | None) -> dict[str, Any]:
    upload_id = str(uuid.uuid4())
    key = upload_key(owner, upload_id)
    url = store.presign("PUT", key, UPLOAD_TTL)
    expires = datetime.now(UTC) + UPLOAD_TTL
    db.call("media_upload_create", p_owner=owner, p_upload_id=upload_id, p_object_key=key,
            p_content_type=content_type, p_file_name=file_name, p_expires_at=expires)
    return {"upload_id": upload_id, "url": url, "method": "PUT", "headers": {"Content-Type": content_type},
            "expires_at": expires.isoformat(), "max_bytes": config.settings().media_max_bytes}


def resolve(owner: str, upload_id: str) -> dict[str, Any]:
    """The upload as a send needs it: a presigned GET the provider can fetch, its type and name."""
    row = db.call("media_upload_get", p_owner=owner, p_upload_id=upload_id)
    if not row:
        raise NotFound("no such upload", code="upload_not_found")
    info = store.head(row["object_key"])
    if info is None:
        raise InvalidRequest("nothing was uploaded for this upload_id yet; PUT the file to its URL first",
                             code="upload_incomplete")
    limit = config.settings().media_max_bytes
    if info.size > limit:
        raise PayloadTooLarge(f"the uploaded file is {info.size} bytes, over the limit of {limit} bytes",
                              code="media_too_large")
    return {"url": store.presign("GET", row["object_key"], SEND_LINK_TTL), "content_type": row["content_type"],
            "file_name": row.get("file_name"), "size": info.size}

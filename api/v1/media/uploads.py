"""POST /api/v1/media/uploads — a presigned PUT into the caller's own storage prefix and an
`upload_id` to send the file with (`POST /api/v1/chats/{id}/send`, `media.upload_id`)."""

from lib import auth
from lib.http import JsonHandler, Request, Response
from lib.media import uploads
from lib.schemas.base import parse
from lib.schemas.media import UploadRequest


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def post(self, req: Request) -> Response:
        owner = auth.user_id(req)
        body = parse(UploadRequest, req.json_object())
        return Response(201, uploads.create(owner, body.content_type, body.file_name))

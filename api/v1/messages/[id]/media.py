"""GET /api/v1/messages/{id}/media — 302 to a short-lived URL of the stored file; 202 + Retry-After
while it is being fetched; 410 when it could not be stored (with the reason)."""

from lib import auth
from lib.http import JsonHandler, Request, Response
from lib.media import serve
from lib.pagination import uuid_param


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def get(self, req: Request) -> Response:
        owner = auth.user_id(req)
        return serve.media(owner, uuid_param(req, "message_not_found"))

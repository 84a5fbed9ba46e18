"""POST /api/v1/chats/{id}/send — send text or media by URL; requires an Idempotency-Key header."""

from lib import auth, messaging
from lib.http import JsonHandler, Request, Response
from lib.pagination import uuid_param
from lib.schemas.base import parse
from lib.schemas.messages import SendRequest


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def post(self, req: Request) -> Response:
        owner = auth.user_id(req)
        chat_id = uuid_param(req, "chat_not_found")
        body = parse(SendRequest, req.json_object())
        status, message = messaging.send(owner, chat_id, req.header("Idempotency-Key"), body)
        return Response(status, message)

"""POST /api/v1/chats/{id}/read — reset the unread count and send the provider's read receipt."""

from lib import auth, conversations
from lib.http import JsonHandler, Request, Response
from lib.pagination import uuid_param


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def post(self, req: Request) -> Response:
        owner = auth.user_id(req)
        return Response(200, conversations.read(owner, uuid_param(req, "chat_not_found")))

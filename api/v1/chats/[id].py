"""GET /api/v1/chats/{id} — the chat with its unread count, avatar and (groups) subject and participants,
fetched lazily from the provider and cached."""

from lib import auth, conversations
from lib.http import JsonHandler, Request, Response
from lib.pagination import uuid_param


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def get(self, req: Request) -> Response:
        owner = auth.user_id(req)
        return Response(200, conversations.chat(owner, uuid_param(req, "chat_not_found")))
